// Delegated grants over HTTP: a chain of delegation within the delegator's own grant, and a
// cascading revocation that stops every vend below it.
import { randomBytes } from 'node:crypto';
import { ADMIN_GROUPS, api, expectError, SECURITY_GROUPS, tokenFor } from './support/api.js';

const unique = () => randomBytes(4).toString('hex');
const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();

interface Grant {
  id: string;
  parentGrantId?: string;
  depth: number;
  createdBy: string;
  revokedDescendants?: string[];
}

describe('delegation', () => {
  it('delegates down a chain within each grant, refuses beyond it, and revokes in cascade', async () => {
    // Prepare: a profile and a delegable grant for a team lead
    const profile = `e2e-${unique()}`;
    const [lead, eve, finn] = ['lead', 'eve', 'finn'].map((name) => `${name}-${unique()}@example.com`) as [string, string, string];
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    const put = await api('PUT', `/profiles/${profile}`, {
      token: admin,
      body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly', scope: { actions: ['s3:*', 'sts:GetCallerIdentity'], resources: ['*'] } },
    });
    expect(put.text).toContain(profile);
    expect(put.status).toBe(200);
    const root = await api<Grant>('POST', '/grants', {
      token: admin,
      body: { profile, subject: { type: 'user', id: lead }, validUntil: hoursFromNow(48), canDelegate: true, scope: { actions: ['s3:Get*'] } },
    });
    expect(root.status).toBe(201);
    const [leadToken, eveToken, finnToken] = await Promise.all([lead, eve, finn].map((id) => tokenFor(id, [])));

    // Act + Assess: lead → eve (may delegate) → finn
    const toEve = await api<Grant>('POST', '/grants', {
      token: leadToken,
      body: { profile, subject: { type: 'user', id: eve }, validUntil: hoursFromNow(24), canDelegate: true },
    });
    expect(toEve.status).toBe(201);
    expect(toEve.body).toMatchObject({ parentGrantId: root.body.id, depth: 1, createdBy: lead });
    const toFinn = await api<Grant>('POST', '/grants', {
      token: eveToken,
      body: { profile, subject: { type: 'user', id: finn }, validUntil: hoursFromNow(12), scope: { actions: ['s3:GetObject'] } },
    });
    expect(toFinn.status).toBe(201);
    expect(toFinn.body).toMatchObject({ parentGrantId: toEve.body.id, depth: 2 });
    expect((await api('POST', '/credentials', { token: finnToken, body: { profile } })).status).toBe(200);

    // Beyond the delegator's grant, or too deep, or without a delegable grant
    const later = await api('POST', '/grants', {
      token: eveToken,
      body: { profile, subject: { type: 'user', id: `x-${unique()}` }, validUntil: hoursFromNow(30) },
    });
    expect(expectError(later, 403, 'DELEGATION_EXCEEDS_GRANT').message).toContain('validUntil');
    const wider = await api('POST', '/grants', {
      token: eveToken,
      body: { profile, subject: { type: 'user', id: `x-${unique()}` }, validUntil: hoursFromNow(1), scope: { actions: ['s3:PutObject'] } },
    });
    expect(expectError(wider, 403, 'DELEGATION_EXCEEDS_GRANT').message).toContain('s3:PutObject');
    const deeper = await api('POST', '/grants', {
      token: eveToken,
      body: { profile, subject: { type: 'user', id: `x-${unique()}` }, validUntil: hoursFromNow(1), canDelegate: true },
    });
    expect(expectError(deeper, 403, 'DELEGATION_EXCEEDS_GRANT').message).toContain('canDelegate');
    expectError(
      await api('POST', '/grants', {
        token: finnToken,
        body: { profile, subject: { type: 'user', id: finn }, validUntil: hoursFromNow(1) },
      }),
      403,
      'FORBIDDEN',
    );

    // A stranger can neither see nor revoke eve's grant
    const stranger = await tokenFor(`mallory-${unique()}@example.com`, ['engineering']);
    expectError(await api('DELETE', `/grants/${toEve.body.id}`, { token: stranger }), 404, 'NOT_FOUND');

    // The lead (holder of the parent grant) revokes eve's grant: finn's goes with it
    const revoked = await api<Grant>('DELETE', `/grants/${toEve.body.id}`, { token: leadToken });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedDescendants).toEqual([toFinn.body.id]);
    expectError(await api('POST', '/credentials', { token: finnToken, body: { profile } }), 403, 'NO_GRANT');
    expectError(await api('POST', '/credentials', { token: eveToken, body: { profile } }), 403, 'NO_GRANT');
    expect((await api('POST', '/credentials', { token: leadToken, body: { profile } })).status).toBe(200);

    // Every step is in the trail
    const security = await tokenFor('security@example.com', SECURITY_GROUPS);
    const trail = await api<{ events: { type: string; grantId?: string; detail?: { revokedGrantIds?: string[] } }[] }>(
      'GET',
      `/audit/events?principal=${encodeURIComponent(lead)}`,
      { token: security },
    );
    const revocation = trail.body.events.find((e) => e.type === 'grant.revoked');
    expect(revocation?.detail?.revokedGrantIds?.sort()).toEqual([toEve.body.id, toFinn.body.id].sort());
    expect(trail.body.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['grant.created', 'grant.revoked', 'credential.issued']),
    );
  });

  it('lists for a delegator the grants they created, and lets a holder give up their own', async () => {
    // Prepare: lead holds a delegable grant and delegates to eve
    const profile = `e2e-${unique()}`;
    const [lead, eve] = ['lead', 'eve'].map((name) => `${name}-${unique()}@example.com`) as [string, string];
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    await api('PUT', `/profiles/${profile}`, {
      token: admin,
      body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly', scope: { actions: ['s3:*'], resources: ['*'] } },
    });
    await api<Grant>('POST', '/grants', {
      token: admin,
      body: { profile, subject: { type: 'user', id: lead }, validUntil: hoursFromNow(48), canDelegate: true },
    });
    const [leadToken, eveToken] = await Promise.all([lead, eve].map((id) => tokenFor(id, [])));
    const toEve = await api<Grant>('POST', '/grants', { token: leadToken, body: { profile, subject: { type: 'user', id: eve }, validUntil: hoursFromNow(24) } });
    expect(toEve.status).toBe(201);

    // Act + Assess: lead finds the grant they made; all grants stay for admins
    const mine = await api<{ grants: Grant[] }>('GET', '/grants?createdBy=me', { token: leadToken });
    expect(mine.status).toBe(200);
    expect(mine.body.grants.map((grant) => grant.id)).toEqual([toEve.body.id]);
    expectError(await api('GET', '/grants', { token: leadToken }), 403, 'FORBIDDEN');
    expectError(await api('GET', `/grants?createdBy=${encodeURIComponent('admin@example.com')}`, { token: leadToken }), 403, 'FORBIDDEN');

    // eve gives hers up: it no longer vends, and lead's list shows it revoked by her
    const givenUp = await api<Grant & { status: string; revokedBy: string }>('DELETE', `/grants/${toEve.body.id}`, { token: eveToken });
    expect(givenUp.status).toBe(200);
    expect(givenUp.body).toMatchObject({ status: 'revoked', revokedBy: eve });
    expectError(await api('POST', '/credentials', { token: eveToken, body: { profile } }), 403, 'NO_GRANT');
    const after = await api<{ grants: (Grant & { status: string })[] }>('GET', '/grants?createdBy=me', { token: leadToken });
    expect(after.body.grants.map((grant) => [grant.id, grant.status])).toEqual([[toEve.body.id, 'revoked']]);
  });
});
