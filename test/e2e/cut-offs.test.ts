// Cutting live sessions off, over HTTP against the local stack, whose STS endpoint enforces the
// Deny statements tvm writes: revoking a grant cuts exactly its sessions, two cut-offs on one role at
// once both hold, and a policy changed behind tvm's back is put right by the schedule and alerted.
import { randomBytes } from 'node:crypto';
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { LOCAL_TVM_CALLER } from '../../local/sts/local-sts.js';
import { ADMIN_GROUPS, api, eventually, expectError, keyWorks, loopControl, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';

const unique = () => randomBytes(4).toString('hex');
// A role no demo profile names: cut-offs here touch no other suite's sessions.
const ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-sandbox';
// One end for every grant of the run: a delegated grant may not outlast its parent.
const UNTIL = new Date(Date.now() + 3_600_000).toISOString();
const inAnHour = () => UNTIL;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

let adminToken: string;
beforeAll(async () => {
  adminToken = await tokenFor('admin@example.com', ADMIN_GROUPS);
});

async function newProfile(): Promise<string> {
  const name = `e2e-cut-${unique()}`;
  expect((await api('PUT', `/profiles/${name}`, { token: adminToken, body: { roleArn: ROLE } })).status).toBe(200);
  return name;
}

async function grant(token: string, body: Record<string, unknown>): Promise<string> {
  const created = await api<{ id: string }>('POST', '/grants', { token, body: { validUntil: inAnHour(), ...body } });
  expect(created.status).toBe(201);
  return created.body.id;
}

async function vend(token: string, profile: string): Promise<Credentials> {
  const vended = await api<{ credentials: Credentials }>('POST', '/credentials', { token, body: { profile } });
  expect(vended.status).toBe(200);
  return vended.body.credentials;
}

describe('revoking a grant', () => {
  it('cuts off exactly the sessions vended under it and its delegated grants; the same person keeps their other grant’s', async () => {
    // Prepare: alice delegates to bob on one profile; alice also holds a grant on another profile of
    // the same role. Each vends.
    const [delegating, other] = [await newProfile(), await newProfile()];
    const [alice, bob] = [`alice-${unique()}@example.com`, `bob-${unique()}@example.com`];
    const [aliceToken, bobToken] = await Promise.all([tokenFor(alice), tokenFor(bob)]);
    const root = await grant(adminToken, { profile: delegating, subject: { type: 'user', id: alice }, canDelegate: true });
    await grant(aliceToken, { profile: delegating, subject: { type: 'user', id: bob } });
    await grant(adminToken, { profile: other, subject: { type: 'user', id: alice } });
    const [aliceKey, bobKey, aliceOtherKey] = [await vend(aliceToken, delegating), await vend(bobToken, delegating), await vend(aliceToken, other)];
    expect(await Promise.all([keyWorks(aliceKey), keyWorks(bobKey), keyWorks(aliceOtherKey)])).toEqual([true, true, true]);

    // Act
    const revoked = await api<{ revokedSessions: { accessKeyId: string }[]; sessionsNotCut: unknown[]; revokedDescendants: string[] }>(
      'DELETE',
      `/grants/${root}`,
      { token: adminToken },
    );

    // Assess
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedDescendants).toHaveLength(1);
    expect(revoked.body.revokedSessions.map((session) => session.accessKeyId).sort()).toEqual([aliceKey.accessKeyId, bobKey.accessKeyId].sort());
    expect(revoked.body.sessionsNotCut).toEqual([]);
    expect(await keyWorks(aliceKey)).toBe(false);
    expect(await keyWorks(bobKey)).toBe(false);
    expect(await keyWorks(aliceOtherKey)).toBe(true);
  });
});

describe('the cut-off epoch', () => {
  it('answers 304 to its own tag until a grant is revoked; the vend says the epoch it read', async () => {
    // Prepare
    const profile = await newProfile();
    const holder = `holder-${unique()}@example.com`;
    const holderToken = await tokenFor(holder);
    const id = await grant(adminToken, { profile, subject: { type: 'user', id: holder } });
    const vended = await api<{ cutOffEpoch: number }>('POST', '/credentials', { token: holderToken, body: { profile } });
    const tag = `"${vended.body.cutOffEpoch}"`;

    // Act
    const unchanged = await api('GET', '/cut-off-epoch', { token: holderToken, headers: { 'if-none-match': tag } });
    expect((await api('DELETE', `/grants/${id}`, { token: adminToken })).status).toBe(200);
    const changed = await api<{ cutOffEpoch: number }>('GET', '/cut-off-epoch', { token: holderToken, headers: { 'if-none-match': tag } });
    const anonymous = await api('GET', '/cut-off-epoch');

    // Assess
    expect({ status: unchanged.status, text: unchanged.text, etag: unchanged.headers.get('etag') }).toEqual({ status: 304, text: '', etag: tag });
    expect(changed.status).toBe(200);
    expect(changed.body.cutOffEpoch).toBeGreaterThan(vended.body.cutOffEpoch);
    expect(changed.headers.get('etag')).toBe(`"${changed.body.cutOffEpoch}"`);
    expect(anonymous.status).toBe(401);
  });
});

describe('a cut-off decided moments ago', () => {
  it('hands out no credentials it would deny: a contractor handed over minutes ago is refused on the role with when to ask again, through any grant', async () => {
    // Prepare: carla is an engagement's contractor on one profile of the role, and also holds a
    // grant of her own on another profile of the same role; the owner hands the engagement over
    const [engaged, own] = [await newProfile(), await newProfile()];
    const [carla, owner] = [`carla-${unique()}@example.com`, `owner-${unique()}@example.com`];
    const [carlaToken, ownerToken] = await Promise.all([tokenFor(carla), tokenFor(owner)]);
    await grant(adminToken, { profile: own, subject: { type: 'user', id: carla } });
    const engagement = await api<{ id: string }>('POST', '/engagements', {
      token: adminToken,
      body: { name: 'Cut-off window', owner, contractors: [carla], profiles: [{ profile: engaged }], validUntil: inAnHour() },
    });
    expect(engagement.status).toBe(201);
    const before = await vend(carlaToken, own);
    expect((await api('POST', `/engagements/${engagement.body.id}/handover`, { token: ownerToken, body: {} })).status).toBe(200);

    // Act
    const refused = await api('POST', '/credentials', { token: carlaToken, body: { profile: own } });
    const other = await api('POST', '/credentials', { token: await tokenFor(`bystander-${unique()}@example.com`), body: { profile: own } });

    // Assess: her key from before is cut off; a new one would be too, so none is minted
    const error = expectError(refused, 409, 'CUT_OFF_PENDING');
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(62);
    expect(refused.headers.get('retry-after')).toBe(String(error.retryAfterSeconds));
    expect(await keyWorks(before)).toBe(false);
    expectError(other, 403, 'NO_GRANT');
  });
});

// A role in a target account (the local STS's second account, 111111111111) is cut off
// there, through tvm's revoker role in that account, never on its namesake in tvm's own account; a
// role in an account tvm has no revoker in cannot be a profile's.
describe('a role in another account', () => {
  const IN_TARGET = 'arn:aws:iam::111111111111:role/tvm-demo-ops';
  const NAMESAKE_IN_TVMS = 'arn:aws:iam::000000000000:role/tvm-demo-ops';

  it("is cut off in its own account: the person's session there is denied, their session on the namesake in tvm's account is not", async () => {
    // Prepare: mallory holds a grant on a profile of each tvm-demo-ops, and a key from each
    const [inTarget, inTvms] = [`e2e-target-${unique()}`, `e2e-namesake-${unique()}`];
    for (const [name, roleArn] of [[inTarget, IN_TARGET], [inTvms, NAMESAKE_IN_TVMS]] as const) {
      expect((await api('PUT', `/profiles/${name}`, { token: adminToken, body: { roleArn } })).status).toBe(200);
    }
    const mallory = `mallory-${unique()}@example.com`;
    const malloryToken = await tokenFor(mallory);
    const targetGrant = await grant(adminToken, { profile: inTarget, subject: { type: 'user', id: mallory } });
    await grant(adminToken, { profile: inTvms, subject: { type: 'user', id: mallory } });
    const [targetKey, namesakeKey] = [await vend(malloryToken, inTarget), await vend(malloryToken, inTvms)];
    expect(await Promise.all([keyWorks(targetKey), keyWorks(namesakeKey)])).toEqual([true, true]);

    // Act
    const revoked = await api<{ revokedSessions: { accessKeyId: string }[]; sessionsNotCut: unknown[] }>('DELETE', `/grants/${targetGrant}`, {
      token: adminToken,
    });

    // Assess
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedSessions.map((session) => session.accessKeyId)).toEqual([targetKey.accessKeyId]);
    expect(revoked.body.sessionsNotCut).toEqual([]);
    expect(await keyWorks(targetKey)).toBe(false);
    expect(await keyWorks(namesakeKey)).toBe(true);
  });

  it('cannot be a profile in an account without the revoker role: 400 naming the accounts tvm can act in', async () => {
    // Act
    const refused = await api('PUT', `/profiles/e2e-elsewhere-${unique()}`, { token: adminToken, body: { roleArn: 'arn:aws:iam::222222222222:role/tvm-demo-ops' } });

    // Assess
    expect(expectError(refused, 400, 'VALIDATION_FAILED').message).toContain('only in 000000000000, 111111111111');
  });
});

describe('two cut-offs on one role at once', () => {
  it('both take effect: each contractor’s earlier key is denied', async () => {
    // Prepare: two engagements on profiles of the same role, a contractor each, each with a key
    const [first, second] = [await newProfile(), await newProfile()];
    const owner = `owner-${unique()}@example.com`;
    const contractors = [`c1-${unique()}@agency.example`, `c2-${unique()}@agency.example`];
    const engagements: string[] = [];
    for (const [index, profile] of [first, second].entries()) {
      const created = await api<{ id: string }>('POST', '/engagements', {
        token: adminToken,
        body: { name: `race ${index}`, owner, contractors: [contractors[index]], profiles: [{ profile }], validUntil: inAnHour() },
      });
      expect(created.status).toBe(201);
      engagements.push(created.body.id);
    }
    const keys = await Promise.all(contractors.map(async (contractor, index) => vend(await tokenFor(contractor), [first, second][index] as string)));
    expect(await Promise.all(keys.map(keyWorks))).toEqual([true, true]);

    // Act: both handovers at the same moment
    const handovers = await Promise.all(
      engagements.map((id) => api<{ revokedSessions: { accessKeyId: string }[] }>('POST', `/engagements/${id}/handover`, { token: adminToken, body: {} })),
    );

    // Assess
    expect(handovers.map((handover) => handover.status)).toEqual([200, 200]);
    expect(handovers.map((handover) => handover.body.revokedSessions.map((session) => session.accessKeyId))).toEqual(
      keys.map((key) => [key.accessKeyId]),
    );
    expect(await Promise.all(keys.map(keyWorks))).toEqual([false, false]);
  });
});

describe('a revocation policy changed outside tvm', () => {
  it('is put right by the schedule, recorded as drift and alerted, and the cut-off holds again', async () => {
    // Prepare: a contractor is cut off by a handover
    const profile = await newProfile();
    const contractor = `c-${unique()}@agency.example`;
    const created = await api<{ id: string }>('POST', '/engagements', {
      token: adminToken,
      body: { name: 'drift', owner: `owner-${unique()}@example.com`, contractors: [contractor], profiles: [{ profile }], validUntil: inAnHour() },
    });
    const key = await vend(await tokenFor(contractor), profile);
    expect((await api('POST', `/engagements/${created.body.id}/handover`, { token: adminToken, body: {} })).status).toBe(200);
    expect(await keyWorks(key)).toBe(false);
    // Someone with IAM access empties tvm's policy: the contractor's key works again.
    const iam = new IAMClient({ region: 'us-east-1', endpoint: stackInfo().iamEndpoint, credentials: { ...LOCAL_TVM_CALLER }, maxAttempts: 1 });
    const harmless = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'iam:CreateUser', Resource: '*' }] });
    await iam.send(new PutRolePolicyCommand({ RoleName: 'tvm-demo-sandbox', PolicyName: 'tvm-revocations', PolicyDocument: harmless }));
    iam.destroy();
    expect(await keyWorks(key)).toBe(true);

    // Act
    const outcome = await loopControl<{ roles: { repaired: number; external: number } }>('/repair');

    // Assess
    expect(outcome.roles.external).toBeGreaterThanOrEqual(1);
    expect(await keyWorks(key)).toBe(false);
    const security = await tokenFor(`sec-${unique()}@example.com`, SECURITY_GROUPS);
    const drift = await api<{ events: { detail: { roleArn: string; external: boolean } }[] }>('GET', '/audit/events?type=revocation.drift', { token: security });
    expect(drift.body.events).toContainEqual(expect.objectContaining({ detail: expect.objectContaining({ roleArn: ROLE, external: true }) }));
    // The alert function sees the drift on the audit stream (or on its schedule).
    await loopControl('/drain');
    const alert = await eventually('the revocation-policy-changed alert', async () => {
      const alerts = await api<{ alerts: { rule: string; principal: string; severity: string }[] }>('GET', '/alerts?rule=revocation-policy-changed', { token: security });
      return alerts.body.alerts.find((candidate) => candidate.principal === ROLE);
    });
    expect(alert).toMatchObject({ rule: 'revocation-policy-changed', severity: 'critical' });
  });
});
