import { adminEvent, eventBase, type AuditEvent } from './audit.js';
import { ConflictError, LockdownActiveError, NotFoundError, SecondApproverRequiredError } from './errors.js';
import type { Lockdown, Principal, RequestMeta, RevokedSession } from './model.js';
import type { AuditLog, Clock, DelegationStore, IdGenerator, LockdownStore, SessionRevoker } from './ports.js';
import type { LockdownInput, LockdownLiftInput } from './schemas.js';
import { toSourceIdentity } from './source-identity.js';

export interface LockdownDeps {
  readonly lockdown: LockdownStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface ActivateLockdownDeps extends LockdownDeps {
  readonly store: DelegationStore;
  readonly audit: AuditLog;
  readonly revoker: SessionRevoker;
}

/** What any caller may know about the lockdown, so tools can explain a refusal. */
export interface LockdownStatus {
  readonly active: boolean;
  readonly profiles?: readonly string[];
  readonly allow?: Lockdown['allow'];
  readonly reason?: string;
  readonly activatedBy?: string;
  readonly activatedAt?: string;
}

export function isLocked(lockdown: Lockdown | undefined, profile: string): lockdown is Lockdown {
  return lockdown?.active === true && (lockdown.profiles.includes('*') || lockdown.profiles.includes(profile));
}

export function isAllowed(lockdown: Lockdown, principal: { readonly id: string; readonly groups: readonly string[] }): boolean {
  return lockdown.allow.principals.includes(principal.id) || principal.groups.some((g) => lockdown.allow.groups.includes(g));
}

/** Refuses with LOCKDOWN_ACTIVE when `profile` is locked and the caller is not on the allow list. */
export function assertNotLockedOut(lockdown: Lockdown | undefined, principal: Principal, profile: string): void {
  if (isLocked(lockdown, profile) && !isAllowed(lockdown, principal)) {
    throw new LockdownActiveError(`profile "${profile}" is locked down (${lockdown.reason}); see GET /lockdown`, {
      details: { activatedAt: lockdown.activatedAt },
    });
  }
}

export async function getLockdownStatus(deps: Pick<LockdownDeps, 'lockdown'>): Promise<LockdownStatus> {
  const lockdown = await deps.lockdown.getLockdown();
  if (!lockdown?.active) return { active: false };
  const { active, profiles, allow, reason, activatedBy, activatedAt } = lockdown;
  return { active, profiles, allow, reason, activatedBy, activatedAt };
}

/**
 * PUT /lockdown (tvm-security):
 * 1. Write the new lockdown (conditional on the version read: a concurrent change gets 409).
 *    From this moment every vend reads it and refuses callers outside `allow`.
 * 2. With revokeActiveSessions: find the live sessions on the locked profiles (from the audit
 *    trail), cut off everyone outside `allow` on each role with one lockdown statement, and record
 *    each cut session as `session.revoked`.
 */
export async function activateLockdown(
  deps: ActivateLockdownDeps,
  principal: Principal,
  input: LockdownInput,
  meta: RequestMeta,
): Promise<LockdownStatus & { revokedSessions: RevokedSession[]; fallback: boolean }> {
  const now = deps.clock.now();
  const current = await deps.lockdown.getLockdown();
  const allow = { groups: input.allow.groups ?? [], principals: input.allow.principals ?? [] };
  // Loosening an active lockdown is a lift in disguise: the activator needs a second person.
  if (current?.active && current.activatedBy === principal.id && !isAtLeastAsStrict(input.profiles, allow, current)) {
    throw new SecondApproverRequiredError(
      'a lockdown may only be tightened by whoever activated it; loosening it needs a second member of security',
    );
  }
  const next: Lockdown = {
    active: true,
    profiles: input.profiles,
    allow,
    reason: input.reason,
    activatedBy: principal.id,
    activatedAt: now.toISOString(),
    version: (current?.version ?? 0) + 1,
  };
  const written = await deps.lockdown.putLockdown(
    next,
    current?.version ?? 0,
    adminEvent(now, deps.ids.next(), 'lockdown.activated', principal, meta, {
      profiles: input.profiles,
      detail: { profiles: [...next.profiles], allow: next.allow, reason: next.reason, revokeActiveSessions: input.revokeActiveSessions },
    }),
  );
  if (!written) throw new ConflictError('the lockdown was changed by someone else meanwhile; read it again and retry');

  const cut = input.revokeActiveSessions ? await cutOffOutsiders(deps, principal, next, now, meta) : { revokedSessions: [], fallback: false };
  const { active, profiles, reason, activatedBy, activatedAt } = next;
  return { active, profiles, allow: next.allow, reason, activatedBy, activatedAt, ...cut };
}

function isAtLeastAsStrict(profiles: readonly string[], allow: Lockdown['allow'], current: Lockdown): boolean {
  const covers = profiles.includes('*') || (!current.profiles.includes('*') && current.profiles.every((p) => profiles.includes(p)));
  const noWiderAllow =
    allow.groups.every((g) => current.allow.groups.includes(g)) && allow.principals.every((p) => current.allow.principals.includes(p));
  return covers && noWiderAllow;
}

async function cutOffOutsiders(
  deps: ActivateLockdownDeps,
  principal: Principal,
  lockdown: Lockdown,
  now: Date,
  meta: RequestMeta,
): Promise<{ revokedSessions: RevokedSession[]; fallback: boolean }> {
  const profiles = (await deps.store.listProfiles()).filter((p) => isLocked(lockdown, p.name));
  const revokedSessions: RevokedSession[] = [];
  let fallback = false;
  for (const profile of profiles) {
    const live = await deps.audit.liveIssuancesForProfile(profile.name, now);
    const allowed = live.filter((event) => isAllowed(lockdown, { id: event.principal, groups: event.groups ?? [] }));
    const outsiders = live.filter((event) => !allowed.includes(event));
    // Allowed people keep their sessions: their SourceIdentities are exempt from the deny (the
    // named principals always; members of allowed groups as seen in their issuance records).
    const allowedSourceIdentities = [
      ...new Set([...lockdown.allow.principals.map(toSourceIdentity), ...allowed.map((event) => event.sourceIdentity)]),
    ];
    const result = await deps.revoker.revoke(
      profile.roleArn,
      [{ kind: 'lockdown', allowedSourceIdentities, before: now.toISOString() }],
      now,
    );
    fallback ||= result.fallback;
    for (const event of outsiders) {
      const session = { accessKeyId: event.accessKeyId, sourceIdentity: event.sourceIdentity, expiration: event.expiration };
      revokedSessions.push(session);
      await deps.audit.append(sessionRevokedEvent(deps, principal, meta, event.profile, session, 'lockdown', result.fallback));
    }
  }
  return { revokedSessions, fallback };
}

export function sessionRevokedEvent(
  deps: Pick<LockdownDeps, 'clock' | 'ids'>,
  principal: Principal,
  meta: RequestMeta,
  profile: string,
  session: RevokedSession,
  cause: string,
  roleWideFallback: boolean,
): AuditEvent {
  const at = deps.clock.now();
  return {
    ...eventBase(at, deps.ids.next(), principal, meta),
    type: 'session.revoked',
    profile,
    accessKeyId: session.accessKeyId,
    detail: { ...session, cause, roleWideFallback },
  };
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
