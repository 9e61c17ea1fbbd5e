// Access requests with in-memory stores: who may ask and decide, the quorum that creates the grant
// in the same transaction, expiry, revocation with its cut-off, the lockdown, and races of two
// decisions at once.
import { adminEvent, type AdminAuditEvent } from '../../shared/domain/audit.js';
import {
  AlreadyApprovedError,
  ConflictError,
  DurationOutOfRangeError,
  ForbiddenError,
  LockdownActiveError,
  NotFoundError,
  NotRequestableError,
  RequestAlreadyDecidedError,
  ScopeNotGrantedError,
  SelfApprovalForbiddenError,
  TooManyPendingRequestsError,
  ValidationError,
  type TvmError,
} from '../../shared/domain/errors.js';
import {
  approveRequest,
  cancelRequest,
  createRequest,
  denyRequest,
  expireRequests,
  getRequest,
  listRequests,
  MAX_PENDING_PER_REQUESTER,
  revokeRequest,
  type RevokeRequestDeps,
} from '../../shared/domain/manage-requests.js';
import type { Principal, Profile, RequestMeta } from '../../shared/domain/model.js';
import { accessRequestInputSchema, denyInputSchema, type AccessRequestInput } from '../../shared/domain/schemas.js';
import { FIXED_NOW, aPrincipal, aProfile } from '../fixtures/builders.js';
import { failureOf as anyFailureOf } from '../fixtures/failure.js';
import { InMemoryAuditLog, InMemoryDelegationStore, fixedClock, inMemoryCutOff, sequentialIds } from '../fixtures/in-memory.js';
import { anIssuance } from '../fixtures/key-events.js';
import { InMemoryRequestStore, RecordingNotifier } from '../fixtures/in-memory-requests.js';
import { aLockdown, InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

/** The TvmError a use case rejects with. */
const failureOf = (promise: Promise<unknown>) => anyFailureOf(promise) as Promise<TvmError>;

const META: RequestMeta = { requestId: 'req-1', sourceIp: '203.0.113.9' };
const PROFILE = 'prod-read';
const ROLE = 'arn:aws:iam::123456789012:role/tvm-prod-read';
const REQUESTER = aPrincipal({ id: 'alice@example.com', groups: ['developers'] });
const APPROVER_1 = aPrincipal({ id: 'bob@example.com', groups: ['prod-approvers'] });
const APPROVER_2 = aPrincipal({ id: 'carol@example.com', groups: ['prod-approvers'] });
const OUTSIDER = aPrincipal({ id: 'mallory@example.com', groups: ['developers'] });
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const SECURITY = aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] });

function requestableProfile(overrides: Partial<Profile['requestable'] & object> = {}, profile: Partial<Profile> = {}): Profile {
  return aProfile({
    name: PROFILE,
    roleArn: ROLE,
    scope: { actions: ['s3:Get*', 's3:List*'] },
    requestable: { approverGroups: ['prod-approvers'], approvals: 2, maxDurationSeconds: 4 * 3600, requireReason: true, pendingSeconds: 86_400, ...overrides },
    ...profile,
  });
}

function setUp(profiles: Profile[] = [requestableProfile()]) {
  const audit = new InMemoryAuditLog();
  const delegations = new InMemoryDelegationStore({ audit, profiles });
  const lockdown = new InMemoryLockdownStore(audit);
  const store = new InMemoryRequestStore(delegations, lockdown);
  const clock = fixedClock(FIXED_NOW);
  const ids = sequentialIds('id');
  const notifier = new RecordingNotifier();
  const deps: RevokeRequestDeps = {
    ...inMemoryCutOff(audit, clock, ids),
    store,
    lockdown,
    notifier,
    clock,
    ids,
    adminGroup: 'tvm-admin',
    securityGroup: 'tvm-security',
    consoleUrl: 'https://tvm.example.com/console/',
  };
  return { deps, store, delegations, audit, clock, lockdown, notifier };
}

const anInput = (overrides: Partial<AccessRequestInput> = {}): AccessRequestInput => ({
  profile: PROFILE,
  durationSeconds: 2 * 3600,
  reason: 'incident 4711',
  ...overrides,
});

const adminEventFor = (type: AdminAuditEvent['type']) => adminEvent(FIXED_NOW, `setup-${type}`, type, ADMIN, META, { profile: PROFILE });

const eventsOf = (audit: InMemoryAuditLog, type: AdminAuditEvent['type']) => audit.eventsOfType(type) as AdminAuditEvent[];

describe('createRequest', () => {
  it('stores a pending request with what it needs to be decided, audits and announces it', async () => {
    // Prepare
    const { deps, audit, notifier } = setUp();

    // Act
    const request = await createRequest(deps, REQUESTER, anInput(), META);

    // Assess
    expect(request).toEqual({
      id: 'id-00000001',
      profile: PROFILE,
      roleArn: ROLE,
      requester: REQUESTER.id,
      durationSeconds: 7200,
      reason: 'incident 4711',
      status: 'pending',
      approvals: [],
      approvalsRequired: 2,
      approverGroups: ['prod-approvers'],
      createdAt: FIXED_NOW.toISOString(),
      expiresAt: new Date(FIXED_NOW.getTime() + 86_400_000).toISOString(),
      history: [{ action: 'created', by: REQUESTER.id, at: FIXED_NOW.toISOString(), comment: 'incident 4711' }],
      version: 1,
    });
    expect(eventsOf(audit, 'request.created')).toEqual([
      expect.objectContaining({ principal: REQUESTER.id, profile: PROFILE, detail: expect.objectContaining({ accessRequestId: request.id, status: 'pending' }) }),
    ]);
    expect(notifier.notices).toEqual([{ type: 'request.created', request, by: REQUESTER.id, link: `https://tvm.example.com/console/requests/${request.id}` }]);
  });

  it('refuses a profile that takes no requests, a duration above its maximum, a missing reason and a scope beyond the profile', async () => {
    // Prepare
    const { deps, store } = setUp([requestableProfile(), aProfile({ name: 'plain' })]);

    // Act
    const refusals = await Promise.all([
      failureOf(createRequest(deps, REQUESTER, anInput({ profile: 'plain' }), META)),
      failureOf(createRequest(deps, REQUESTER, anInput({ durationSeconds: 4 * 3600 + 1 }), META)),
      failureOf(createRequest(deps, REQUESTER, { profile: PROFILE, durationSeconds: 3600 }, META)),
      failureOf(createRequest(deps, REQUESTER, anInput({ scope: { actions: ['s3:PutObject'] } }), META)),
      failureOf(createRequest(deps, REQUESTER, anInput({ profile: 'nope' }), META)),
    ]);

    // Assess
    expect(refusals.map((error) => error.constructor)).toEqual([NotRequestableError, DurationOutOfRangeError, ValidationError, ScopeNotGrantedError, NotFoundError]);
    expect(store.requests).toEqual([]);
  });

  it('a flood of requests by one person stops at MAX_PENDING_PER_REQUESTER pending; deciding one frees a place', async () => {
    // Prepare
    const { deps, store } = setUp();
    const asked = [];
    for (let i = 0; i < MAX_PENDING_PER_REQUESTER; i++) asked.push(await createRequest(deps, REQUESTER, anInput(), META));

    // Act
    const flooded = await failureOf(createRequest(deps, REQUESTER, anInput(), META));
    const someoneElse = await createRequest(deps, OUTSIDER, anInput(), META);
    await cancelRequest(deps, REQUESTER, asked[0]!.id, undefined, META);
    const afterCancel = await createRequest(deps, REQUESTER, anInput(), META);

    // Assess
    expect(flooded).toBeInstanceOf(TooManyPendingRequestsError);
    expect(someoneElse.status).toBe('pending');
    expect(afterCancel.status).toBe('pending');
    expect(store.requests.filter((request) => request.requester === REQUESTER.id)).toHaveLength(MAX_PENDING_PER_REQUESTER + 1);
  });

  it('a burst of concurrent requests by one person still stops at the limit (counted in the same transaction)', async () => {
    // Prepare
    const { deps, store } = setUp();

    // Act
    const outcomes = await Promise.allSettled(Array.from({ length: 3 * MAX_PENDING_PER_REQUESTER }, () => createRequest(deps, REQUESTER, anInput(), META)));

    // Assess
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(MAX_PENDING_PER_REQUESTER);
    expect(store.requests).toHaveLength(MAX_PENDING_PER_REQUESTER);
  });

  it('refuses creating a request on a locked profile to anyone outside the allow list, and records the attempt', async () => {
    // Prepare
    const { deps, store, lockdown, audit } = setUp();
    lockdown.seed(aLockdown({ profiles: [PROFILE], roles: [ROLE] }));

    // Act
    const error = await failureOf(createRequest(deps, REQUESTER, anInput(), META));

    // Assess
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(store.requests).toEqual([]);
    expect(eventsOf(audit, 'change.denied')).toEqual([expect.objectContaining({ detail: expect.objectContaining({ action: 'request.created', code: 'LOCKDOWN_ACTIVE' }) })]);
  });
});

describe('restricted profiles: step-up (RFC 9470)', () => {
  const NOW_S = FIXED_NOW.getTime() / 1000;
  const withMfa = (principal: typeof REQUESTER) => ({ ...principal, signIn: { methods: ['pwd', 'mfa'], at: NOW_S - 10, strong: true } });

  it('asks for a recent MFA sign-in before a request on a restricted profile, records the refusal, then takes it', async () => {
    // Prepare
    const { deps, audit } = setUp([requestableProfile({}, { sensitivity: 'restricted' })]);

    // Act
    const refused = await failureOf(createRequest(deps, REQUESTER, anInput(), META));
    const created = await createRequest(deps, withMfa(REQUESTER), anInput(), META);

    // Assess
    expect(refused).toMatchObject({ code: 'STEP_UP_REQUIRED', details: { maxAgeSeconds: 900 } });
    expect(created.status).toBe('pending');
    expect(eventsOf(audit, 'change.denied')).toEqual([
      expect.objectContaining({ principal: REQUESTER.id, profile: 'prod-read', detail: expect.objectContaining({ action: 'request.created', code: 'STEP_UP_REQUIRED' }) }),
    ]);
  });

  it('asks an approver of a restricted profile for a recent MFA sign-in before the approval counts, recording the refusal', async () => {
    // Prepare
    const { deps, audit } = setUp([requestableProfile({}, { sensitivity: 'restricted' })]);
    const request = await createRequest(deps, withMfa(REQUESTER), anInput(), META);

    // Act
    const refused = await failureOf(approveRequest(deps, APPROVER_1, request.id, undefined, META));
    const approved = await approveRequest(deps, withMfa(APPROVER_1), request.id, undefined, META);

    // Assess
    expect(refused).toMatchObject({ code: 'STEP_UP_REQUIRED' });
    expect(approved.approvals.map((approval) => approval.by)).toEqual([APPROVER_1.id]);
    expect(eventsOf(audit, 'change.denied')).toEqual([
      expect.objectContaining({
        principal: APPROVER_1.id,
        detail: expect.objectContaining({ action: 'request.approved', code: 'STEP_UP_REQUIRED', accessRequestId: request.id }),
      }),
    ]);
  });
});

describe('request texts', () => {
  it.each([['right-to-left override', 'ok\u202e4711-CNI'], ['zero-width space', 'ok\u200bthen'], ['line separator', 'one\u2028two'], ['control character', 'bell\u0007']])(
    'refuse a %s in a reason or a comment (they reach approvers as they are)',
    (_name, text) => {
      // Act, Assess
      expect(accessRequestInputSchema.safeParse({ profile: PROFILE, durationSeconds: 900, reason: text }).success).toBe(false);
      expect(denyInputSchema.safeParse({ comment: text }).success).toBe(false);
      expect(denyInputSchema.safeParse({ comment: 'not during the freeze' }).success).toBe(true);
    },
  );
});

describe('approveRequest', () => {
  it('needs two distinct approvers, never the requester, and the second one creates the grant in the same transaction', async () => {
    // Prepare
    const { deps, delegations, audit } = setUp();
    const { id } = await createRequest(deps, REQUESTER, anInput({ scope: { actions: ['s3:GetObject'] } }), META);

    // Act
    const self = await failureOf(approveRequest(deps, REQUESTER, id, undefined, META));
    const outsider = await failureOf(approveRequest(deps, OUTSIDER, id, undefined, META));
    const first = await approveRequest(deps, APPROVER_1, id, 'ok', META);
    const twice = await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META));
    const grantsAfterOne = delegations.grants.length;
    const second = await approveRequest(deps, APPROVER_2, id, undefined, META);

    // Assess
    expect(self).toBeInstanceOf(SelfApprovalForbiddenError);
    expect(outsider).toBeInstanceOf(ForbiddenError);
    expect(first).toMatchObject({ status: 'pending', approvals: [{ by: APPROVER_1.id, comment: 'ok' }] });
    expect(twice).toBeInstanceOf(AlreadyApprovedError);
    expect(grantsAfterOne).toBe(0);
    expect(second).toMatchObject({ status: 'approved', approvals: [{ by: APPROVER_1.id }, { by: APPROVER_2.id }], grantId: 'id-00000004' });
    expect(delegations.grants).toEqual([
      {
        id: 'id-00000004',
        profile: PROFILE,
        profileGeneration: 'profile-generation-1',
        subject: { type: 'user', id: REQUESTER.id },
        validFrom: FIXED_NOW.toISOString(),
        validUntil: new Date(FIXED_NOW.getTime() + 7200_000).toISOString(),
        scope: { actions: ['s3:GetObject'] },
        canDelegate: false,
        depth: 0,
        requestId: id,
        status: 'active',
        version: 1,
        createdBy: APPROVER_2.id,
        createdAt: FIXED_NOW.toISOString(),
        reason: 'incident 4711',
      },
    ]);
    const approvals = eventsOf(audit, 'request.approved');
    expect(approvals.map((event) => [event.principal, event.grantId])).toEqual([
      [APPROVER_1.id, undefined],
      [APPROVER_2.id, 'id-00000004'],
    ]);
    const decided = await failureOf(approveRequest(deps, aPrincipal({ id: 'dave@example.com', groups: ['prod-approvers'] }), id, undefined, META));
    expect(decided).toBeInstanceOf(RequestAlreadyDecidedError);
    expect(decided.details).toEqual({ status: 'approved' });
  });

  it('the security team sees a request but cannot approve it (FORBIDDEN)', async () => {
    // Prepare
    const { deps } = setUp();
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);

    // Act
    const error = await failureOf(approveRequest(deps, SECURITY, id, undefined, META));

    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
  });

  it('starts the grant at startAt when that is after the approval', async () => {
    // Prepare
    const { deps, delegations } = setUp([requestableProfile({ approvals: 1 })]);
    const startAt = new Date(FIXED_NOW.getTime() + 3_600_000).toISOString();
    const { id } = await createRequest(deps, REQUESTER, anInput({ startAt }), META);

    // Act
    await approveRequest(deps, APPROVER_1, id, undefined, META);

    // Assess
    expect(delegations.grants[0]).toMatchObject({ validFrom: startAt, validUntil: new Date(Date.parse(startAt) + 7200_000).toISOString() });
  });

  it('the race of two approvers completing one quorum makes exactly one grant', async () => {
    // Prepare: one approval in, then the two remaining approvers approve at the same time
    const { deps, store, delegations } = setUp();
    const third = aPrincipal({ id: 'dave@example.com', groups: ['prod-approvers'] });
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    await approveRequest(deps, APPROVER_1, id, undefined, META);

    // Act
    const outcomes = await Promise.allSettled([approveRequest(deps, APPROVER_2, id, undefined, META), approveRequest(deps, third, id, undefined, META)]);

    // Assess
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(RequestAlreadyDecidedError);
    expect(delegations.grants).toHaveLength(1);
    expect(store.requests[0]?.approvals).toHaveLength(2);
  });

  it('the same approver approving twice at once counts once', async () => {
    // Prepare
    const { deps, store } = setUp();
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);

    // Act
    const outcomes = await Promise.allSettled([approveRequest(deps, APPROVER_1, id, undefined, META), approveRequest(deps, APPROVER_1, id, undefined, META)]);

    // Assess
    const loser = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(AlreadyApprovedError);
    expect(store.requests[0]).toMatchObject({ status: 'pending', approvals: [{ by: APPROVER_1.id }] });
  });

  it('an approval racing a cancellation never creates a grant for a cancelled request', async () => {
    // Prepare: the requester cancels between what the approver read and what it writes
    const { deps, store, delegations } = setUp([requestableProfile({ approvals: 1 })]);
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    store.beforeNextWrite = async () => {
      await cancelRequest(deps, REQUESTER, id, 'not needed', META);
    };

    // Act
    const error = await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META));

    // Assess
    expect(error).toBeInstanceOf(RequestAlreadyDecidedError);
    expect(store.requests[0]?.status).toBe('cancelled');
    expect(delegations.grants).toEqual([]);
  });

  it('during a lockdown of the profile (by its role, under another name), approvals are refused unless approver and requester are both allowed', async () => {
    // Prepare: the lockdown names an alias profile on the same role
    const { deps, lockdown, delegations, audit } = setUp([requestableProfile({ approvals: 1 })]);
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    lockdown.seed(aLockdown({ profiles: ['prod-read-alias'], roles: [ROLE], allow: { groups: ['prod-approvers'], principals: [] } }));

    // Act
    const error = await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META));

    // Assess: the approver is allowed, the requester is not
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(delegations.grants).toEqual([]);

    lockdown.seed(aLockdown({ profiles: ['prod-read-alias'], roles: [ROLE], allow: { groups: [], principals: [REQUESTER.id] } }));
    expect(await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META))).toBeInstanceOf(LockdownActiveError);
    expect(eventsOf(audit, 'change.denied').at(-1)?.detail).toMatchObject({ action: 'request.approved', code: 'LOCKDOWN_ACTIVE' });
  });

  it('an expired request is recorded expired by the first decision that finds it, which is refused', async () => {
    // Prepare
    const { deps, clock, audit, store } = setUp();
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    clock.advance(86_400_000);

    // Act
    const error = await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META));

    // Assess
    expect(error).toBeInstanceOf(RequestAlreadyDecidedError);
    expect(error.details).toEqual({ status: 'expired' });
    expect(store.requests[0]?.status).toBe('expired');
    expect(eventsOf(audit, 'request.expired')).toHaveLength(1);
  });

  it('refuses an approval once the profile was re-created (its generation changed)', async () => {
    // Prepare
    const { deps, delegations } = setUp([requestableProfile({ approvals: 1 })]);
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    delegations.seed({ profiles: [requestableProfile({ approvals: 1 }, { generation: 'generation-2' })] });

    // Act
    const error = await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(delegations.grants).toEqual([]);
  });

  it('refuses an approval when the profile was re-pointed at another role or stopped taking requests, even between the read and the write', async () => {
    // Prepare
    const { deps, store, delegations } = setUp([requestableProfile({ approvals: 1 })]);
    const [first, second] = [await createRequest(deps, REQUESTER, anInput(), META), await createRequest(deps, REQUESTER, anInput(), META)];
    const later = (changes: Partial<Profile>) => () => {
      delegations.seed({ profiles: [{ ...requestableProfile({ approvals: 1 }), ...changes, updatedAt: '2026-06-01T12:00:01.000Z' }] });
    };

    // Act
    store.beforeNextWrite = later({ roleArn: 'arn:aws:iam::123456789012:role/tvm-prod-admin' });
    const repointed = await failureOf(approveRequest(deps, APPROVER_1, first.id, undefined, META));
    delegations.seed({ profiles: [requestableProfile({ approvals: 1 })] });
    store.beforeNextWrite = later({ requestable: undefined });
    const unrequestable = await failureOf(approveRequest(deps, APPROVER_1, second.id, undefined, META));

    // Assess
    expect(repointed).toBeInstanceOf(ConflictError);
    expect(repointed.message).toContain('pointed at another role');
    expect(unrequestable).toBeInstanceOf(ConflictError);
    expect(delegations.grants).toEqual([]);
  });

  it('a profile tightened after the request applies: a duration beyond its new maximum is refused, its higher quorum counts', async () => {
    // Prepare
    const { deps, delegations } = setUp([requestableProfile({ approvals: 1, maxDurationSeconds: 86_400 })]);
    const long = await createRequest(deps, REQUESTER, anInput({ durationSeconds: 86_400 }), META);
    const short = await createRequest(deps, REQUESTER, anInput({ durationSeconds: 3600 }), META);
    delegations.seed({ profiles: [requestableProfile({ approvals: 2, maxDurationSeconds: 7200 })] });

    // Act
    const tooLong = await failureOf(approveRequest(deps, APPROVER_1, long.id, undefined, META));
    const once = await approveRequest(deps, APPROVER_1, short.id, undefined, META);

    // Assess
    expect(tooLong).toBeInstanceOf(ConflictError);
    expect(once).toMatchObject({ status: 'pending', approvalsRequired: 2 });
    expect(delegations.grants).toEqual([]);
  });

  it('a lockdown activated between the approval’s read and its write stops the grant', async () => {
    // Prepare
    const { deps, store, lockdown, delegations } = setUp([requestableProfile({ approvals: 1 })]);
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    store.beforeNextWrite = () => {
      lockdown.seed(aLockdown({ profiles: [PROFILE], roles: [ROLE] }));
    };

    // Act
    const error = await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META));

    // Assess
    expect(error).toBeInstanceOf(LockdownActiveError);
    expect(delegations.grants).toEqual([]);
  });

  it('an approval refused because the requester is outside the lockdown is recorded', async () => {
    // Prepare
    const { deps, lockdown, audit } = setUp([requestableProfile({ approvals: 1 })]);
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    lockdown.seed(aLockdown({ profiles: [PROFILE], roles: [ROLE], allow: { groups: ['prod-approvers'], principals: [] } }));

    // Act
    await failureOf(approveRequest(deps, APPROVER_1, id, undefined, META));

    // Assess
    expect(eventsOf(audit, 'change.denied').map((event) => event.detail)).toEqual([
      expect.objectContaining({ action: 'request.approved', code: 'LOCKDOWN_ACTIVE', accessRequestId: id, requester: REQUESTER.id }),
    ]);
  });

  it('an approver whose id differs only in case is the requester', async () => {
    // Prepare
    const { deps } = setUp([requestableProfile({ approvals: 1 })]);
    const requester = aPrincipal({ id: 'Alice@Example.com', groups: ['prod-approvers'] });
    const { id } = await createRequest(deps, requester, anInput(), META);

    // Act
    const error = await failureOf(approveRequest(deps, aPrincipal({ id: 'alice@example.com', groups: ['prod-approvers'] }), id, undefined, META));

    // Assess
    expect(error).toBeInstanceOf(SelfApprovalForbiddenError);
  });
});

describe('denyRequest and cancelRequest', () => {
  it('an approver denies with a comment; the requester cannot deny their own; nothing more can be decided after', async () => {
    // Prepare
    const { deps, audit } = setUp();
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);

    // Act
    const self = await failureOf(denyRequest(deps, REQUESTER, id, 'no', META));
    const denied = await denyRequest(deps, APPROVER_1, id, 'not during the freeze', META);
    const after = await failureOf(approveRequest(deps, APPROVER_2, id, undefined, META));

    // Assess
    expect(self).toBeInstanceOf(SelfApprovalForbiddenError);
    expect(denied).toMatchObject({ status: 'denied', history: [{ action: 'created' }, { action: 'denied', by: APPROVER_1.id, comment: 'not during the freeze' }] });
    expect(after).toBeInstanceOf(RequestAlreadyDecidedError);
    expect(eventsOf(audit, 'request.denied')[0]?.detail).toMatchObject({ comment: 'not during the freeze', status: 'denied' });
  });

  it('only the requester cancels, while pending', async () => {
    // Prepare
    const { deps } = setUp();
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);

    // Act
    const byApprover = await failureOf(cancelRequest(deps, APPROVER_1, id, undefined, META));
    const cancelled = await cancelRequest(deps, REQUESTER, id, undefined, META);
    const again = await failureOf(cancelRequest(deps, REQUESTER, id, undefined, META));

    // Assess
    expect(byApprover).toBeInstanceOf(ForbiddenError);
    expect(cancelled.status).toBe('cancelled');
    expect(again).toBeInstanceOf(RequestAlreadyDecidedError);
  });
});

describe('revokeRequest', () => {
  async function approved(setup: ReturnType<typeof setUp>) {
    const { id } = await createRequest(setup.deps, REQUESTER, anInput(), META);
    await approveRequest(setup.deps, APPROVER_1, id, undefined, META);
    return approveRequest(setup.deps, APPROVER_2, id, undefined, META);
  }

  it('revokes the grant and cuts off its live sessions, in one transaction with the request', async () => {
    // Prepare
    const setup = setUp();
    const request = await approved(setup);
    await setup.audit.append(
      anIssuance({ at: FIXED_NOW.toISOString(), profile: PROFILE, roleArn: ROLE, grantId: request.grantId, accessKeyId: 'ASIAREQUESTGRANT0001', principal: REQUESTER.id, expiration: new Date(FIXED_NOW.getTime() + 900_000).toISOString() }),
    );

    // Act
    const revoked = await revokeRequest(setup.deps, REQUESTER, request.id, 'done', META);

    // Assess
    expect(revoked).toMatchObject({ status: 'revoked', revokedSessions: [expect.objectContaining({ accessKeyId: 'ASIAREQUESTGRANT0001' })], sessionsNotCut: [] });
    expect(setup.delegations.grants[0]).toMatchObject({ id: request.grantId, status: 'revoked', revokedBy: REQUESTER.id });
    expect(eventsOf(setup.audit, 'request.revoked')).toHaveLength(1);
    expect(setup.audit.eventsOfType('session.revoked')).toHaveLength(1);
  });

  it('a grant that cannot be read is never taken for one already revoked: nothing is recorded, the caller retries', async () => {
    // Prepare
    const setup = setUp();
    const request = await approved(setup);
    const blind = { ...setup.deps, store: Object.assign(Object.create(setup.store) as InMemoryRequestStore, { getGrantOf: async () => undefined }) };

    // Act
    const error = await failureOf(revokeRequest(blind, REQUESTER, request.id, undefined, META));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(setup.store.requests.find((stored) => stored.id === request.id)?.status).toBe('approved');
    expect(setup.delegations.grants[0]?.status).toBe('active');
  });

  it('cuts the sessions on the role asked for even when the profile was deleted since', async () => {
    // Prepare
    const setup = setUp();
    const request = await approved(setup);
    await setup.audit.append(
      anIssuance({ at: FIXED_NOW.toISOString(), profile: PROFILE, roleArn: ROLE, grantId: request.grantId, accessKeyId: 'ASIAREQUESTGRANT0002', principal: REQUESTER.id, expiration: new Date(FIXED_NOW.getTime() + 900_000).toISOString() }),
    );
    await setup.delegations.deleteProfile(PROFILE, adminEventFor('profile.deleted'));

    // Act
    const revoked = await revokeRequest(setup.deps, ADMIN, request.id, undefined, META);

    // Assess
    expect(revoked.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIAREQUESTGRANT0002']);
  });

  it('is for the requester, an approver or an admin, once approved', async () => {
    // Prepare
    const setup = setUp();
    const pending = await createRequest(setup.deps, REQUESTER, anInput(), META);
    const request = await approved(setup);

    // Act
    const early = await failureOf(revokeRequest(setup.deps, REQUESTER, pending.id, undefined, META));
    const outsider = await failureOf(revokeRequest(setup.deps, OUTSIDER, request.id, undefined, META));
    const security = await failureOf(revokeRequest(setup.deps, SECURITY, request.id, undefined, META));
    const byAdmin = await revokeRequest(setup.deps, ADMIN, request.id, undefined, META);
    const again = await failureOf(revokeRequest(setup.deps, APPROVER_1, request.id, undefined, META));

    // Assess
    expect(early).toBeInstanceOf(ConflictError);
    expect(outsider).toBeInstanceOf(NotFoundError);
    expect(security).toBeInstanceOf(ForbiddenError);
    expect(byAdmin.status).toBe('revoked');
    expect(again).toBeInstanceOf(RequestAlreadyDecidedError);
  });
});

describe('reading requests', () => {
  it('each sees their own and what they may decide; security and admins see all; others get 404', async () => {
    // Prepare
    const { deps } = setUp([requestableProfile(), requestableProfile({ approverGroups: ['other-approvers'] }, { name: 'other', roleArn: 'arn:aws:iam::123456789012:role/tvm-other' })]);
    const mine = await createRequest(deps, REQUESTER, anInput(), META);
    const theirs = await createRequest(deps, OUTSIDER, anInput({ profile: 'other' }), META);
    const view = (principal: Principal, query = {}) => listRequests(deps, principal, query).then((found) => found.requests.map((request) => request.id).sort());

    // Act, Assess
    expect(await view(REQUESTER)).toEqual([mine.id]);
    expect(await view(APPROVER_1)).toEqual([mine.id]);
    expect(await view(APPROVER_1, { mine: true })).toEqual([]);
    expect(await view(SECURITY)).toEqual([mine.id, theirs.id].sort());
    expect(await view(SECURITY, { status: 'approved' })).toEqual([]);
    expect((await getRequest(deps, APPROVER_1, mine.id)).id).toBe(mine.id);
    expect(await failureOf(getRequest(deps, APPROVER_1, theirs.id))).toBeInstanceOf(NotFoundError);
    expect(await failureOf(getRequest(deps, REQUESTER, 'no-such-request'))).toBeInstanceOf(NotFoundError);
  });

  it('approvers are who the profile names now: a group dropped from it no longer sees its requests', async () => {
    // Prepare
    const { deps, delegations } = setUp();
    const { id } = await createRequest(deps, REQUESTER, anInput(), META);
    delegations.seed({ profiles: [requestableProfile({ approverGroups: ['new-approvers'] })] });
    const newcomer = aPrincipal({ id: 'nina@example.com', groups: ['new-approvers'] });

    // Act
    const formerView = await listRequests(deps, APPROVER_1, {});
    const newView = await listRequests(deps, newcomer, {});

    // Assess
    expect(formerView.requests).toEqual([]);
    expect(await failureOf(getRequest(deps, APPROVER_1, id))).toBeInstanceOf(NotFoundError);
    expect(newView.requests.map((request) => request.id)).toEqual([id]);
  });
});

describe('expireRequests', () => {
  it('records every pending request past its expiry as expired, once, and announces it', async () => {
    // Prepare
    const { deps, clock, audit, notifier } = setUp([requestableProfile({ pendingSeconds: 600 })]);
    const old = await createRequest(deps, REQUESTER, anInput(), META);
    clock.advance(300_000);
    const young = await createRequest(deps, OUTSIDER, anInput(), META);
    clock.advance(300_000);

    // Act
    const first = await expireRequests(deps, META);
    const second = await expireRequests(deps, META);

    // Assess
    expect(first).toEqual([old.id]);
    expect(second).toEqual([]);
    expect((await getRequest(deps, REQUESTER, old.id)).status).toBe('expired');
    expect((await getRequest(deps, OUTSIDER, young.id)).status).toBe('pending');
    expect(eventsOf(audit, 'request.expired').map((event) => event.principal)).toEqual(['tvm:expiry']);
    expect(notifier.notices.map((notice) => notice.type)).toEqual(['request.created', 'request.created', 'request.expired']);
  });

  it('a notice that cannot be delivered never undoes the step', async () => {
    // Prepare
    const { deps, notifier, store } = setUp();
    notifier.failing = true;
    const warnings: string[] = [];
    const withWarn = { ...deps, warn: (message: string) => warnings.push(message) };

    // Act
    const request = await createRequest(withWarn, REQUESTER, anInput(), META);

    // Assess
    expect(store.requests.map((stored) => stored.id)).toEqual([request.id]);
    expect(warnings).toEqual(['a request notice could not be delivered']);
  });
});
