// The "top brass" lockdown over HTTP: outsiders refused and their live sessions cut off (denied by
// the local endpoint), the allowed few still served, and a lift that needs a second person.
import { randomBytes } from 'node:crypto';
import { GetAccessKeyInfoCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ADMIN_GROUPS, api, expectError, SECURITY_GROUPS, tokenFor, stsWith } from './support/api.js';

const unique = () => randomBytes(4).toString('hex');

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

describe('lockdown', () => {
  const [sec1, sec2] = ['sec-1', 'sec-2'].map((name) => `${name}-${unique()}@example.com`) as [string, string];
  let lifter: string;

  afterAll(async () => {
    // Never leave a lockdown behind for other tests.
    await api('DELETE', '/lockdown', { token: await tokenFor(lifter ?? sec2, SECURITY_GROUPS), body: { reason: 'test cleanup' } });
  });

  it('refuses outsiders and cuts their sessions, serves the allowed, and needs a second person to lift', async () => {
    // Prepare: a profile granted to a team and to an executive (a team of this test's own: other
    // tests list what their callers may access)
    const profile = `e2e-${unique()}`;
    const team = `team-${unique()}`;
    const employee = `ann-${unique()}@example.com`;
    const executive = `exec-${unique()}@example.com`;
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    // (A role no demo profile names: the cut-off reaches a minute past the activation, so other
    // suites' sessions on a shared role could be caught in it.)
    await api('PUT', `/profiles/${profile}`, { token: admin, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-lockdown' } });
    for (const subject of [{ type: 'group', id: team }, { type: 'user', id: executive }]) {
      const grant = await api('POST', '/grants', {
        token: admin,
        body: { profile, subject, validUntil: new Date(Date.now() + 3_600_000).toISOString() },
      });
      expect(grant.status).toBe(201);
    }
    const [employeeToken, executiveToken] = await Promise.all([tokenFor(employee, [team]), tokenFor(executive, [])]);
    const before = await api<{ credentials: Credentials }>('POST', '/credentials', { token: employeeToken, body: { profile } });
    expect(before.status).toBe(200);
    expect((await stsWith(before.body.credentials).send(new GetAccessKeyInfoCommand({ AccessKeyId: before.body.credentials.accessKeyId }))).Account).toBe('000000000000');

    // Act: security locks the profile down to the executive, cutting live sessions
    lifter = sec2;
    const locked = await api<{ active: boolean; revokedSessions: { accessKeyId: string }[] }>('PUT', '/lockdown', {
      token: await tokenFor(sec1, SECURITY_GROUPS),
      body: { profiles: [profile], allow: { principals: [executive] }, reason: 'suspected espionage', revokeActiveSessions: true },
    });

    // Assess
    expect(locked.status).toBe(200);
    expect(locked.body.active).toBe(true);
    expect(locked.body.revokedSessions.map((s) => s.accessKeyId)).toContain(before.body.credentials.accessKeyId);
    // Anyone may learn that the profile is locked; not why, by whom, or who is let through.
    const status = await api('GET', '/lockdown', { token: employeeToken });
    expect(status.body).toEqual({ active: true, profiles: [profile] });
    const details = await api('GET', '/lockdown', { token: await tokenFor(sec2, SECURITY_GROUPS) });
    expect(details.body).toMatchObject({
      active: true,
      profiles: [profile],
      roles: ['arn:aws:iam::000000000000:role/tvm-demo-lockdown'],
      allow: { principals: [executive], groups: [] },
      reason: 'suspected espionage',
      activatedBy: sec1,
    });

    const refused = expectError(await api('POST', '/credentials', { token: employeeToken, body: { profile } }), 403, 'LOCKDOWN_ACTIVE');
    expect(refused.message).not.toContain('espionage');
    const allowed = await api<{ credentials: Credentials }>('POST', '/credentials', { token: executiveToken, body: { profile } });
    expect(allowed.status).toBe(200);
    expect(
      (await stsWith(allowed.body.credentials).send(new GetAccessKeyInfoCommand({ AccessKeyId: allowed.body.credentials.accessKeyId })))
        .Account,
    ).toBe('000000000000');

    // The employee's earlier session is now denied by the role's tvm-revocations policy
    await expect(
      stsWith(before.body.credentials).send(new GetAccessKeyInfoCommand({ AccessKeyId: before.body.credentials.accessKeyId })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await stsWith(before.body.credentials).send(new GetCallerIdentityCommand({}))).Arn).toContain(employee);

    // Non-allowed callers can't create grants on the locked profile either
    const blockedGrant = await api('POST', '/grants', {
      token: await tokenFor(`admin-2-${unique()}@example.com`, ADMIN_GROUPS),
      body: { profile, subject: { type: 'user', id: employee }, validUntil: new Date(Date.now() + 60_000).toISOString() },
    });
    expectError(blockedGrant, 403, 'LOCKDOWN_ACTIVE');

    // Lifting: not by the activator, then by a second security member
    expectError(
      await api('DELETE', '/lockdown', { token: await tokenFor(sec1, SECURITY_GROUPS), body: { reason: 'done' } }),
      403,
      'SECOND_APPROVER_REQUIRED',
    );
    expectError(await api('DELETE', '/lockdown', { token: employeeToken, body: { reason: 'me' } }), 403, 'FORBIDDEN');
    const lifted = await api('DELETE', '/lockdown', { token: await tokenFor(sec2, SECURITY_GROUPS), body: { reason: 'all clear' } });
    expect(lifted.status).toBe(200);
    // Lifted, but the lockdown's cut-off still reaches sessions minted in its first minute: a key
    // vended now would be denied from the start, so none is, and the caller is told when to ask again.
    const tooSoon = expectError(await api('POST', '/credentials', { token: employeeToken, body: { profile } }), 409, 'CUT_OFF_PENDING');
    expect(tooSoon.retryAfterSeconds).toBeGreaterThan(0);
    expect(tooSoon.retryAfterSeconds).toBeLessThanOrEqual(62);

    // Every step is in the trail
    const security = await tokenFor(sec2, SECURITY_GROUPS);
    const trail = async (principal: string) =>
      (await api<{ events: { type: string; code?: string }[] }>('GET', `/audit/events?principal=${encodeURIComponent(principal)}`, { token: security }))
        .body.events;
    expect((await trail(sec1)).map((e) => e.type)).toEqual(expect.arrayContaining(['lockdown.activated', 'session.revoked']));
    expect((await trail(sec2)).map((e) => e.type)).toContain('lockdown.lifted');
    // (Uses of the credentials are recorded under the employee too, as credential.used, and so are
    // the alerts about them, whenever the alert function gets to them.)
    expect(
      (await trail(employee)).filter((e) => e.type !== 'credential.used' && e.type !== 'alert.raised').map((e) => e.code ?? e.type),
    ).toEqual(['CUT_OFF_PENDING', 'LOCKDOWN_ACTIVE', 'credential.issued']);
  });

  // The attack: a tvm-admin outside the allow list gets around a lockdown of one profile through
  // another profile on the same role (one that existed, or one they create), or by re-pointing one.
  it('locks the role, not the name: no alias, old or new, gets an outsider onto a locked role', async () => {
    // Prepare: two profiles on the deploy role and one elsewhere; the outsider holds grants on both
    // deploy profiles, which they made themselves before the lockdown
    const role = 'arn:aws:iam::000000000000:role/tvm-demo-deploy';
    const [locked, oldAlias, elsewhere, newAlias] = ['locked', 'old-alias', 'elsewhere', 'new-alias'].map((name) => `e2e-${name}-${unique()}`) as [
      string,
      string,
      string,
      string,
    ];
    const outsider = `rogue-admin-${unique()}@example.com`;
    const executive = `exec-${unique()}@example.com`;
    const outsiderToken = await tokenFor(outsider, ADMIN_GROUPS);
    const executiveToken = await tokenFor(executive, []);
    for (const [name, roleArn] of [[locked, role], [oldAlias, role], [elsewhere, 'arn:aws:iam::000000000000:role/tvm-demo-readonly']] as const) {
      expect((await api('PUT', `/profiles/${name}`, { token: outsiderToken, body: { roleArn } })).status).toBe(200);
    }
    const validUntil = new Date(Date.now() + 3_600_000).toISOString();
    for (const [name, who] of [[oldAlias, outsider], [oldAlias, executive], [elsewhere, outsider]] as const) {
      const created = await api('POST', '/grants', { token: outsiderToken, body: { profile: name, subject: { type: 'user', id: who }, validUntil } });
      expect(created.status).toBe(201);
    }
    lifter = sec2;
    const activation = await api('PUT', '/lockdown', {
      token: await tokenFor(sec1, SECURITY_GROUPS),
      body: { profiles: [locked], allow: { principals: [executive] }, reason: 'rogue admin suspected' },
    });
    expect(activation.status).toBe(200);

    // Act
    const vendOnOldAlias = await api('POST', '/credentials', { token: outsiderToken, body: { profile: oldAlias } });
    const createAlias = await api('PUT', `/profiles/${newAlias}`, { token: outsiderToken, body: { roleArn: role } });
    const repointOnto = await api('PUT', `/profiles/${elsewhere}`, { token: outsiderToken, body: { roleArn: role } });
    const repointAway = await api('PUT', `/profiles/${locked}`, {
      token: outsiderToken,
      body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly' },
    });
    const deleteLocked = await api('DELETE', `/profiles/${oldAlias}`, { token: outsiderToken });
    const grantOnAlias = await api('POST', '/grants', {
      token: outsiderToken,
      body: { profile: oldAlias, subject: { type: 'group', id: 'engineering' }, validUntil },
    });
    const allowedOnAlias = await api('POST', '/credentials', { token: executiveToken, body: { profile: oldAlias } });
    const elsewhereStillServed = await api('POST', '/credentials', { token: outsiderToken, body: { profile: elsewhere } });

    // Assess
    for (const refused of [vendOnOldAlias, createAlias, repointOnto, repointAway, deleteLocked, grantOnAlias]) {
      expectError(refused, 403, 'LOCKDOWN_ACTIVE');
    }
    expect(allowedOnAlias.status).toBe(200);
    expect(elsewhereStillServed.status).toBe(200);
    const security = await tokenFor(sec2, SECURITY_GROUPS);
    const trail = await api<{ events: { type: string; code?: string; detail?: { action?: string } }[] }>(
      'GET',
      `/audit/events?principal=${encodeURIComponent(outsider)}&type=change.denied`,
      { token: security },
    );
    expect(trail.body.events.map((event) => event.detail?.action).sort()).toEqual(
      ['grant.created', 'profile.deleted', 'profile.put', 'profile.put', 'profile.put'].sort(),
    );
    const denials = await api<{ events: { code?: string; profile?: string }[] }>(
      'GET',
      `/audit/events?principal=${encodeURIComponent(outsider)}&type=credential.denied`,
      { token: security },
    );
    expect(denials.body.events).toEqual([expect.objectContaining({ code: 'LOCKDOWN_ACTIVE', profile: oldAlias })]);

    const lifted = await api('DELETE', '/lockdown', { token: security, body: { reason: 'cleared' } });
    expect(lifted.status).toBe(200);

  });

  it('records a lockdown of several profiles so that the trail of each one shows it', async () => {
    // Prepare: two fresh profiles
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    const [first, second] = [`e2e-${unique()}`, `e2e-${unique()}`] as [string, string];
    for (const profile of [first, second]) {
      const put = await api('PUT', `/profiles/${profile}`, { token: admin, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly' } });
      expect(put.status).toBe(200);
    }
    const [activator, approver] = [`sec-a-${unique()}@example.com`, `sec-b-${unique()}@example.com`];
    lifter = approver;

    // Act: locked down together, then lifted
    const locked = await api('PUT', '/lockdown', {
      token: await tokenFor(activator, SECURITY_GROUPS),
      body: { profiles: [first, second], allow: { groups: ['top-brass'] }, reason: 'two at once' },
    });
    const lifted = await api('DELETE', '/lockdown', { token: await tokenFor(approver, SECURITY_GROUPS), body: { reason: 'both clear' } });

    // Assess
    expect([locked.status, lifted.status]).toEqual([200, 200]);
    const security = await tokenFor(approver, SECURITY_GROUPS);
    const trailOf = async (profile: string) =>
      (await api<{ events: { type: string; principal: string; profiles?: string[]; profile?: string }[] }>('GET', `/audit/events?profile=${profile}`, { token: security }))
        .body.events;
    // (A lockdown of every profile by anyone else would rightly show here too: only this test's people count.)
    const ours = (event: { principal: string }) => [activator, approver, 'admin@example.com'].includes(event.principal);
    for (const profile of [first, second]) {
      expect((await trailOf(profile)).filter(ours).map(({ type, principal, profiles, profile: one }) => ({ type, principal, profiles, one }))).toEqual([
        { type: 'lockdown.lifted', principal: approver, profiles: [first, second], one: undefined },
        { type: 'lockdown.activated', principal: activator, profiles: [first, second], one: undefined },
        { type: 'profile.put', principal: 'admin@example.com', profiles: undefined, one: profile },
      ]);
    }
    const lockdownsOfSecond = await api<{ events: { type: string }[] }>('GET', `/audit/events?profile=${second}&type=lockdown.activated`, { token: security });
    expect(lockdownsOfSecond.body.events.map((event) => event.type)).toEqual(['lockdown.activated']);
  });
});
