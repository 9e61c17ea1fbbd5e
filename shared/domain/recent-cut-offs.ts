// Cut-offs recent enough to reach sessions a vend would mint now. A cut-off denies the sessions
// issued before its `before`, which lies after the decision (a vend in flight is covered; a grant's
// is rounded up to the hour; a role-wide fallback takes the latest). Until then, a session vended
// under it would be dead on arrival, or, vended from a read of the rules a moment too old, carried
// as current by the cut-off epoch it answers. So the decision also writes what it cuts off where the
// vend reads the lockdown, and the vend leaves out the grants it revoked and refuses a session it
// would deny, saying when to ask again.
import type { CutOffOrder } from './model.js';
import { matchesSession, type Revocation, type SessionFacts } from './revocations.js';
import { roleKey } from './roles.js';

/**
 * How long after its `before` a cut-off is still read: IAM rounds a cutoff up to the whole second,
 * and the deciding function's clock and STS's differ a little.
 */
export const RECENT_MARGIN_MS = 2_000;

/** What one decision cut off, on which roles. */
export interface RecentCutOff {
  readonly roles: readonly string[];
  readonly revocations: readonly Revocation[];
}

export function recentCutOffOf(order: Pick<CutOffOrder, 'roles' | 'revocations'>): RecentCutOff {
  return { roles: order.roles, revocations: order.revocations };
}

/** The latest `before` of its revocations: until then it may reach a session vended now. */
export function reachesUntil(cutOff: RecentCutOff): string {
  return cutOff.revocations.map((r) => new Date(r.before).toISOString()).reduce((a, b) => (b > a ? b : a), new Date(0).toISOString());
}

function onRole(cutOffs: readonly RecentCutOff[], roleArn: string): Revocation[] {
  const role = roleKey(roleArn);
  return cutOffs.filter((cutOff) => cutOff.roles.some((r) => roleKey(r) === role)).flatMap((cutOff) => cutOff.revocations);
}

/** The grants recent cut-offs on the role revoked: a vend's read of the grants may predate them. */
export function grantsCutOff(cutOffs: readonly RecentCutOff[], roleArn: string): Set<string> {
  return new Set(onRole(cutOffs, roleArn).flatMap((r) => (r.kind === 'grant' ? [r.grantId] : [])));
}

/**
 * The latest `before` of the recent cut-offs on the role that would deny a session minted now (its
 * identity and tags as given); undefined when none would.
 */
export function cutOffPendingUntil(
  cutOffs: readonly RecentCutOff[],
  roleArn: string,
  session: Omit<SessionFacts, 'issuedAt'>,
  now: Date,
): Date | undefined {
  const denying = onRole(cutOffs, roleArn).filter((r) => Date.parse(r.before) + RECENT_MARGIN_MS > now.getTime() && matchesSession(r, session));
  if (denying.length === 0) return undefined;
  return new Date(Math.max(...denying.map((r) => Date.parse(r.before))));
}
