// Which grant lets a principal vend credentials for a profile, right now.
import { GrantExpiredError, NoGrantError } from './errors.js';
import { sessionCeiling, type SessionLimits } from './duration.js';
import type { Grant, Principal, Profile, Subject } from './model.js';

/** Everyone a principal acts as: the user, then each of its groups. */
export function subjectsOf(principal: Principal): Subject[] {
  const groups = [...new Set(principal.groups)];
  return [{ type: 'user', id: principal.id }, ...groups.map((id): Subject => ({ type: 'group', id }))];
}

/** Which grants GET /grants lists: every filter given must hold. */
export interface GrantFilter {
  readonly profile?: string;
  readonly subject?: Subject;
  /** The principal who created them. */
  readonly createdBy?: string;
}

export function matchesFilter(grant: Grant, filter: GrantFilter): boolean {
  return (
    (filter.profile === undefined || grant.profile === filter.profile) &&
    (filter.subject === undefined || (grant.subject.type === filter.subject.type && grant.subject.id === filter.subject.id)) &&
    (filter.createdBy === undefined || grant.createdBy === filter.createdBy)
  );
}

/**
 * A grant applies only to the profile generation it was made for: deleting a profile and creating
 * one of the same name does not revive the old grants.
 */
export function appliesTo(grant: Grant, profile: Profile): boolean {
  return grant.profile === profile.name && grant.profileGeneration === profile.generation;
}

/** The longest session a grant can vend now: min(grant, profile, 43,200, time left on the grant). */
export function grantSessionCeiling(grant: Grant, profile: Profile, now: Date): number {
  return sessionCeiling(grantLimits(grant, profile, now));
}

export function grantLimits(grant: Grant, profile: Profile, now: Date): SessionLimits {
  return {
    grant: grant.maxSessionSeconds,
    profile: profile.maxSessionSeconds,
    grantRemaining: (Date.parse(grant.validUntil) - now.getTime()) / 1000,
  };
}

/**
 * Active and inside its validity window: validFrom ≤ now < validUntil. A timestamp that does not
 * parse makes the grant unusable (fail closed).
 */
export function isUsable(grant: Grant, now: Date): boolean {
  const t = now.getTime();
  return grant.status === 'active' && Date.parse(grant.validFrom) <= t && t < Date.parse(grant.validUntil);
}

/**
 * The grant to vend under.
 * 1. Keep active grants on `profile` held by the principal or one of its groups.
 * 2. Of those usable now, pick the one allowing the longest session, then the one lasting longest,
 *    then the smallest id, so the same inputs always give the same grant (and the same audit record).
 * 3. None usable: GrantExpiredError if one of them has expired, else NoGrantError.
 *
 * `profileMaxSessionSeconds` caps each grant's limit for the comparison in step 2; without it a
 * grant with no limit of its own ranks above every grant that has one.
 */
export function selectGrant(
  grants: readonly Grant[],
  principal: Principal,
  profile: string,
  now: Date,
  options: { profileMaxSessionSeconds?: number } = {},
): Grant {
  return rankGrants(grants, principal, profile, now, options)[0] as Grant;
}

/**
 * Every usable grant, best first (the order selectGrant picks from), so a caller can fall back to
 * the next grant when the best one cannot serve a request. Throws as selectGrant does when none is.
 */
export function rankGrants(
  grants: readonly Grant[],
  principal: Principal,
  profile: string,
  now: Date,
  options: { profileMaxSessionSeconds?: number } = {},
): Grant[] {
  const groups = new Set(principal.groups);
  const held = grants.filter(
    (g) =>
      g.profile === profile &&
      g.status === 'active' &&
      (g.subject.type === 'user' ? g.subject.id === principal.id : groups.has(g.subject.id)),
  );

  const profileMax = options.profileMaxSessionSeconds ?? Number.POSITIVE_INFINITY;
  const effectiveMax = (g: Grant): number => Math.min(g.maxSessionSeconds ?? Number.POSITIVE_INFINITY, profileMax);
  const usable = held.filter((g) => isUsable(g, now)).sort(
    (x, y) =>
      effectiveMax(y) - effectiveMax(x) ||
      Date.parse(y.validUntil) - Date.parse(x.validUntil) ||
      (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
  );
  if (usable.length > 0) return usable;

  const lastExpiry = held
    .map((g) => Date.parse(g.validUntil))
    .filter((until) => until <= now.getTime())
    .reduce((latest, until) => Math.max(latest, until), Number.NEGATIVE_INFINITY);
  if (lastExpiry !== Number.NEGATIVE_INFINITY) {
    throw new GrantExpiredError(
      `your grant for profile "${profile}" expired at ${new Date(lastExpiry).toISOString()}`,
      { details: { profile, expiredAt: new Date(lastExpiry).toISOString() } },
    );
  }
  throw new NoGrantError(`no active grant for profile "${profile}"`, { details: { profile } });
}
