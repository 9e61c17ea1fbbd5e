// Access requests: a person asks for time-boxed access to a requestable profile, approvers decide,
// and the approval that completes the quorum creates the grant in the same transaction. A request
// inherits tvm's rules: the lockdown refuses it, revoking it cuts its sessions off, every step is
// audited and announced.
import { adminEvent, type AdminAuditEvent } from './audit.js';
import { carryOutCutOff, newCutOffOrder, type CutOffDeps, type CutOffReport } from './cut-off-sessions.js';
import {
  AlreadyApprovedError,
  ConflictError,
  DurationOutOfRangeError,
  ForbiddenError,
  LockdownActiveError,
  NotFoundError,
  NotRequestableError,
  RequestAlreadyDecidedError,
  SelfApprovalForbiddenError,
  StepUpRequiredError,
  TooManyPendingRequestsError,
  ValidationError,
} from './errors.js';
import { isAllowed, locksProfile, refuseChangeIfLockedOut } from './lockdown-rules.js';
import type { AccessRequest, AccessRequestStatus, AccessRequestStep, Grant, Principal, Profile, PublicRequest, RequestMeta } from './model.js';
import type { AuditWriter, Clock, IdGenerator, LockdownStore, RequestChangeEffects, RequestListing, RequestNotice, RequestNotifier, RequestStore } from './ports.js';
import { distinctRoles, rolesOf, sameRole } from './roles.js';
import type { AccessRequestInput, ListRequestsQuery } from './schemas.js';
import { resolveSessionScope } from './scope.js';
import { isAdmin, isOverseer } from './principal-rules.js';
import { assertSteppedUp } from './step-up-rules.js';

export interface RequestDeps {
  readonly store: RequestStore;
  /** Requests and approvals on a locked profile are refused to outsiders (recorded as change.denied). */
  readonly lockdown: LockdownStore;
  readonly audit: AuditWriter;
  readonly notifier: RequestNotifier;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Members see every request and may revoke any approved one. */
  readonly adminGroup: string;
  /** Members see every request. */
  readonly securityGroup: string;
  /** The web console's address (ending in `/`): notices link to `<consoleUrl>requests/<id>`. */
  readonly consoleUrl: string;
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

export type RevokeRequestDeps = RequestDeps & CutOffDeps;
export type { PublicRequest };

/** Who records the expiry of a request nobody decided. */
export const EXPIRY_PRINCIPAL: Principal = { id: 'tvm:expiry', groups: [], issuer: '' };

/** The most requests one listing returns (newest first); `truncated` says when there were more. */
export const MAX_LISTED_REQUESTS = 500;
/** Reads and conditional writes before giving up on a request that keeps changing (each lost round is someone else's step). */
const MAX_ROUNDS = 4;
/** A startAt a little in the past is a clock's skew, not a request for the past. */
const START_SKEW_MS = 60_000;
const MAX_START_AHEAD_MS = 30 * 86_400_000;
/**
 * Pending requests one person may have at once, counted in the same transaction as every change:
 * approvers' listings read every pending request, so no one's flood may bury everyone else's.
 */
export const MAX_PENDING_PER_REQUESTER = 10;

type RequestEventType = RequestNotice['type'];

/**
 * POST /requests:
 * 1. The profile must exist and not be locked down against the caller (LOCKDOWN_ACTIVE, recorded),
 *    and be requestable (NOT_REQUESTABLE).
 * 2. The duration must be within the profile's `requestable.maxDurationSeconds`
 *    (DURATION_OUT_OF_RANGE); a reason is required when the profile says so; a scope must be within
 *    the profile's (SCOPE_NOT_GRANTED) and render a session policy STS takes (SCOPE_TOO_LARGE).
 * 3. At most MAX_PENDING_PER_REQUESTER pending requests per person (TOO_MANY_PENDING_REQUESTS).
 * 4. Store it pending, with its `request.created` event, while the profile is still the one read.
 */
export async function createRequest(deps: RequestDeps, principal: Principal, input: AccessRequestInput, meta: RequestMeta): Promise<PublicRequest> {
  const now = deps.clock.now();
  const [profile, lockdown] = await Promise.all([deps.store.getProfile(input.profile), deps.lockdown.getLockdown()]);
  if (!profile) throw new NotFoundError(`profile "${input.profile}" does not exist`);
  await refuseChangeIfLockedOut(deps, { principal, meta, action: 'request.created' }, lockdown, profile);
  const requestable = profile.requestable;
  if (!requestable) throw new NotRequestableError(`profile "${profile.name}" takes no access requests; ask an admin for a grant`);
  await assertSteppedUpOrRecord(deps, { principal, meta, action: 'request.created' }, profile, now);
  if (input.durationSeconds > requestable.maxDurationSeconds) {
    throw new DurationOutOfRangeError(
      `body.durationSeconds: profile "${profile.name}" may be requested for at most ${requestable.maxDurationSeconds} seconds`,
    );
  }
  if (requestable.requireReason && input.reason === undefined) {
    throw new ValidationError(`body.reason: required for requests on profile "${profile.name}"`);
  }
  if (input.scope) resolveSessionScope({ requested: input.scope, profile: profile.scope });
  if (input.startAt !== undefined) {
    const startAt = Date.parse(input.startAt);
    if (startAt < now.getTime() - START_SKEW_MS) throw new ValidationError('body.startAt: must not be in the past');
    if (startAt > now.getTime() + MAX_START_AHEAD_MS) throw new ValidationError('body.startAt: must be within 30 days');
  }

  const createdAt = now.toISOString();
  const request: AccessRequest = {
    id: deps.ids.next(),
    profile: profile.name,
    profileGeneration: profile.generation,
    roleArn: profile.roleArn,
    requester: principal.id,
    requesterGroups: [...principal.groups],
    durationSeconds: input.durationSeconds,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.scope ? { scope: input.scope } : {}),
    ...(input.startAt !== undefined ? { startAt: new Date(input.startAt).toISOString() } : {}),
    status: 'pending',
    approvals: [],
    approvalsRequired: requestable.approvals,
    approverGroups: [...requestable.approverGroups],
    createdAt,
    expiresAt: new Date(now.getTime() + requestable.pendingSeconds * 1000).toISOString(),
    history: [{ action: 'created', by: principal.id, at: createdAt, ...(input.reason !== undefined ? { comment: input.reason } : {}) }],
    version: 1,
  };
  const created = await deps.store.createRequest(request, requestEvent(deps, now, 'request.created', principal, meta, request), MAX_PENDING_PER_REQUESTER);
  if (!created) {
    const pending = await deps.store.pendingCount(principal.id);
    if (pending >= MAX_PENDING_PER_REQUESTER) {
      throw new TooManyPendingRequestsError(`you have ${pending} pending requests, the most one person may have; cancel one or wait for a decision`);
    }
    throw new ConflictError(`profile "${profile.name}", or your pending requests, changed while the request was being made; retry`);
  }
  await announce(deps, 'request.created', request, principal);
  return toPublicRequest(request, now);
}

/**
 * POST /requests/{id}/approve, by a member of the profile's approver groups other than the
 * requester (SELF_APPROVAL_FORBIDDEN), once each (ALREADY_APPROVED), while pending
 * (REQUEST_ALREADY_DECIDED). During a lockdown of the profile both the approver and the requester
 * must be on its allow list (LOCKDOWN_ACTIVE, recorded). The approval that completes the quorum
 * creates the grant (for the requester, from the approval or startAt, for the requested duration,
 * no delegation) in the same transaction that marks the request approved.
 */
export function approveRequest(deps: RequestDeps, principal: Principal, id: string, comment: string | undefined, meta: RequestMeta): Promise<PublicRequest> {
  return changeRequest(deps, principal, id, meta, DECISION, async ({ request, profile, now }) => {
    if (samePerson(request.requester, principal.id)) throw new SelfApprovalForbiddenError('you cannot approve your own request');
    // Profiles are public to callers: saying this one changed tells an outsider nothing new.
    const current = sameProfile(request, profile);
    assertApprover(deps, principal, current);
    // Approving access to a restricted profile is as sensitive as using it.
    await assertSteppedUpOrRecord(deps, { principal, meta, action: 'request.approved', request }, current, now);
    await assertPending(deps, request, now, meta);
    if (request.approvals.some((approval) => samePerson(approval.by, principal.id))) {
      throw new AlreadyApprovedError(`you already approved request ${request.id}; it needs another approver`);
    }
    const lockdown = await deps.lockdown.getLockdown();
    await refuseChangeIfLockedOut(deps, { principal, meta, action: 'request.approved' }, lockdown, current);
    if (locksProfile(lockdown, current) && !isAllowed(lockdown, { id: request.requester, groups: request.requesterGroups })) {
      await recordRefusal(deps, principal, meta, current, { action: 'request.approved', code: 'LOCKDOWN_ACTIVE', request });
      throw new LockdownActiveError(`profile "${current.name}" is locked down and the requester is not on its allow list; see GET /lockdown`);
    }
    const at = now.toISOString();
    const approvals = [...request.approvals, { by: principal.id, at, ...(comment !== undefined ? { comment } : {}) }];
    const step = stepOf('approved', principal, at, comment);
    // The profile may have been tightened since the request: its current quorum counts too.
    const required = Math.max(request.approvalsRequired, current.requestable?.approvals ?? 1);
    if (approvals.length < required) {
      return { next: { ...request, approvals, approvalsRequired: required, history: [...request.history, step] }, type: 'request.approved' };
    }
    const grant = grantFor(deps, principal, request, current, now);
    return {
      next: {
        ...request,
        status: 'approved',
        approvals,
        approvalsRequired: required,
        grantId: grant.id,
        grantValidFrom: grant.validFrom,
        grantValidUntil: grant.validUntil,
        history: [...request.history, step],
      },
      type: 'request.approved',
      effects: { createGrant: { grant, profileUpdatedAt: current.updatedAt, lockdownVersion: lockdown?.version ?? 0 }, leavesPending: true },
      detail: { grant: { ...grant } },
    };
  });
}

/** POST /requests/{id}/deny, by an approver other than the requester, while pending; says why. */
export function denyRequest(deps: RequestDeps, principal: Principal, id: string, comment: string, meta: RequestMeta): Promise<PublicRequest> {
  return changeRequest(deps, principal, id, meta, DECISION, async ({ request, profile, now }) => {
    if (samePerson(request.requester, principal.id)) throw new SelfApprovalForbiddenError('you cannot decide your own request; cancel it instead');
    assertApprover(deps, principal, profile);
    await assertPending(deps, request, now, meta);
    const step = stepOf('denied', principal, now.toISOString(), comment);
    return { next: { ...request, status: 'denied', history: [...request.history, step] }, type: 'request.denied', effects: { leavesPending: true } };
  });
}

/** POST /requests/{id}/cancel, by the requester, while pending. */
export function cancelRequest(deps: RequestDeps, principal: Principal, id: string, comment: string | undefined, meta: RequestMeta): Promise<PublicRequest> {
  return changeRequest(deps, principal, id, meta, OWN_STEP, async ({ request, now }) => {
    if (request.requester !== principal.id) throw new ForbiddenError('only the requester can cancel a request; approvers deny it');
    await assertPending(deps, request, now, meta);
    const step = stepOf('cancelled', principal, now.toISOString(), comment);
    return { next: { ...request, status: 'cancelled', history: [...request.history, step] }, type: 'request.cancelled', effects: { leavesPending: true } };
  });
}

export interface RevokedRequest extends PublicRequest, Pick<CutOffReport, 'revokedSessions' | 'sessionsNotCut' | 'roleWideFallback'> {}

/**
 * POST /requests/{id}/revoke, by the requester, an approver or an admin, once approved: the request
 * becomes revoked and its grant (if still active) is revoked with the order to cut its sessions off,
 * in one transaction; the order is then carried out (cut-off-sessions.ts), as DELETE /grants does.
 */
export async function revokeRequest(deps: RevokeRequestDeps, principal: Principal, id: string, comment: string | undefined, meta: RequestMeta): Promise<RevokedRequest> {
  let order: RequestChangeEffects['order'];
  const revoked = await changeRequest(deps, principal, id, meta, OWN_STEP, async ({ request, profile, now }) => {
    order = undefined;
    const mayRevoke = request.requester === principal.id || isApprover(principal, profile) || isAdmin(deps, principal);
    if (!mayRevoke) throw new ForbiddenError('only the requester, an approver or an admin can revoke a request');
    if (request.status === 'pending') throw new ConflictError(`request ${request.id} is still pending: cancel or deny it instead`);
    if (request.status !== 'approved') throw alreadyDecided(request);
    // By its key, consistently: a grant not found is never taken for one already revoked.
    const grant = await deps.store.getGrantOf(request);
    if (!grant) throw new ConflictError(`the grant of request ${request.id} could not be read yet; retry`);
    const step = stepOf('revoked', principal, now.toISOString(), comment);
    const next: AccessRequest = { ...request, status: 'revoked', history: [...request.history, step] };
    if (grant.status !== 'active') return { next, type: 'request.revoked' };
    // The role asked for, and every role the profile names (or named) now, if it is still the same one.
    const current = profile?.generation === request.profileGeneration ? rolesOf(profile, now) : [];
    order = newCutOffOrder(deps.ids, { principal, meta, now }, {
      cause: 'grant-revoked',
      revocations: (before) => [{ kind: 'grant', grantId: grant.id, before }],
      roles: distinctRoles([request.roleArn, ...current]),
      context: { grantId: grant.id, accessRequestId: request.id },
    });
    return {
      next,
      type: 'request.revoked',
      effects: { revokeGrant: grant, order },
      detail: { revokedGrantIds: [grant.id], cutOffOrder: order.id },
    };
  });
  const report = order && order.roles.length > 0 ? await carryOutCutOff(deps, order, meta) : undefined;
  return { ...revoked, revokedSessions: report?.revokedSessions ?? [], sessionsNotCut: report?.sessionsNotCut ?? [], roleWideFallback: report?.roleWideFallback ?? false };
}

/** GET /requests/{id}: for the requester, the profile's approvers, tvm-security and tvm-admin; 404 to anyone else. */
export async function getRequest(deps: Pick<RequestDeps, 'store' | 'clock' | 'adminGroup' | 'securityGroup'>, principal: Principal, id: string): Promise<PublicRequest> {
  const request = await deps.store.getRequest(id);
  const profile = request ? await deps.store.getProfile(request.profile) : undefined;
  if (!request || !maySee(deps, principal, request, profile)) throw notFound(id);
  return toPublicRequest(request, deps.clock.now());
}

export interface RequestListingResult {
  readonly requests: PublicRequest[];
  /** More requests matched than one listing returns (MAX_LISTED_REQUESTS, newest first). */
  readonly truncated?: true;
}

/**
 * GET /requests: the caller's own (`mine`), and otherwise also the pending ones they may decide now
 * (by the profiles' current approver groups); tvm-security and tvm-admin see every request. Newest
 * first; `status` filters by the status as of now (a pending request past its expiry is expired).
 */
export async function listRequests(
  deps: Pick<RequestDeps, 'store' | 'clock' | 'adminGroup' | 'securityGroup'>,
  principal: Principal,
  query: ListRequestsQuery,
): Promise<RequestListingResult> {
  const now = deps.clock.now();
  const overseer = isOverseer(deps, principal);
  const read = (listing: RequestListing) => deps.store.listRequests(listing, MAX_LISTED_REQUESTS + 1);
  let found: AccessRequest[];
  if (query.mine === true) found = await read({ requester: principal.id });
  else if (overseer) found = await read(query.status === 'pending' ? { pending: true } : { all: true });
  else {
    const [own, pending, profiles] = await Promise.all([read({ requester: principal.id }), read({ pending: true }), deps.store.listProfiles()]);
    const byName = new Map(profiles.map((profile) => [profile.name, profile]));
    const decidable = pending.filter((request) => !samePerson(request.requester, principal.id) && isApprover(principal, byName.get(request.profile)));
    found = [...own, ...decidable];
  }
  const unique = [...new Map(found.map((request) => [request.id, request])).values()];
  const requests = unique
    .map((request) => toPublicRequest(request, now))
    .filter((request) => query.status === undefined || request.status === query.status)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  return requests.length > MAX_LISTED_REQUESTS ? { requests: requests.slice(0, MAX_LISTED_REQUESTS), truncated: true } : { requests };
}

/**
 * The schedule: every pending request past its expiry becomes expired (recorded and announced).
 * Returns the ids it expired; one that changed meanwhile is left to its new state.
 */
export async function expireRequests(deps: RequestDeps, meta: RequestMeta): Promise<string[]> {
  const now = deps.clock.now();
  // Pending requests are bounded (MAX_PENDING_PER_REQUESTER each): one read finds every one due.
  const due = (await deps.store.listRequests({ pending: true }, Number.MAX_SAFE_INTEGER)).filter((request) => isPastExpiry(request, now));
  const expired: string[] = [];
  for (const listed of due) {
    // The index may lag: the request as stored decides.
    const request = await deps.store.getRequest(listed.id);
    if (request && request.status === 'pending' && isPastExpiry(request, now) && (await recordExpiry(deps, request, now, meta))) expired.push(request.id);
  }
  return expired;
}

/** The request as callers see it now: a pending request past its expiry is expired, whether or not that is recorded yet. */
export function toPublicRequest(request: AccessRequest, now: Date): PublicRequest {
  const { profileGeneration: _generation, requesterGroups: _groups, ...rest } = request;
  return { ...rest, status: effectiveStatus(request, now) };
}

// ---------------------------------------------------------------------------------------------

interface Change {
  readonly next: AccessRequest;
  readonly type: RequestEventType;
  readonly effects?: RequestChangeEffects;
  /** What the audit event records besides the request's state. */
  readonly detail?: Record<string, unknown>;
}

/**
 * Who gets 404 for a request they may not see. Approving and denying answer FORBIDDEN to anyone
 * but an approver, as the API promises; the other steps keep the request hidden from outsiders.
 */
interface Visibility {
  readonly hideFromOutsiders: boolean;
}
const DECISION: Visibility = { hideFromOutsiders: false };
const OWN_STEP: Visibility = { hideFromOutsiders: true };

interface Current {
  readonly request: AccessRequest;
  /** The profile now (undefined when deleted). */
  readonly profile: Profile | undefined;
  readonly now: Date;
}

/**
 * Reads the request (404 to those who may not see it), lets `decide` plan the change, and writes it
 * conditionally on the version read; a lost race reads again, so two decisions at once never both
 * count on the same state (two approvals never make two grants).
 */
async function changeRequest(
  deps: RequestDeps,
  principal: Principal,
  id: string,
  meta: RequestMeta,
  visibility: Visibility,
  decide: (current: Current) => Promise<Change>,
): Promise<PublicRequest> {
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const request = await deps.store.getRequest(id);
    const profile = request ? await deps.store.getProfile(request.profile) : undefined;
    if (!request || (visibility.hideFromOutsiders && !maySee(deps, principal, request, profile))) throw notFound(id);
    const now = deps.clock.now();
    const change = await decide({ request, profile, now });
    const next: AccessRequest = { ...change.next, version: request.version + 1 };
    const written = await deps.store.updateRequest(
      next,
      request.version,
      requestEvent(deps, now, change.type, principal, meta, next, change.detail),
      change.effects,
    );
    if (written) {
      await announce(deps, change.type, next, principal);
      return toPublicRequest(next, now);
    }
  }
  throw new ConflictError(`request ${id} kept changing while this step was being recorded; read it again and retry`);
}

/** Pending and not past its expiry; a request found past it is recorded expired first, then refused. */
async function assertPending(deps: RequestDeps, request: AccessRequest, now: Date, meta: RequestMeta): Promise<void> {
  if (request.status !== 'pending') throw alreadyDecided(request);
  if (!isPastExpiry(request, now)) return;
  await recordExpiry(deps, request, now, meta);
  throw alreadyDecided({ ...request, status: 'expired' });
}

async function recordExpiry(deps: RequestDeps, request: AccessRequest, now: Date, meta: RequestMeta): Promise<boolean> {
  const next: AccessRequest = {
    ...request,
    status: 'expired',
    history: [...request.history, { action: 'expired', by: EXPIRY_PRINCIPAL.id, at: now.toISOString() }],
    version: request.version + 1,
  };
  const written = await deps.store.updateRequest(next, request.version, requestEvent(deps, now, 'request.expired', EXPIRY_PRINCIPAL, meta, next), {
    leavesPending: true,
  });
  if (written) await announce(deps, 'request.expired', next, EXPIRY_PRINCIPAL);
  return written;
}

function assertApprover(deps: RequestDeps, principal: Principal, profile: Profile | undefined): void {
  if (!profile?.requestable?.approverGroups.some((group) => principal.groups.includes(group))) {
    throw new ForbiddenError(`only members of the approver groups of profile "${profile?.name ?? '?'}" decide its requests`);
  }
}

/** A member of the profile's approver groups as the profile stands now. */
function isApprover(principal: Principal, profile: Profile | undefined): boolean {
  return (profile?.requestable?.approverGroups ?? []).some((group) => principal.groups.includes(group));
}

/** Ids compared as one person for self-approval and double approval: folding case only ever refuses more. */
const samePerson = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function maySee(deps: Pick<RequestDeps, 'adminGroup' | 'securityGroup'>, principal: Principal, request: AccessRequest, profile: Profile | undefined): boolean {
  return (
    request.requester === principal.id ||
    isOverseer(deps, principal) ||
    (profile?.generation === request.profileGeneration && isApprover(principal, profile))
  );
}

/** An approval the lockdown refused for the requester's sake, on the record as change.denied. */
/** A refused change on a profile, recorded as `change.denied` (best effort: the refusal stands either way). */
async function recordRefusal(
  deps: RequestDeps,
  principal: Principal,
  meta: RequestMeta,
  profile: Profile,
  refusal: { readonly action: 'request.created' | 'request.approved'; readonly code: string; readonly request?: AccessRequest },
): Promise<void> {
  const { action, code, request } = refusal;
  const event = adminEvent(deps.clock.now(), deps.ids.next(), 'change.denied', principal, meta, {
    profile: profile.name,
    detail: { action, code, roleArn: profile.roleArn, ...(request ? { accessRequestId: request.id, requester: request.requester } : {}) },
  });
  await deps.audit.append(event).catch((error: unknown) => deps.warn?.('a refused change could not be recorded', { action, error }));
}

/** assertSteppedUp, with the refusal recorded as a vend's is. */
async function assertSteppedUpOrRecord(
  deps: RequestDeps,
  change: { readonly principal: Principal; readonly meta: RequestMeta; readonly action: 'request.created' | 'request.approved'; readonly request?: AccessRequest },
  profile: Profile,
  now: Date,
): Promise<void> {
  try {
    assertSteppedUp(profile, change.principal, now);
  } catch (error) {
    if (error instanceof StepUpRequiredError) await recordRefusal(deps, change.principal, change.meta, profile, { ...change, code: error.code });
    throw error;
  }
}

/**
 * The profile the request was made for, as it is now: deleted, re-created, re-pointed at another
 * role, made unrequestable or allowing less time than asked is a conflict (ask again).
 */
function sameProfile(request: AccessRequest, profile: Profile | undefined): Profile {
  const conflict = (why: string) => new ConflictError(`profile "${request.profile}" ${why} since the request was made; ask again`);
  if (!profile || profile.generation !== request.profileGeneration) throw conflict('was deleted or re-created');
  if (!profile.requestable) throw conflict('stopped taking requests');
  if (!sameRole(profile.roleArn, request.roleArn)) throw conflict('was pointed at another role');
  if (request.durationSeconds > profile.requestable.maxDurationSeconds) throw conflict(`allows at most ${profile.requestable.maxDurationSeconds} seconds`);
  return profile;
}

function grantFor(deps: RequestDeps, approver: Principal, request: AccessRequest, profile: Profile, now: Date): Grant {
  // The profile may have narrowed since: the grant must still fit it, as at the request.
  if (request.scope) resolveSessionScope({ requested: request.scope, profile: profile.scope });
  const start = Math.max(now.getTime(), request.startAt === undefined ? 0 : Date.parse(request.startAt));
  return {
    id: deps.ids.next(),
    profile: profile.name,
    profileGeneration: profile.generation,
    subject: { type: 'user', id: request.requester },
    validFrom: new Date(start).toISOString(),
    validUntil: new Date(start + request.durationSeconds * 1000).toISOString(),
    ...(request.scope ? { scope: request.scope } : {}),
    canDelegate: false,
    depth: 0,
    requestId: request.id,
    status: 'active',
    version: 1,
    createdBy: approver.id,
    createdAt: now.toISOString(),
    ...(request.reason !== undefined ? { reason: request.reason } : {}),
  };
}

const isPastExpiry = (request: AccessRequest, now: Date) => Date.parse(request.expiresAt) <= now.getTime();

function effectiveStatus(request: AccessRequest, now: Date): AccessRequestStatus {
  return request.status === 'pending' && isPastExpiry(request, now) ? 'expired' : request.status;
}

const stepOf = (action: AccessRequestStep['action'], principal: Principal, at: string, comment: string | undefined): AccessRequestStep => ({
  action,
  by: principal.id,
  at,
  ...(comment !== undefined ? { comment } : {}),
});

function alreadyDecided(request: AccessRequest): RequestAlreadyDecidedError {
  return new RequestAlreadyDecidedError(`request ${request.id} is ${request.status}; nothing more can be decided on it`, {
    details: { status: request.status },
  });
}

// Also to those who may not see it: whether a request id exists is nobody else's business.
const notFound = (id: string) => new NotFoundError(`request ${id} does not exist`);

function requestEvent(
  deps: Pick<RequestDeps, 'ids'>,
  at: Date,
  type: RequestEventType,
  principal: Principal,
  meta: RequestMeta,
  request: AccessRequest,
  detail: Record<string, unknown> = {},
): AdminAuditEvent {
  return adminEvent(at, deps.ids.next(), type, principal, meta, {
    profile: request.profile,
    ...(request.grantId !== undefined ? { grantId: request.grantId } : {}),
    detail: {
      accessRequestId: request.id,
      requester: request.requester,
      status: request.status,
      approvals: request.approvals.map((approval) => approval.by),
      approvalsRequired: request.approvalsRequired,
      ...(request.history.at(-1)?.comment !== undefined ? { comment: request.history.at(-1)?.comment } : {}),
      ...detail,
    },
  });
}

/** After the step is recorded: a notice that cannot be delivered is logged, never undoes the step. */
async function announce(deps: RequestDeps, type: RequestEventType, request: AccessRequest, by: Principal): Promise<void> {
  const notice: RequestNotice = { type, request: toPublicRequest(request, deps.clock.now()), by: by.id, link: `${deps.consoleUrl}requests/${encodeURIComponent(request.id)}` };
  try {
    await deps.notifier.notify(notice);
  } catch (error) {
    deps.warn?.('a request notice could not be delivered', { type, accessRequestId: request.id, error });
  }
}
