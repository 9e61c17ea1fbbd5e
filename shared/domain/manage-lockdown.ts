import { adminEvent } from './audit.js';
import { carryOutCutOff, newCutOffOrder, type CutOffDeps, type CutOffReport } from './cut-off-sessions.js';
import { ConflictError, NotFoundError, SecondApproverRequiredError } from './errors.js';
import type { CutOffOrder, Lockdown, Principal, RequestMeta } from './model.js';
import type { Clock, DelegationStore, IdGenerator, LockdownStore } from './ports.js';
import { distinctRoles, rolesOf } from './roles.js';
import type { LockdownInput, LockdownLiftInput } from './schemas.js';
import { toSourceIdentity } from './source-identity.js';

export interface LockdownDeps {
  readonly lockdown: LockdownStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface ActivateLockdownDeps extends LockdownDeps, CutOffDeps {
  readonly store: DelegationStore;
}

/** What any caller may know about the lockdown: whether it is on, and for which profiles. */
export interface LockdownStatus {
  readonly active: boolean;
  readonly profiles?: readonly string[];
}

/** What tvm-security and tvm-admin see besides: the roles, the allow list, why, who and when. */
export interface LockdownDetails extends LockdownStatus {
  readonly roles?: readonly string[];
  readonly allow?: Lockdown['allow'];
  readonly reason?: string;
  readonly activatedBy?: string;
  readonly activatedAt?: string;
}

/**
 * GET /lockdown: anyone may learn that profiles are locked (so tools can explain a refusal); the
 * allow list, the reason and the activator only tvm-security and tvm-admin, as they would tell the
 * person under suspicion who suspects them and how to get through.
 */
export async function getLockdownStatus(
  deps: Pick<LockdownDeps, 'lockdown'> & { readonly privilegedGroups: readonly string[] },
  principal: Principal,
): Promise<LockdownDetails> {
  const lockdown = await deps.lockdown.getLockdown();
  if (!lockdown?.active) return { active: false };
  if (!principal.groups.some((group) => deps.privilegedGroups.includes(group))) {
    return { active: true, profiles: lockdown.profiles };
  }
  return details(lockdown);
}

function details(lockdown: Lockdown): LockdownDetails {
  const { active, profiles, roles, allow, reason, activatedBy, activatedAt } = lockdown;
  return { active, profiles, roles, allow, reason, activatedBy, activatedAt };
}

/**
 * PUT /lockdown (tvm-security):
 * 1. Resolve the roles the named profiles point at (for `["*"]`: every role). An activator who
 *    tightens their own lockdown keeps every role it locked.
 * 2. Loosening an active lockdown is a lift in disguise: its activator needs a second person.
 * 3. Write the new lockdown (conditional on the version read: a concurrent change gets 409), with
 *    revokeActiveSessions its cut-off order in the same transaction. From this moment every vend
 *    reads it and refuses callers outside `allow` on any profile of a locked role.
 * 4. With revokeActiveSessions, carry the cut-off out: on each locked role, deny every session
 *    issued before the cut-off time (the decision plus CUT_OFF_GRACE_SECONDS, so a vend in flight
 *    is covered) except those of the allow list's principals and those tagged as vended by an
 *    allowed caller during this lockdown. A session is never spared for the groups its issuance
 *    recorded: membership may have ended since. Members of allowed groups vend again.
 */
export async function activateLockdown(
  deps: ActivateLockdownDeps,
  principal: Principal,
  input: LockdownInput,
  meta: RequestMeta,
): Promise<LockdownDetails & Pick<CutOffReport, 'revokedSessions' | 'sessionsNotCut'> & { fallback: boolean }> {
  const now = deps.clock.now();
  const [current, allProfiles] = await Promise.all([deps.lockdown.getLockdown(), deps.store.listProfiles()]);
  const allow = { groups: input.allow.groups ?? [], principals: input.allow.principals ?? [] };
  const tightening = current?.active === true && current.activatedBy === principal.id;
  if (tightening && !isAtLeastAsStrict(input.profiles, allow, current)) {
    throw new SecondApproverRequiredError(
      'a lockdown may only be tightened by whoever activated it; loosening it needs a second member of security',
    );
  }
  const lockedNames = new Set<string>(input.profiles);
  // A profile's former roles too: re-pointed a moment ago, its sessions there live on.
  const named = allProfiles.filter((profile) => lockedNames.has(profile.name)).flatMap((profile) => rolesOf(profile, now));
  const roles = locksEveryProfile(input.profiles) ? [] : distinctRoles([...(tightening ? (current?.roles ?? []) : []), ...named]);
  const next: Lockdown = {
    active: true,
    profiles: input.profiles,
    roles,
    allow,
    reason: input.reason,
    activatedBy: principal.id,
    activatedAt: now.toISOString(),
    version: (current?.version ?? 0) + 1,
  };
  const lockedRoles = locksEveryProfile(next.profiles) ? distinctRoles(allProfiles.flatMap((profile) => rolesOf(profile, now))) : roles;
  const order = input.revokeActiveSessions && lockedRoles.length > 0 ? cutOffOrder(deps, principal, meta, next, lockedRoles, now) : undefined;
  const written = await deps.lockdown.putLockdown(
    next,
    current?.version ?? 0,
    adminEvent(now, deps.ids.next(), 'lockdown.activated', principal, meta, {
      profiles: input.profiles,
      detail: {
        profiles: [...next.profiles],
        roles,
        allow: next.allow,
        reason: next.reason,
        revokeActiveSessions: input.revokeActiveSessions,
        ...(order ? { cutOffOrder: order.id, cutOffBefore: order.revocations[0]?.before } : {}),
      },
    }),
    order,
  );
  if (!written) throw new ConflictError('the lockdown was changed by someone else meanwhile; read it again and retry');

  const cut = order ? await carryOutCutOff(deps, order, meta) : { revokedSessions: [], sessionsNotCut: [], roleWideFallback: false };
  return { ...details(next), revokedSessions: cut.revokedSessions, sessionsNotCut: cut.sessionsNotCut, fallback: cut.roleWideFallback };
}

const locksEveryProfile = (profiles: readonly string[]) => profiles.includes('*');

function isAtLeastAsStrict(profiles: readonly string[], allow: Lockdown['allow'], current: Lockdown): boolean {
  const covers = locksEveryProfile(profiles) || (!locksEveryProfile(current.profiles) && current.profiles.every((p) => profiles.includes(p)));
  const noWiderAllow =
    allow.groups.every((g) => current.allow.groups.includes(g)) && allow.principals.every((p) => current.allow.principals.includes(p));
  return covers && noWiderAllow;
}

/** One lockdown statement per locked role. */
function cutOffOrder(
  deps: Pick<LockdownDeps, 'ids'>,
  principal: Principal,
  meta: RequestMeta,
  lockdown: Lockdown,
  roles: readonly string[],
  now: Date,
): CutOffOrder {
  return newCutOffOrder(deps.ids, { principal, meta, now }, {
    cause: 'lockdown',
    revocations: (before) => [
      {
        kind: 'lockdown',
        allowedSourceIdentities: lockdown.allow.principals.map(toSourceIdentity),
        exemptTag: String(lockdown.version),
        before,
      },
    ],
    roles,
    context: { lockdownVersion: String(lockdown.version) },
  });
}

/**
 * DELETE /lockdown (tvm-security, two-person rule):
 * 1. There must be an active lockdown (404 otherwise).
 * 2. Its activator may not lift it (SECOND_APPROVER_REQUIRED).
 * 3. Write it inactive, conditional on the version read, with a `lockdown.lifted` event.
 * Sessions cut off while it was active stay cut off.
 */
export async function liftLockdown(
  deps: LockdownDeps,
  principal: Principal,
  input: LockdownLiftInput,
  meta: RequestMeta,
): Promise<LockdownStatus> {
  const current = await deps.lockdown.getLockdown();
  if (!current?.active) throw new NotFoundError('no lockdown is active');
  if (current.activatedBy === principal.id) {
    throw new SecondApproverRequiredError('a lockdown must be lifted by someone other than whoever activated it');
  }
  const now = deps.clock.now();
  const next: Lockdown = {
    ...current,
    active: false,
    liftedBy: principal.id,
    liftedAt: now.toISOString(),
    liftReason: input.reason,
    version: current.version + 1,
  };
  const written = await deps.lockdown.putLockdown(
    next,
    current.version,
    adminEvent(now, deps.ids.next(), 'lockdown.lifted', principal, meta, {
      profiles: current.profiles,
      detail: { reason: input.reason, activatedBy: current.activatedBy, activatedAt: current.activatedAt },
    }),
  );
  if (!written) throw new ConflictError('the lockdown was changed by someone else meanwhile; read it again and retry');
  return { active: false };
}
