// Access requests over HTTP against the local stack: a person asks, approvers decide, and the
// approval that completes the quorum creates the grant the requester then vends under; requests
// are denied, cancelled and expire; revoking an approved request cuts its live session off at the
// local STS; a lockdown refuses requests.
import { randomBytes } from 'node:crypto';
import { ADMIN_GROUPS, api, expectError, keyWorks, loopControl, SECURITY_GROUPS, tokenFor } from './support/api.js';

const unique = () => randomBytes(4).toString('hex');
// A role no demo profile names (cut-offs.test.ts uses it too; nothing here outlives a test).
const ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-sandbox';
const APPROVERS = ['e2e-approvers'];

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

interface RequestBody {
  id: string;
  status: string;
  approvals: { by: string }[];
  approvalsRequired: number;
  expiresAt: string;
  grantId?: string;
  grantValidFrom?: string;
  grantValidUntil?: string;
  history: { action: string; by: string }[];
}

let adminToken: string;
beforeAll(async () => {
  adminToken = await tokenFor('admin@example.com', ADMIN_GROUPS);
});

async function requestableProfile(requestable: Record<string, unknown> = {}): Promise<string> {
  const name = `e2e-req-${unique()}`;
  const put = await api('PUT', `/profiles/${name}`, {
    token: adminToken,
    body: { roleArn: ROLE, maxSessionSeconds: 3600, requestable: { approverGroups: APPROVERS, approvals: 2, maxDurationSeconds: 7200, ...requestable } },
  });
  expect(put.status).toBe(200);
  return name;
}

const people = async (...names: string[]) =>
  Promise.all(names.map(async (name) => ({ id: `${name}-${unique()}@example.com`, token: '' }))).then((list) =>
    Promise.all(list.map(async (person, index) => ({ ...person, token: await tokenFor(person.id, index === 0 ? [] : APPROVERS) }))),
  );

const ask = (token: string, body: Record<string, unknown>) => api<RequestBody>('POST', '/requests', { token, body });
const step = (token: string, id: string, action: string, body: Record<string, unknown> = {}) =>
  api<RequestBody>('POST', `/requests/${id}/${action}`, { token, body });

// Asked first, checked last: its profile lets a request wait one minute, the least there is.
let expiring: { profile: string; id: string; requester: { id: string; token: string } };
beforeAll(async () => {
  const profile = await requestableProfile({ approvals: 1, pendingSeconds: 60, requireReason: false });
  const [requester] = await people('erin');
  const asked = await ask(requester!.token, { profile, durationSeconds: 900 });
  expect(asked.status).toBe(201);
  expiring = { profile, id: asked.body.id, requester: requester! };
});

describe('a request needing two approvals', () => {
  it('is approved by two distinct approvers, never the requester or a non-approver, and the requester vends under its grant until it ends', async () => {
    // Prepare
    const profile = await requestableProfile();
    const [requester, approver1, approver2] = await people('alice', 'bob', 'carol');
    const outsider = await tokenFor(`mallory-${unique()}@example.com`, ['developers']);
    const asked = await ask(requester!.token, { profile, durationSeconds: 1800, reason: 'incident 4711' });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ status: 'pending', approvals: [], approvalsRequired: 2 });
    const { id } = asked.body;
    // Before it is approved there is nothing to vend with.
    expectError(await api('POST', '/credentials', { token: requester!.token, body: { profile } }), 403, 'NO_GRANT');

    // Act
    const self = await step(requester!.token, id, 'approve');
    const stranger = await step(outsider, id, 'approve');
    const first = await step(approver1!.token, id, 'approve', { comment: 'looks right' });
    const twice = await step(approver1!.token, id, 'approve');
    const second = await step(approver2!.token, id, 'approve');

    // Assess
    expectError(self, 403, 'SELF_APPROVAL_FORBIDDEN');
    expectError(stranger, 403, 'FORBIDDEN');
    expect(first.body).toMatchObject({ status: 'pending', approvals: [{ by: approver1!.id }] });
    expectError(twice, 409, 'ALREADY_APPROVED');
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'approved', approvals: [{ by: approver1!.id }, { by: approver2!.id }] });
    const { grantId, grantValidFrom, grantValidUntil } = second.body;
    expect(Date.parse(grantValidUntil!) - Date.parse(grantValidFrom!)).toBe(1800_000);

    const vended = await api<{ grantId: string; credentials: Credentials }>('POST', '/credentials', { token: requester!.token, body: { profile } });
    expect(vended.status).toBe(200);
    expect(vended.body.grantId).toBe(grantId);
    // The session ends with the grant at the latest: a longer one is refused.
    expect(Date.parse(vended.body.credentials.expiration)).toBeLessThanOrEqual(Date.parse(grantValidUntil!));
    expectError(await api('POST', '/credentials', { token: requester!.token, body: { profile, durationSeconds: 3600 } }), 400, 'DURATION_OUT_OF_RANGE');
    expectError(await step(approver1!.token, id, 'deny', { comment: 'too late' }), 409, 'REQUEST_ALREADY_DECIDED');

    const approvals = await api<{ events: { type: string; principal: string; grantId?: string }[] }>(
      'GET',
      `/audit/events?profile=${profile}&type=request.approved`,
      { token: adminToken },
    );
    expect(approvals.body.events.map((event) => [event.principal, event.grantId ?? null]).reverse()).toEqual([
      [approver1!.id, null],
      [approver2!.id, grantId],
    ]);
  });
});

describe('requests that end without access', () => {
  it('a denied request says why, a cancelled one is the requester’s to cancel, and neither can be decided again', async () => {
    // Prepare
    const profile = await requestableProfile({ requireReason: false });
    const [requester, approver] = await people('dan', 'eve');
    const [toDeny, toCancel] = [await ask(requester!.token, { profile, durationSeconds: 900 }), await ask(requester!.token, { profile, durationSeconds: 900 })];

    // Act
    const denied = await step(approver!.token, toDeny.body.id, 'deny', { comment: 'not during the freeze' });
    const cancelledByApprover = await step(approver!.token, toCancel.body.id, 'cancel');
    const cancelled = await step(requester!.token, toCancel.body.id, 'cancel');

    // Assess
    expect(denied.body).toMatchObject({ status: 'denied', history: [{ action: 'created' }, { action: 'denied', by: approver!.id }] });
    expectError(cancelledByApprover, 403, 'FORBIDDEN');
    expect(cancelled.body.status).toBe('cancelled');
    expectError(await step(approver!.token, toDeny.body.id, 'approve'), 409, 'REQUEST_ALREADY_DECIDED');
    expectError(await step(approver!.token, toCancel.body.id, 'approve'), 409, 'REQUEST_ALREADY_DECIDED');
    const mine = await api<{ requests: RequestBody[] }>('GET', '/requests?mine=true', { token: requester!.token });
    expect(mine.body.requests.map((request) => [request.id, request.status]).sort()).toEqual(
      [
        [toDeny.body.id, 'denied'],
        [toCancel.body.id, 'cancelled'],
      ].sort(),
    );
    // To anyone else they do not exist.
    expectError(await api('GET', `/requests/${toDeny.body.id}`, { token: await tokenFor(`x-${unique()}@example.com`) }), 404, 'NOT_FOUND');
  });
});

describe('revoking an approved request', () => {
  it('revokes its grant and cuts the live session off: the local STS denies the key', async () => {
    // Prepare
    const profile = await requestableProfile({ approvals: 1, requireReason: false });
    const [requester, approver] = await people('frank', 'grace');
    const { id } = (await ask(requester!.token, { profile, durationSeconds: 1800 })).body;
    await step(approver!.token, id, 'approve');
    const vended = await api<{ credentials: Credentials }>('POST', '/credentials', { token: requester!.token, body: { profile } });
    expect(await keyWorks(vended.body.credentials)).toBe(true);

    // Act
    const revoked = await api<RequestBody & { revokedSessions: { accessKeyId: string }[] }>('POST', `/requests/${id}/revoke`, {
      token: approver!.token,
      body: { comment: 'done' },
    });

    // Assess
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    expect(revoked.body.revokedSessions.map((session) => session.accessKeyId)).toEqual([vended.body.credentials.accessKeyId]);
    expect(await keyWorks(vended.body.credentials)).toBe(false);
    expectError(await api('POST', '/credentials', { token: requester!.token, body: { profile } }), 403, 'NO_GRANT');
  });
});

describe('a lockdown', () => {
  it('refuses requests on a locked profile to anyone outside its allow list', async () => {
    // Prepare
    const profile = await requestableProfile();
    const [requester] = await people('heidi');
    const [sec1, sec2] = [`sec-${unique()}@example.com`, `sec-${unique()}@example.com`];
    const locked = await api('PUT', '/lockdown', {
      token: await tokenFor(sec1, SECURITY_GROUPS),
      body: { profiles: [profile], allow: { principals: [sec1] }, reason: 'e2e requests' },
    });
    expect(locked.status).toBe(200);
    try {
      // Act
      const refused = await ask(requester!.token, { profile, durationSeconds: 900, reason: 'please' });

      // Assess
      expectError(refused, 403, 'LOCKDOWN_ACTIVE');
    } finally {
      const lifted = await api('DELETE', '/lockdown', { token: await tokenFor(sec2, SECURITY_GROUPS), body: { reason: 'e2e requests done' } });
      expect(lifted.status).toBe(200);
    }
  });
});

describe('a request nobody decides', () => {
  it('expires, is recorded expired by the schedule, and can no longer be approved', async () => {
    // Prepare: wait out the minute the request created in beforeAll may wait
    const [approver] = (await people('ivan', 'judy')).slice(1);
    const { body: asked } = await api<RequestBody>('GET', `/requests/${expiring.id}`, { token: expiring.requester.token });
    const wait = Date.parse(asked.expiresAt) - Date.now() + 1_000;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

    // Act: the schedule runs (serverless-offline also runs it every 5 minutes on its own: either
    // run may be the one that records it)
    const outcome = await loopControl<{ expired: string[] }>('/expire-requests');

    // Assess
    expect(Array.isArray(outcome.expired)).toBe(true);
    const after = await api<RequestBody>('GET', `/requests/${expiring.id}`, { token: expiring.requester.token });
    expect(after.body).toMatchObject({ status: 'expired', history: [{ action: 'created' }, { action: 'expired', by: 'tvm:expiry' }] });
    expectError(await step(approver!.token, expiring.id, 'approve'), 409, 'REQUEST_ALREADY_DECIDED');
    const recorded = await api<{ events: { type: string }[] }>('GET', `/audit/events?profile=${expiring.profile}&type=request.expired`, { token: adminToken });
    expect(recorded.body.events).toHaveLength(1);
  }, 90_000);
});
