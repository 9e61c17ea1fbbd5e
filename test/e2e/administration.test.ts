// Profiles, grants and the audit trail over HTTP: who may do what, and that every change takes
// effect on the very next vend and is recorded.
import { randomBytes } from 'node:crypto';
import { ADMIN_GROUPS, api, expectError, SECURITY_GROUPS, tokenFor } from './support/api.js';

const unique = () => randomBytes(4).toString('hex');
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

interface Grant {
  id: string;
  status: string;
  profile: string;
  subject: { type: string; id: string };
  createdBy: string;
}

describe('administration', () => {
  let adminToken: string;
  let userToken: string;
  let securityToken: string;
  beforeAll(async () => {
    adminToken = await tokenFor('admin@example.com', ADMIN_GROUPS);
    userToken = await tokenFor('alice@example.com', ['engineering']);
    securityToken = await tokenFor('security@example.com', SECURITY_GROUPS);
  });

  it('lists and shows profiles to any caller, without the external id', async () => {
    const name = `e2e-${unique()}`;
    await api('PUT', `/profiles/${name}`, {
      token: adminToken,
      body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly', externalId: 'secret-ext-id' },
    });
    const list = await api<{ profiles: { name: string }[] }>('GET', '/profiles', { token: userToken });
    expect(list.status).toBe(200);
    expect(list.body.profiles.map((p) => p.name)).toEqual(expect.arrayContaining(['demo-readonly', 'demo-deploy', name]));
    const one = await api('GET', `/profiles/${name}`, { token: userToken });
    expect(one.body).toMatchObject({ name, maxSessionSeconds: 3600, sensitivity: 'standard', externalIdSet: true });
    expect(list.text + one.text).not.toContain('secret-ext-id');
    expectError(await api('GET', '/profiles/no-such-profile', { token: userToken }), 404, 'NOT_FOUND');
  });

  it('refuses admin routes to non-admins with 403 FORBIDDEN', async () => {
    for (const token of [userToken, securityToken]) {
      expectError(
        await api('PUT', '/profiles/sneaky', { token, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-deploy' } }),
        403,
        'FORBIDDEN',
      );
      expectError(await api('DELETE', '/profiles/demo-readonly', { token }), 403, 'FORBIDDEN');
      expectError(
        await api('POST', '/grants', {
          token,
          body: { profile: 'demo-deploy', subject: { type: 'user', id: 'alice@example.com' }, validUntil: inAnHour() },
        }),
        403,
        'FORBIDDEN',
      );
      expectError(await api('GET', '/grants', { token }), 403, 'FORBIDDEN');
      // Another's grant is invisible to anyone who may not revoke it.
      expectError(await api('DELETE', '/grants/demo-readonly-engineering', { token }), 404, 'NOT_FOUND');
    }
    expectError(await api('GET', '/audit/events', { token: userToken }), 403, 'FORBIDDEN');
  });

  it('validates profile input: role pattern, limits, unknown fields', async () => {
    const put = (body: unknown) => api('PUT', `/profiles/e2e-${unique()}`, { token: adminToken, body });
    expect(expectError(await put({ roleArn: 'arn:aws:iam::000000000000:role/admin' }), 400, 'VALIDATION_FAILED').message).toContain(
      'body.roleArn',
    );
    expect(
      expectError(await put({ roleArn: 'arn:aws:iam::000000000000:role/tvm-x', maxSessionSeconds: 50_000 }), 400, 'VALIDATION_FAILED')
        .message,
    ).toContain('body.maxSessionSeconds');
    expect(
      expectError(await put({ roleArn: 'arn:aws:iam::000000000000:role/tvm-x', owner: 'me' }), 400, 'VALIDATION_FAILED').message,
    ).toContain('body.owner');
    expectError(
      await api('PUT', '/profiles/Bad Name', { token: adminToken, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-x' } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('grants, vends, revokes: the next vend is refused, and every step is audited', async () => {
    // Prepare
    const user = `bob-${unique()}@example.com`;
    const bobToken = await tokenFor(user, []);
    const created = await api<Grant>('POST', '/grants', {
      token: adminToken,
      body: { profile: 'demo-deploy', subject: { type: 'user', id: user }, validUntil: inAnHour(), reason: 'on call' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'active', profile: 'demo-deploy', createdBy: 'admin@example.com' });

    const listed = await api<{ grants: Grant[] }>('GET', `/grants?subject=${encodeURIComponent(`user:${user}`)}`, { token: adminToken });
    expect(listed.body.grants.map((g) => g.id)).toEqual([created.body.id]);
    const byProfile = await api<{ grants: Grant[] }>('GET', '/grants?profile=demo-deploy', { token: adminToken });
    expect(byProfile.body.grants.map((g) => g.id)).toContain(created.body.id);

    expect((await api('POST', '/credentials', { token: bobToken, body: { profile: 'demo-deploy' } })).status).toBe(200);

    // Act
    const revoked = await api<Grant>('DELETE', `/grants/${created.body.id}`, { token: adminToken });

    // Assess
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: created.body.id, status: 'revoked', revokedBy: 'admin@example.com' });
    expectError(await api('POST', '/credentials', { token: bobToken, body: { profile: 'demo-deploy' } }), 403, 'NO_GRANT');
    expect((await api<Grant>('DELETE', `/grants/${created.body.id}`, { token: adminToken })).body.status).toBe('revoked');

    const adminEvents = await api<{ events: { type: string; grantId?: string }[] }>(
      'GET',
      '/audit/events?principal=admin@example.com&limit=100',
      { token: securityToken },
    );
    const forGrant = adminEvents.body.events.filter((e) => e.grantId === created.body.id).map((e) => e.type);
    expect(forGrant).toEqual(['grant.revoked', 'grant.created']); // newest first, revoked once
    const bobEvents = await api<{ events: { type: string; code?: string }[] }>(
      'GET',
      `/audit/events?principal=${encodeURIComponent(user)}`,
      { token: securityToken },
    );
    expect(bobEvents.body.events.map((e) => e.code ?? e.type)).toEqual(['NO_GRANT', 'credential.issued']);
  });

  it('validates grants: unknown profile, past validUntil, subject query format, unknown grant id', async () => {
    expectError(
      await api('POST', '/grants', {
        token: adminToken,
        body: { profile: 'no-such-profile', subject: { type: 'user', id: 'x' }, validUntil: inAnHour() },
      }),
      404,
      'NOT_FOUND',
    );
    expectError(
      await api('POST', '/grants', {
        token: adminToken,
        body: { profile: 'demo-deploy', subject: { type: 'user', id: 'x' }, validUntil: '2020-01-01T00:00:00Z' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await api('GET', '/grants?subject=alice', { token: adminToken }), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/grants?owner=alice', { token: adminToken }), 400, 'VALIDATION_FAILED');
    expectError(await api('DELETE', '/grants/unknown-grant-id', { token: adminToken }), 404, 'NOT_FOUND');
  });

  it("refuses a grant whose scope no vend could send (a session policy over STS's 2,048 characters) at creation", async () => {
    // Prepare: 30 valid resources of ~100 characters each
    const user = `hal-${unique()}@example.com`;
    const resources = Array.from({ length: 30 }, (_, i) => `arn:aws:s3:::bucket-${i}/${'x'.repeat(80)}`);

    // Act
    const refused = await api('POST', '/grants', {
      token: adminToken,
      body: { profile: 'demo-deploy', subject: { type: 'user', id: user }, validUntil: inAnHour(), scope: { resources } },
    });

    // Assess: refused, and nothing was granted
    expect(expectError(refused, 400, 'SCOPE_TOO_LARGE')).toMatchObject({ limit: 2048 });
    const listed = await api<{ grants: Grant[] }>('GET', `/grants?subject=${encodeURIComponent(`user:${user}`)}`, { token: adminToken });
    expect(listed.body.grants).toEqual([]);
  });

  it('deleting a profile stops its grants from vending', async () => {
    const name = `e2e-${unique()}`;
    const user = `gina-${unique()}@example.com`;
    await api('PUT', `/profiles/${name}`, { token: adminToken, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly' } });
    await api('POST', '/grants', {
      token: adminToken,
      body: { profile: name, subject: { type: 'user', id: user }, validUntil: inAnHour() },
    });
    const token = await tokenFor(user, []);
    expect((await api('POST', '/credentials', { token, body: { profile: name } })).status).toBe(200);

    expect((await api('DELETE', `/profiles/${name}`, { token: adminToken })).status).toBe(200);

    expectError(await api('POST', '/credentials', { token, body: { profile: name } }), 404, 'NOT_FOUND');
    expectError(await api('DELETE', `/profiles/${name}`, { token: adminToken }), 404, 'NOT_FOUND');
  });

  it('pages the audit trail newest first without gaps or repeats', async () => {
    const user = `hank-${unique()}@example.com`;
    const token = await tokenFor(user, []);
    for (let i = 0; i < 5; i++) await api('POST', '/credentials', { token, body: { profile: 'demo-readonly' } });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api<{ events: { id: string }[]; nextCursor?: string }>(
        'GET',
        `/audit/events?principal=${encodeURIComponent(user)}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { token: securityToken },
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.events.map((e) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect([...seen].sort().reverse()).toEqual(seen);
    expectError(await api('GET', '/audit/events?cursor=garbage', { token: securityToken }), 400, 'VALIDATION_FAILED');

    const all = await api<{ events: { principal: string }[] }>('GET', '/audit/events?type=credential.denied&limit=5', {
      token: securityToken,
    });
    expect(all.status).toBe(200);
    expect(all.body.events.length).toBeGreaterThan(0);
  });
});
