// An engagement's whole life over HTTP: contractors vend while they build, the owner hands over,
// the contractors' next vends are refused and their earlier credentials denied by the (local) IAM
// endpoint, the owner takes full control, and every step is in the audit trail.
import { randomBytes } from 'node:crypto';
import { GetAccessKeyInfoCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ADMIN_GROUPS, api, expectError, SECURITY_GROUPS, tokenFor, stsWith } from './support/api.js';

const unique = () => randomBytes(4).toString('hex');
const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-readonly';

interface Grant {
  id: string;
  profile: string;
  subject: { type: string; id: string };
  status: string;
  canDelegate: boolean;
  engagementId?: string;
  parentGrantId?: string;
  revokedReason?: string;
}

interface EngagementBody {
  id: string;
  status: string;
  version: number;
  owner: string;
  contractors: string[];
  grants: Grant[];
}

interface HandoverBody {
  engagementId: string;
  status: string;
  revokedGrants: string[];
  newGrants: string[];
  revokedSessions: { accessKeyId: string; sourceIdentity: string; expiration: string }[];
  sessionsNotCut: unknown[];
  at: string;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

interface AuditEvent {
  type: string;
  code?: string;
  accessKeyId?: string;
  detail?: { engagementId?: string; accessKeyId?: string; revokedGrants?: string[] };
}

async function trailOf(principal: string): Promise<AuditEvent[]> {
  const security = await tokenFor('security@example.com', SECURITY_GROUPS);
  const trail = await api<{ events: AuditEvent[] }>('GET', `/audit/events?principal=${encodeURIComponent(principal)}`, { token: security });
  expect(trail.status).toBe(200);
  return trail.body.events;
}

async function newProfile(admin: string): Promise<string> {
  const profile = `e2e-eng-${unique()}`;
  const put = await api('PUT', `/profiles/${profile}`, {
    token: admin,
    body: { roleArn: ROLE, scope: { actions: ['s3:*', 'sts:GetCallerIdentity', 'sts:GetAccessKeyInfo'], resources: ['*'] } },
  });
  expect(put.status).toBe(200);
  return profile;
}

describe('engagements', () => {
  it('lets contractors build, then hands over: their access ends, the owner takes full control', async () => {
    // Prepare: a profile, an owner with no access of their own yet, two contractors
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    const profile = await newProfile(admin);
    const [owner, carla, carl, stranger, teammate] = ['owner', 'carla', 'carl', 'mallory', 'teammate'].map(
      (name) => `${name}-${unique()}@example.com`,
    ) as [string, string, string, string, string];
    const [ownerToken, carlaToken, carlToken, strangerToken] = await Promise.all(
      [owner, carla, carl, stranger].map((id) => tokenFor(id, ['engineering-x'])),
    );

    // Act + Assess: an admin creates the engagement, one grant per contractor
    const created = await api<EngagementBody>('POST', '/engagements', {
      token: admin,
      body: { name: 'Checkout rewrite', owner, contractors: [carla, carl], profiles: [{ profile, maxSessionSeconds: 900 }], validUntil: hoursFromNow(24) },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'active', version: 1, owner, contractors: [carla, carl] });
    expect(created.body.grants.map((g) => [g.subject.id, g.profile, g.status, g.canDelegate, g.engagementId])).toEqual([
      [carla, profile, 'active', false, created.body.id],
      [carl, profile, 'active', false, created.body.id],
    ]);
    const id = created.body.id;

    // While they build: contractors vend and use their credentials; the owner has no access yet
    const vended = await api<{ credentials: Credentials }>('POST', '/credentials', { token: carlaToken, body: { profile } });
    expect(vended.status).toBe(200);
    const earlier = vended.body.credentials;
    await expect(stsWith(earlier).send(new GetAccessKeyInfoCommand({ AccessKeyId: earlier.accessKeyId }))).resolves.toMatchObject({
      Account: '000000000000',
    });
    expectError(await api('POST', '/credentials', { token: ownerToken, body: { profile } }), 403, 'NO_GRANT');

    // Who sees it, who may hand it over
    expect((await api<EngagementBody>('GET', `/engagements/${id}`, { token: carlToken })).status).toBe(200);
    const listedFor = async (token: string | undefined) =>
      (await api<{ engagements: { id: string }[] }>('GET', '/engagements', { token })).body.engagements.map((engagement) => engagement.id);
    expect(await listedFor(ownerToken)).toEqual([id]);
    expect(await listedFor(carlToken)).toEqual([id]);
    expect(await listedFor(strangerToken)).toEqual([]);
    expect(await listedFor(admin)).toContain(id);
    expectError(await api('GET', `/engagements/${id}`, { token: strangerToken }), 404, 'NOT_FOUND');
    expectError(await api('POST', `/engagements/${id}/handover`, { token: strangerToken, body: {} }), 404, 'NOT_FOUND');
    expectError(await api('POST', `/engagements/${id}/handover`, { token: carlaToken, body: {} }), 403, 'FORBIDDEN');

    // The owner hands over
    const handover = await api<HandoverBody>('POST', `/engagements/${id}/handover`, { token: ownerToken, body: { note: 'shipped' } });
    expect(handover.status).toBe(200);
    expect(handover.body).toMatchObject({ engagementId: id, status: 'handed-over', sessionsNotCut: [] });
    expect(handover.body.revokedGrants.sort()).toEqual(created.body.grants.map((g) => g.id).sort());
    expect(handover.body.newGrants).toHaveLength(1);
    expect(handover.body.revokedSessions).toEqual([
      { accessKeyId: earlier.accessKeyId, sourceIdentity: carla, expiration: earlier.expiration },
    ]);

    // The contractors can vend no more, and are told why
    const refused = expectError(await api('POST', '/credentials', { token: carlaToken, body: { profile } }), 403, 'ENGAGEMENT_HANDED_OVER');
    expect(refused.engagementId).toBe(id);
    expectError(await api('POST', '/credentials', { token: carlToken, body: { profile } }), 403, 'ENGAGEMENT_HANDED_OVER');

    // Their earlier credentials are cut off: denied everything but GetCallerIdentity
    await expect(stsWith(earlier).send(new GetAccessKeyInfoCommand({ AccessKeyId: earlier.accessKeyId }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(stsWith(earlier).send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: '000000000000' });

    // The owner takes full control: vends, and delegates
    const shown = await api<EngagementBody>('GET', `/engagements/${id}`, { token: ownerToken });
    expect(shown.body).toMatchObject({ status: 'handed-over', version: 2 });
    expect(shown.body.grants.map((g) => [g.subject.id, g.status, g.revokedReason ?? null, g.canDelegate])).toEqual([
      [carla, 'revoked', 'engagement-handed-over', false],
      [carl, 'revoked', 'engagement-handed-over', false],
      [owner, 'active', null, true],
    ]);
    expect((await api('POST', '/credentials', { token: ownerToken, body: { profile } })).status).toBe(200);
    const delegated = await api<Grant>('POST', '/grants', {
      token: ownerToken,
      body: { profile, subject: { type: 'user', id: teammate }, validUntil: hoursFromNow(12) },
    });
    expect(delegated.status).toBe(201);
    expect(delegated.body.parentGrantId).toBe(handover.body.newGrants[0]);

    // Once only
    const again = expectError(await api('POST', `/engagements/${id}/handover`, { token: admin, body: {} }), 409, 'ALREADY_HANDED_OVER');
    expect(again).toMatchObject({ engagementId: id, revokedGrants: 2, newGrants: 1, handedOverBy: owner });

    // Every step is in the trail
    expect((await trailOf('admin@example.com')).some((e) => e.type === 'engagement.created' && e.detail?.engagementId === id)).toBe(true);
    const ownerTrail = await trailOf(owner);
    expect(ownerTrail.find((e) => e.type === 'handover.completed')?.detail?.revokedGrants?.sort()).toEqual(handover.body.revokedGrants);
    expect(ownerTrail.find((e) => e.type === 'session.revoked')?.detail).toMatchObject({ accessKeyId: earlier.accessKeyId, engagementId: id });
    expect(ownerTrail.map((e) => e.type)).toEqual(
      expect.arrayContaining(['handover.completed', 'session.revoked', 'credential.issued', 'credential.denied', 'grant.created']),
    );
    const carlaTrail = await trailOf(carla);
    expect(carlaTrail.find((e) => e.type === 'credential.issued')?.accessKeyId).toBe(earlier.accessKeyId);
    expect(carlaTrail.find((e) => e.type === 'credential.denied')?.code).toBe('ENGAGEMENT_HANDED_OVER');
  });

  it("lets an owner engage contractors within their own grant, and keeps the handover under it", async () => {
    // Prepare: the owner holds a delegable grant
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    const profile = await newProfile(admin);
    const [owner, dana] = ['owner', 'dana'].map((name) => `${name}-${unique()}@example.com`) as [string, string];
    const ownerToken = await tokenFor(owner, []);
    const root = await api<Grant>('POST', '/grants', {
      token: admin,
      body: { profile, subject: { type: 'user', id: owner }, validUntil: hoursFromNow(48), canDelegate: true, scope: { actions: ['s3:Get*'] } },
    });
    expect(root.status).toBe(201);
    const body = { name: 'Data export', owner, contractors: [dana], profiles: [{ profile }], validUntil: hoursFromNow(24) };

    // Act + Assess: beyond the owner's grant, refused; within it, delegated from it
    const beyond = await api('POST', '/engagements', { token: ownerToken, body: { ...body, validUntil: hoursFromNow(72) } });
    expect(expectError(beyond, 403, 'DELEGATION_EXCEEDS_GRANT').message).toContain('validUntil');
    const forOthers = await api('POST', '/engagements', { token: ownerToken, body: { ...body, owner: `x-${unique()}@example.com` } });
    expectError(forOthers, 403, 'FORBIDDEN');
    const created = await api<EngagementBody>('POST', '/engagements', { token: ownerToken, body });
    expect(created.status).toBe(201);
    expect(created.body.grants[0]).toMatchObject({ subject: { type: 'user', id: dana }, parentGrantId: root.body.id });

    const handover = await api<HandoverBody>('POST', `/engagements/${created.body.id}/handover`, { token: ownerToken, body: {} });
    expect(handover.status).toBe(200);
    const shown = await api<EngagementBody>('GET', `/engagements/${created.body.id}`, { token: ownerToken });
    expect(shown.body.grants.find((g) => g.id === handover.body.newGrants[0])).toMatchObject({ parentGrantId: root.body.id, canDelegate: true });
  });

  it('refuses malformed and oversized engagements (400 VALIDATION_FAILED)', async () => {
    // Prepare
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    const body = { name: 'x', owner: 'o@example.com', contractors: ['c@example.com'], profiles: [{ profile: 'demo-readonly' }], validUntil: hoursFromNow(1) };
    const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com`);

    // Act + Assess
    const unknown = await api('POST', '/engagements', { token: admin, body: { ...body, budget: 1 } });
    expect(expectError(unknown, 400, 'VALIDATION_FAILED').message).toContain('budget');
    expectError(await api('POST', '/engagements', { token: admin, body: { ...body, contractors: many(21, 'c') } }), 400, 'VALIDATION_FAILED');
    const tooBig = await api('POST', '/engagements', {
      token: admin,
      body: { ...body, contractors: many(20, 'c'), profiles: ['demo-readonly', 'demo-deploy', 'a', 'b', 'c'].map((profile) => ({ profile })) },
    });
    expect(expectError(tooBig, 400, 'VALIDATION_FAILED').message).toContain('limit of 94');
    expectError(await api('GET', '/engagements/not%20an%20id', { token: admin }), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/engagements/no-such-engagement', { token: admin }), 404, 'NOT_FOUND');
  });
});
