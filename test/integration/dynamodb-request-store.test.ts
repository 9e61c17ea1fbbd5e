// Access requests on the real DynamoDB Local, through the use cases: the completing approval writes
// the grant that the vend's own read then finds; two approvals racing for one quorum make one grant;
// the pending listing forgets a request once it is decided; revoking takes the grant out of the
// vend's index with its cut-off order; an item written around tvm is refused.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { requestKey } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbLockdownStore } from '../../shared/adapters/dynamodb-lockdown-store.js';
import { DynamoDbRequestStore } from '../../shared/adapters/dynamodb-request-store.js';
import { adminEvent } from '../../shared/domain/audit.js';
import { RequestAlreadyDecidedError } from '../../shared/domain/errors.js';
import { approveRequest, cancelRequest, createRequest, listRequests, MAX_PENDING_PER_REQUESTER, revokeRequest, type RevokeRequestDeps } from '../../shared/domain/manage-requests.js';
import type { Profile } from '../../shared/domain/model.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { aLockdown } from '../fixtures/in-memory-lockdown.js';
import { FakeRevocationPolicies, InMemoryAuditLog, InMemoryRevocationLedger, fixedClock, sequentialIds } from '../fixtures/in-memory.js';
import { RecordingNotifier } from '../fixtures/in-memory-requests.js';
import { scanRawTable, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

const META = { requestId: 'req-it' };
const REQUESTER = aPrincipal({ id: 'alice@example.com', groups: ['developers'] });
const APPROVERS = ['bob', 'carol', 'dave'].map((name) => aPrincipal({ id: `${name}@example.com`, groups: ['prod-approvers'] }));
const PROFILE: Profile = aProfile({
  name: 'prod-read',
  roleArn: 'arn:aws:iam::123456789012:role/tvm-prod-read',
  requestable: { approverGroups: ['prod-approvers'], approvals: 2, maxDurationSeconds: 14_400, requireReason: false, pendingSeconds: 86_400 },
});

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let store: DynamoDbRequestStore;
let deps: RevokeRequestDeps;

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
  const options = { tableName: tables.delegations, auditTableName: tables.audit, auditShards: 4 };
  store = new DynamoDbRequestStore(dynamodb().documentClient, options);
  const clock = fixedClock(new Date());
  const ids = sequentialIds(`it${Date.now()}`);
  const sessions = new InMemoryAuditLog();
  await store.putProfile(PROFILE, adminEvent(clock.now(), ids.next(), 'profile.put', REQUESTER, META, { profile: PROFILE.name }));
  deps = {
    store,
    lockdown: new DynamoDbLockdownStore(dynamodb().documentClient, options),
    // Writes that are not part of a store's transaction (change.denied, cut-off records) stay in memory.
    audit: sessions,
    notifier: new RecordingNotifier(),
    clock,
    ids,
    adminGroup: 'tvm-admin',
    securityGroup: 'tvm-security',
    consoleUrl: '/console/',
    ledger: new InMemoryRevocationLedger(),
    policies: new FakeRevocationPolicies(),
    sessions,
    orders: sessions.cutOffOrders,
  };
});

it('the approval completing the quorum writes the grant the vend reads; a racing second approval is refused', async () => {
  // Prepare
  const request = await createRequest(deps, REQUESTER, { profile: PROFILE.name, durationSeconds: 3600 }, META);
  await approveRequest(deps, APPROVERS[0]!, request.id, undefined, META);

  // Act
  const outcomes = await Promise.allSettled(APPROVERS.slice(1).map((approver) => approveRequest(deps, approver, request.id, undefined, META)));

  // Assess
  expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
  expect((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(RequestAlreadyDecidedError);
  const stored = await store.getRequest(request.id);
  expect(stored).toMatchObject({ status: 'approved', version: 3 });
  const { grants } = await store.getProfileWithGrants(PROFILE.name, [{ type: 'user', id: REQUESTER.id }], new Date());
  expect(grants).toEqual([expect.objectContaining({ id: stored?.grantId, requestId: request.id, canDelegate: false })]);
  const grantItems = (await scanRawTable(dynamodb().documentClient, tables.delegations)).filter((item) => item.entity === 'grant');
  expect(grantItems).toHaveLength(1);
});

it('lists by requester, pending and all, and forgets a decided request in the pending listing', async () => {
  // Prepare
  const first = await createRequest(deps, REQUESTER, { profile: PROFILE.name, durationSeconds: 3600 }, META);
  const second = await createRequest(deps, REQUESTER, { profile: PROFILE.name, durationSeconds: 7200 }, META);

  // Act
  await cancelRequest(deps, REQUESTER, first.id, undefined, META);

  // Assess
  expect((await store.listRequests({ requester: REQUESTER.id }, 100)).map((request) => request.id).sort()).toEqual([first.id, second.id].sort());
  expect((await store.listRequests({ pending: true }, 100)).map((request) => request.id)).toEqual([second.id]);
  expect((await store.listRequests({ all: true }, 100)).map((request) => request.id).sort()).toEqual([first.id, second.id].sort());
  expect((await listRequests(deps, APPROVERS[0]!, {})).requests.map((request) => request.id)).toEqual([second.id]);
});

it('revoking takes the grant out of the vend index and writes its cut-off order and the cut-off epoch’s rise in the same transaction', async () => {
  // Prepare
  const request = await createRequest(deps, REQUESTER, { profile: PROFILE.name, durationSeconds: 3600 }, META);
  await approveRequest(deps, APPROVERS[0]!, request.id, undefined, META);
  await approveRequest(deps, APPROVERS[1]!, request.id, undefined, META);
  const epochBefore = await deps.lockdown.getCutOffEpoch();

  // Act
  const revoked = await revokeRequest(deps, REQUESTER, request.id, undefined, META);

  // Assess
  expect(revoked.status).toBe('revoked');
  const { grants } = await store.getProfileWithGrants(PROFILE.name, [{ type: 'user', id: REQUESTER.id }], new Date());
  expect(grants).toEqual([]);
  expect(await store.getGrant(revoked.grantId ?? '')).toMatchObject({ status: 'revoked', revokedBy: REQUESTER.id });
  const orders = (await scanRawTable(dynamodb().documentClient, tables.delegations)).filter((item) => item.entity === 'cutoff');
  expect(orders).toEqual([expect.objectContaining({ cause: 'grant-revoked', roles: [PROFILE.roleArn] })]);
  expect({ epochBefore, epochAfter: await deps.lockdown.getCutOffEpoch() }).toEqual({ epochBefore: 0, epochAfter: 1 });
  // What it cut off, where the vend reads it while it still reaches new sessions.
  const { recentCutOffs } = await deps.lockdown.getLockdownAndCutOffs(new Date());
  expect(recentCutOffs).toEqual([{ roles: [PROFILE.roleArn], revocations: [expect.objectContaining({ kind: 'grant', grantId: revoked.grantId })] }]);
});

it('counts pending requests in the same transaction: a burst by one person stops at the limit, a decision frees a place', async () => {
  // Act
  const outcomes = await Promise.allSettled(
    Array.from({ length: 2 * MAX_PENDING_PER_REQUESTER }, () => createRequest(deps, REQUESTER, { profile: PROFILE.name, durationSeconds: 900 }, META)),
  );
  const created = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as Error).constructor.name] : []));

  // Assess: none beyond the limit; losers of a race that had room are told to retry
  expect(created.length).toBeLessThanOrEqual(MAX_PENDING_PER_REQUESTER);
  expect(new Set(refusals)).toEqual(new Set(created.length === MAX_PENDING_PER_REQUESTER ? ['TooManyPendingRequestsError'] : ['TooManyPendingRequestsError', 'ConflictError']));
  expect(await store.pendingCount(REQUESTER.id)).toBe(created.length);
  await cancelRequest(deps, REQUESTER, created[0]!.id, undefined, META);
  expect(await store.pendingCount(REQUESTER.id)).toBe(created.length - 1);
});

it('the grant is written only while the profile and the lockdown are as the approval read them', async () => {
  // Prepare
  const request = await createRequest(deps, REQUESTER, { profile: PROFILE.name, durationSeconds: 900 }, META);
  const profile = (await store.getProfile(PROFILE.name))!;
  const next = { ...(await store.getRequest(request.id))!, status: 'approved' as const, version: 2 };
  const grant = aGrant({ id: 'grant-from-request-1', profile: PROFILE.name, profileGeneration: profile.generation, subject: { type: 'user', id: REQUESTER.id } });
  const event = () => adminEvent(new Date(), `approve-${Math.random()}`, 'request.approved', APPROVERS[0]!, META, { profile: PROFILE.name });

  // Act: a lockdown appears, then the profile changes, after what the approval read
  const lockdown = new DynamoDbLockdownStore(dynamodb().documentClient, { tableName: tables.delegations, auditTableName: tables.audit, auditShards: 4 });
  await lockdown.putLockdown(aLockdown({ profiles: [PROFILE.name], roles: [PROFILE.roleArn], version: 1 }), 0, event());
  const underLockdown = await store.updateRequest(next, 1, event(), { createGrant: { grant, profileUpdatedAt: profile.updatedAt, lockdownVersion: 0 }, leavesPending: true });
  await store.putProfile({ ...profile, roleArn: 'arn:aws:iam::123456789012:role/tvm-prod-admin', updatedAt: new Date().toISOString() }, event(), profile);
  const afterChange = await store.updateRequest(next, 1, event(), { createGrant: { grant, profileUpdatedAt: profile.updatedAt, lockdownVersion: 1 }, leavesPending: true });

  // Assess
  expect([underLockdown, afterChange]).toEqual([false, false]);
  expect(await store.getGrant(grant.id)).toBeUndefined();
  expect((await store.getRequest(request.id))?.status).toBe('pending');
});

it('never stores a request under the attribute the table’s TTL deletes by', async () => {
  // Act
  const request = await createRequest(deps, REQUESTER, { profile: PROFILE.name, durationSeconds: 900 }, META);

  // Assess
  const item = (await scanRawTable(dynamodb().documentClient, tables.delegations)).find((candidate) => candidate.entity === 'request');
  expect(item).not.toHaveProperty('expiresAt');
  expect(item?.pendingUntil).toBe(request.expiresAt);
  expect((await store.getRequest(request.id))?.expiresAt).toBe(request.expiresAt);
});

it('refuses a stored request that tvm did not write (unknown fields, wrong types), with a warning', async () => {
  // Prepare
  const warnings: string[] = [];
  store.warn = (message) => warnings.push(message);
  await dynamodb().documentClient.send(
    new PutCommand({
      TableName: tables.delegations,
      Item: { ...requestKey('forged-request-1'), entity: 'request', id: 'forged-request-1', status: 'approved', approvals: 'everyone', createdAt: FIXED_NOW.toISOString() },
    }),
  );

  // Act
  const found = await store.getRequest('forged-request-1');

  // Assess
  expect(found).toBeUndefined();
  expect(warnings).toEqual(['skipped a stored access request that is not one tvm wrote']);
});
