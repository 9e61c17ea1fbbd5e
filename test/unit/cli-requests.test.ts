// The access-request commands (request, requests, approve, deny) in-process with a fake fetch: the
// request each builds from its arguments, how the answer reads, and usage errors before any call.
import { EXIT } from '../../cli/errors.js';
import type { PublicRequest } from '../../shared/domain/model.js';
import { apiRefusal, readFields, readTable, runTvm } from '../fixtures/cli-in-process.js';

const REQUEST: PublicRequest = {
  id: 'request-0001',
  profile: 'prod-read',
  roleArn: 'arn:aws:iam::123456789012:role/tvm-prod-read',
  requester: 'alice@example.com',
  durationSeconds: 7200,
  reason: 'INC-4711',
  status: 'pending',
  approvals: [{ by: 'bob@example.com', at: '2026-12-05T10:01:00.000Z' }],
  approvalsRequired: 2,
  approverGroups: ['prod-approvers'],
  createdAt: '2026-12-05T10:00:00.000Z',
  expiresAt: '2026-12-06T10:00:00.000Z',
  history: [
    { action: 'created', by: 'alice@example.com', at: '2026-12-05T10:00:00.000Z', comment: 'INC-4711' },
    { action: 'approved', by: 'bob@example.com', at: '2026-12-05T10:01:00.000Z' },
  ],
  version: 2,
};

describe('tvm request', () => {
  it('asks POST /requests with the duration in seconds, the reason and the scope, and says who decides', async () => {
    // Act
    const run = await runTvm(['request', 'prod-read', '--duration', '2h', '--reason', 'INC-4711', '--action', 's3:GetObject'], [{ status: 201, body: REQUEST }]);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: 'POST', path: '/requests', body: { profile: 'prod-read', durationSeconds: 7200, reason: 'INC-4711', scope: { actions: ['s3:GetObject'] } } },
    ]);
    expect(readFields(run.stdout)).toMatchObject({ id: 'request-0001', status: 'pending', for: '2h', approvals: '1/2' });
    expect(run.stdout).toContain('waiting for 2 approval(s) from prod-approvers; see tvm requests show request-0001');
  });

  it.each([['0'], ['10m'], ['31d'], ['2 hours'], ['-1h']])('refuses --duration %s before calling the API', async (duration) => {
    // Act
    const run = await runTvm(['request', 'prod-read', '--duration', duration], []);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.requests).toEqual([]);
    expect(run.stderr).toContain('--duration');
  });

  it('reports the API refusal with its code', async () => {
    // Act
    const run = await runTvm(['request', 'prod-admin', '--duration', '1h'], [apiRefusal(403, 'NOT_REQUESTABLE', 'profile "prod-admin" takes no access requests; ask an admin for a grant')]);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stderr).toBe('tvm: NOT_REQUESTABLE: profile "prod-admin" takes no access requests; ask an admin for a grant\n');
  });
});

describe('tvm approve and tvm deny', () => {
  it('approve posts an optional comment; deny requires one', async () => {
    // Act
    const approved = await runTvm(['approve', 'request-0001', '--comment', 'ok'], [{ body: { ...REQUEST, status: 'approved' } }]);
    const deniedWithout = await runTvm(['deny', 'request-0001'], []);
    const denied = await runTvm(['deny', 'request-0001', '--comment', 'not during the freeze'], [{ body: { ...REQUEST, status: 'denied' } }]);

    // Assess
    expect(approved.requests.map(({ method, path, body }) => ({ method, path, body }))).toEqual([{ method: 'POST', path: '/requests/request-0001/approve', body: { comment: 'ok' } }]);
    expect(readFields(approved.stdout)).toMatchObject({ status: 'approved' });
    expect(readTable(approved.stdout, 'AT').map((row) => row.STEP)).toEqual(['created', 'approved']);
    expect(deniedWithout.code).toBe(EXIT.usage);
    expect(deniedWithout.requests).toEqual([]);
    expect(denied.requests[0]).toMatchObject({ path: '/requests/request-0001/deny', body: { comment: 'not during the freeze' } });
  });

  it('a malformed id never reaches the API (no path tricks)', async () => {
    // Act
    const run = await runTvm(['approve', '../grants/x'], []);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.requests).toEqual([]);
  });
});

describe('tvm requests', () => {
  it('lists with --pending and --mine as the query, in a table', async () => {
    // Act
    const run = await runTvm(['requests', '--pending', '--mine'], [{ body: { requests: [REQUEST] } }]);

    // Assess
    expect(run.requests.map(({ method, path, query }) => ({ method, path, query }))).toEqual([{ method: 'GET', path: '/requests', query: { status: 'pending', mine: 'true' } }]);
    expect(readTable(run.stdout, 'ID')).toEqual([
      { ID: 'request-0001', PROFILE: 'prod-read', REQUESTER: 'alice@example.com', STATUS: 'pending', FOR: '2h', APPROVALS: '1/2', 'DECIDE BY': '2026-12-06T10:00:00.000Z' },
    ]);
  });

  it('revoke posts to the request and prints the sessions it cut off', async () => {
    // Act
    const run = await runTvm(
      ['requests', 'revoke', 'request-0001'],
      [{ body: { ...REQUEST, status: 'revoked', revokedSessions: [{ accessKeyId: 'ASIAREVOKED000000001', sourceIdentity: 'alice', expiration: '2026-12-05T11:00:00.000Z' }], sessionsNotCut: [], roleWideFallback: false } }],
    );

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.requests.map(({ method, path }) => `${method} ${path}`)).toEqual(['POST /requests/request-0001/revoke']);
    expect(run.stdout).toContain('revoked request request-0001 (prod-read for alice@example.com)');
    expect(run.stdout).toContain('ASIAREVOKED000000001');
  });

  it('show and cancel', async () => {
    // Act
    const shown = await runTvm(['requests', 'show', 'request-0001'], [{ body: REQUEST }]);
    const cancelled = await runTvm(['requests', 'cancel', 'request-0001'], [{ body: { ...REQUEST, status: 'cancelled' } }]);

    // Assess
    expect(shown.requests.map(({ method, path }) => `${method} ${path}`)).toEqual(['GET /requests/request-0001']);
    expect(readFields(shown.stdout)).toMatchObject({ requester: 'alice@example.com', approvers: 'prod-approvers' });
    expect(cancelled.requests.map(({ method, path, body }) => ({ method, path, body }))).toEqual([{ method: 'POST', path: '/requests/request-0001/cancel', body: {} }]);
  });
});

describe('tvm profiles put --requestable-by', () => {
  it('makes a profile requestable with its approvers, quorum and limits', async () => {
    // Act
    const run = await runTvm(
      ['profiles', 'put', 'prod-read', '--role-arn', 'arn:aws:iam::123456789012:role/tvm-prod-read', '--requestable-by', 'prod-approvers', '--approvals', '2', '--max-request', '4h'],
      [
        apiRefusal(404, 'NOT_FOUND', 'profile "prod-read" does not exist'),
        { body: { name: 'prod-read', requestable: { approverGroups: ['prod-approvers'], approvals: 2, maxDurationSeconds: 14_400, requireReason: true, pendingSeconds: 86_400 } } },
      ],
    );
    const withoutMaximum = await runTvm(
      ['profiles', 'put', 'prod-read', '--role-arn', 'arn:aws:iam::123456789012:role/tvm-prod-read', '--requestable-by', 'prod-approvers'],
      [apiRefusal(404, 'NOT_FOUND', 'profile "prod-read" does not exist')],
    );

    // Assess
    expect(run.requests[1]?.body).toEqual({
      roleArn: 'arn:aws:iam::123456789012:role/tvm-prod-read',
      requestable: { approverGroups: ['prod-approvers'], maxDurationSeconds: 14_400, approvals: 2 },
    });
    expect(readFields(run.stdout)).toMatchObject({ requestable: 'by prod-approvers, 2 approval(s), up to 4h, reason required' });
    expect(withoutMaximum.code).toBe(EXIT.usage);
    expect(withoutMaximum.requests.map((request) => request.method)).toEqual(['GET']);
  });
});
