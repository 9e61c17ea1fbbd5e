import { appliesTo, grantSessionCeiling, isUsable, subjectsOf } from './grant-selection.js';
import type { Principal, Scope, Subject } from './model.js';
import type { Clock, DelegationStore } from './ports.js';

export interface UsableGrant {
  readonly grantId: string;
  readonly profile: string;
  readonly subject: Subject;
  readonly validUntil: string;
  /** The longest session this grant can vend now: min(grant, profile, time left on the grant). */
  readonly maxSessionSeconds: number;
  readonly scope?: Scope;
  readonly canDelegate: boolean;
}

export interface CallerDescription {
  readonly principal: string;
  readonly groups: readonly string[];
  readonly grants: UsableGrant[];
}

/**
 * GET /me:
 * 1. Read the grants held by the caller and each of its groups.
 * 2. Keep those usable now whose profile still exists (the same generation the grant was made for).
 * 3. Report each with the limits that would apply to a vend now.
 */
export async function describeCaller(
  deps: { readonly store: DelegationStore; readonly clock: Clock },
  principal: Principal,
): Promise<CallerDescription> {
  const now = deps.clock.now();
  const grants = (await deps.store.listGrantsForSubjects(subjectsOf(principal))).filter(
    (grant) => grant.status === 'active' && isUsable(grant, now),
  );
  const profileNames = [...new Set(grants.map((grant) => grant.profile))];
  const profiles = new Map(
    (await Promise.all(profileNames.map((name) => deps.store.getProfile(name))))
      .filter((profile) => profile !== undefined)
      .map((profile) => [profile.name, profile]),
  );
  const usable: UsableGrant[] = [];
  for (const grant of grants) {
    const profile = profiles.get(grant.profile);
    if (!profile || !appliesTo(grant, profile)) continue;
    const scope = grant.scope ?? profile.scope;
    usable.push({
      grantId: grant.id,
      profile: grant.profile,
      subject: grant.subject,
      validUntil: grant.validUntil,
      maxSessionSeconds: grantSessionCeiling(grant, profile, now),
      ...(scope ? { scope } : {}),
      canDelegate: grant.canDelegate,
    });
  }
  usable.sort((a, b) => a.profile.localeCompare(b.profile) || a.grantId.localeCompare(b.grantId));
  return { principal: principal.id, groups: principal.groups, grants: usable };
}
