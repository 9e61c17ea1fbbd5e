// What an active lockdown locks and whom it lets through. It locks ROLES: the roles its profiles
// named when it was activated (every role for `["*"]`), compared as IAM compares them (roles.ts),
// and its profiles by name as well. A second profile on a locked role is locked with it, whatever
// it is called: an alias is no way around a lockdown.
import { adminEvent } from './audit.js';
import { LockdownActiveError } from './errors.js';
import type { Lockdown, Principal, Profile, RequestMeta } from './model.js';
import type { AuditWriter, Clock, IdGenerator } from './ports.js';
import { roleKey } from './roles.js';

type ActiveLockdown = Lockdown & { readonly active: true };

export function locksEverything(lockdown: Lockdown | undefined): lockdown is ActiveLockdown {
  return lockdown?.active === true && lockdown.profiles.includes('*');
}

/** Whether sessions of this role are locked (the locked roles, or every role for `["*"]`). */
export function locksRole(lockdown: Lockdown | undefined, roleArn: string): lockdown is ActiveLockdown {
  if (lockdown?.active !== true) return false;
  if (lockdown.profiles.includes('*')) return true;
  const key = roleKey(roleArn);
  return (lockdown.roles ?? []).some((locked) => roleKey(locked) === key);
}

/** Whether a profile is locked: by its name, or by the role it names. */
export function locksProfile(lockdown: Lockdown | undefined, profile: Pick<Profile, 'name' | 'roleArn'>): lockdown is ActiveLockdown {
  return lockdown?.active === true && (lockdown.profiles.includes(profile.name) || locksRole(lockdown, profile.roleArn));
}

export function isAllowed(lockdown: Lockdown, principal: { readonly id: string; readonly groups: readonly string[] }): boolean {
  return lockdown.allow.principals.includes(principal.id) || principal.groups.some((g) => lockdown.allow.groups.includes(g));
}

/**
 * Refuses with LOCKDOWN_ACTIVE when any of `profiles` is locked and the caller is not on the allow
 * list. The message never repeats the lockdown's reason: it would tip off the person it is about.
 */
export function assertNotLockedOut(
  lockdown: Lockdown | undefined,
  principal: Principal,
  ...profiles: Pick<Profile, 'name' | 'roleArn'>[]
): void {
  const locked = profiles.find((profile) => locksProfile(lockdown, profile));
  if (locked && lockdown && !isAllowed(lockdown, principal)) {
    throw new LockdownActiveError(`profile "${locked.name}" is locked down; see GET /lockdown`, {
      details: { activatedAt: lockdown.activatedAt },
    });
  }
}

/**
 * The value of the LOCKDOWN_TAG session tag for a session an allowed caller vends on a locked profile, so the
 * lockdown's Deny, which also covers sessions vended a moment after it began, spares it.
 */
export function lockdownExemption(lockdown: Lockdown | undefined, principal: Principal, profile: Pick<Profile, 'name' | 'roleArn'>): string | undefined {
  if (!locksProfile(lockdown, profile) || !isAllowed(lockdown, principal)) return undefined;
  return String(lockdown.version);
}

/** The changes a lockdown refuses to outsiders, as recorded in `change.denied`. */
export type LockedChange =
  | 'profile.put'
  | 'profile.deleted'
  | 'grant.created'
  | 'engagement.created'
  | 'handover'
  | 'request.created'
  | 'request.approved';

/**
 * assertNotLockedOut for a change (not a vend): a refusal is also recorded as `change.denied`, so an
 * attempt to work around a lockdown (an alias profile, a grant on a locked role) is on the record
 * and raises `lockdown-breach-attempt`. Best effort: a lost record never turns the refusal into a yes.
 */
export async function refuseChangeIfLockedOut(
  deps: { readonly audit: AuditWriter; readonly clock: Clock; readonly ids: IdGenerator; readonly warn?: (message: string, data: Record<string, unknown>) => void },
  change: { readonly principal: Principal; readonly meta: RequestMeta; readonly action: LockedChange },
  lockdown: Lockdown | undefined,
  ...profiles: Pick<Profile, 'name' | 'roleArn'>[]
): Promise<void> {
  try {
    assertNotLockedOut(lockdown, change.principal, ...profiles);
  } catch (error) {
    const locked = profiles.find((profile) => locksProfile(lockdown, profile));
    const event = adminEvent(deps.clock.now(), deps.ids.next(), 'change.denied', change.principal, change.meta, {
      profile: locked?.name ?? profiles[0]?.name ?? '',
      detail: { action: change.action, code: 'LOCKDOWN_ACTIVE', roleArn: locked?.roleArn, profiles: profiles.map((p) => p.name) },
    });
    await deps.audit.append(event).catch((auditError: unknown) => {
      deps.warn?.('a refused change could not be recorded', { action: change.action, error: auditError });
    });
    throw error;
  }
}
