// Grants: made by admins and delegators (POST /grants), listed, and revoked with everything
// delegated from them, their sessions cut off.
import { adminEvent } from './audit.js';
import { ConflictError, ForbiddenError, NotFoundError } from './errors.js';
import { carryOutCutOff, newCutOffOrder, type CutOffDeps } from './cut-off-sessions.js';
import { withinQuota } from './delegation-quota.js';
import { descendantsOf, grantCreatedEvent, planGrant, type GrantPlanDeps } from './grant-rules.js';
import { isAdmin } from './principal-rules.js';
import { subjectsOf } from './grant-selection.js';
import type { CutOffOrder, Grant, Principal, Profile, RequestMeta, RevokedSession, SessionNotCut, Subject } from './model.js';
import { rolesOf } from './roles.js';
import { MAX_GRANTS_PER_REVOCATION, type DelegationStore } from './ports.js';
import type { GrantInput } from './schemas.js';

export interface GrantDeps extends GrantPlanDeps {
  readonly store: DelegationStore;
  /** Active delegated grants a non-admin may hold (DEFAULT_DELEGATION_QUOTA when left out). */
  readonly delegationQuota?: number;
}

/**
 * POST /grants, by an admin or by a delegator: the grant as the rules allow it (grant-rules.ts
 * planGrant), then, for a delegated grant, a place in its delegator's quota of active delegated
 * grants (else DELEGATION_QUOTA_EXCEEDED; admins have none). The grant (with parentGrantId and
 * depth), its `grant.created` event and the delegator's quota record (conditional on its version)
 * are written in one transaction.
 */
export async function createGrant(deps: GrantDeps, principal: Principal, input: GrantInput, meta: RequestMeta): Promise<Grant> {
  const { grant, parent } = await planGrant(deps, principal, input, meta, 'grant.created');
  const event = grantCreatedEvent(deps, principal, meta, grant);
  // A delegated grant takes a place in its delegator's quota, written in the same transaction.
  if (parent) await withinQuota(deps, principal.id, [grant], new Date(grant.createdAt), (quota) => deps.store.createGrant(grant, event, parent, quota));
  else await deps.store.createGrant(grant, event);
  return grant;
}

/**
 * GET /grants: admins list any grants; anyone else only those they created (`createdBy=me`), so a
 * delegator can find a grant to revoke.
 */
export async function listGrants(
  deps: Pick<GrantDeps, 'store' | 'adminGroup'>,
  principal: Principal,
  query: { profile?: string; subject?: Subject; createdBy?: string },
): Promise<Grant[]> {
  const createdBy = query.createdBy === 'me' ? principal.id : query.createdBy;
  if (!isAdmin(deps, principal) && createdBy !== principal.id) {
    throw new ForbiddenError(`listing grants requires membership of ${deps.adminGroup}; anyone may list the grants they created (createdBy=me)`);
  }
  const grants = await deps.store.listGrants({ ...query, createdBy });
  return grants.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export interface RevokedGrant extends Grant {
  /** Every grant delegated from it (recursively) that this revocation also revoked. */
  readonly revokedDescendants: string[];
  /** The live sessions vended under them that are now denied (each recorded `session.revoked`). */
  readonly revokedSessions: RevokedSession[];
  /** Those whose role's policy could not be written yet: retried from the schedule until cut. */
  readonly sessionsNotCut: SessionNotCut[];
  /** True when a role's policy is a role-wide cutoff: everyone's earlier sessions there are cut too. */
  readonly roleWideFallback: boolean;
  /** True when the grant and all delegated from it were revoked already: this call changed nothing. */
  readonly alreadyRevoked: boolean;
}

export type RevokeGrantDeps = Pick<GrantDeps, 'store' | 'clock' | 'ids' | 'adminGroup'> & CutOffDeps;

/** Reads of the tree and rounds of revocation before giving up (each lost round is a concurrent change). */
const MAX_REVOCATION_ROUNDS = 4;

/**
 * DELETE /grants/{id}:
 * 1. Find the grant. Only an admin, its creator, the user holding it (giving it up), or a holder of
 *    its parent grant may revoke it; to anyone else it does not exist (404).
 * 2. Revoke it and every active grant delegated from it (engagement grants included), recursively,
 *    in one transaction, or in batches of one transaction each when the tree exceeds one (deepest
 *    first, the grant itself last, so a failure leaves the root active and a retry completes the
 *    job). Each batch writes its `grant.revoked` event and the order to cut off its grants'
 *    sessions with it, so no revoked grant is ever left without its cut-off.
 * 3. Read the tree again (strongly consistently) until nothing below the grant is active: a child
 *    created while the revocation was under way (its creation needs an active parent, so only
 *    before the root's batch) or left by an interrupted revocation is revoked too. Revoking a
 *    revoked grant is how an interrupted revocation is finished; with nothing left it changes
 *    nothing and returns the grant as it is (idempotent).
 * 4. Carry every order written out (cut-off-sessions.ts): on every role the profile names or named
 *    while such a session can live, deny exactly the sessions vended under the revoked grants
 *    (their `tvm:grant` tag), so the same person's sessions under other grants keep working.
 */
export async function revokeGrant(deps: RevokeGrantDeps, principal: Principal, id: string, meta: RequestMeta): Promise<RevokedGrant> {
  let root = await deps.store.getGrant(id);
  if (!root || !(await mayRevoke(deps, principal, root))) throw new NotFoundError(`grant "${id}" does not exist`);
  let changed = false;
  const profile = await deps.store.getProfile(root.profile);
  const orders: CutOffOrder[] = [];
  const descendants: Grant[] = [];

  for (let round = 1; ; round++) {
    const active = (await descendantsOf(deps.store, root)).filter((g) => g.status === 'active');
    const tree = [...active].reverse().concat(root.status === 'active' ? [root] : []);
    if (tree.length === 0) break;
    if (round > MAX_REVOCATION_ROUNDS) {
      await carryOut(deps, orders, meta);
      throw new ConflictError(`grant "${id}" kept changing while it was being revoked; retry`);
    }
    const at = deps.clock.now();
    for (const batch of inBatches(tree, MAX_GRANTS_PER_REVOCATION)) {
      const order = sessionsCutOff(deps, principal, meta, root, batch, profile, at);
      const written = await deps.store.revokeGrants(
        batch,
        principal.id,
        at.toISOString(),
        adminEvent(at, deps.ids.next(), 'grant.revoked', principal, meta, {
          profile: root.profile,
          grantId: root.id,
          detail: {
            revokedGrantIds: batch.map((g) => g.id),
            ...(order ? { cutOffOrder: order.id } : {}),
            ...(holds(principal, root) ? { givenUp: true } : {}),
          },
        }),
        order,
      );
      // A concurrent change won (a grant of the batch was revoked meanwhile): read again.
      if (!written) break;
      changed = true;
      if (order) orders.push(order);
      descendants.push(...batch.filter((grant) => grant.id !== root?.id));
    }
    root = (await deps.store.getGrant(id)) ?? root;
  }

  const cut = await carryOut(deps, orders, meta);
  // The grant as stored now: revoked by this call, or by an earlier or concurrent one.
  return { ...root, revokedDescendants: descendants.map((g) => g.id), ...cut, alreadyRevoked: !changed };
}

type CutOffOutcome = Pick<RevokedGrant, 'revokedSessions' | 'sessionsNotCut' | 'roleWideFallback'>;

/** The order to cut off the sessions vended under `grants` (undefined when the profile is gone). */
function sessionsCutOff(
  deps: Pick<RevokeGrantDeps, 'ids'>,
  principal: Principal,
  meta: RequestMeta,
  root: Grant,
  grants: readonly Grant[],
  profile: Profile | undefined,
  now: Date,
): CutOffOrder | undefined {
  if (!profile) return undefined;
  return newCutOffOrder(deps.ids, { principal, meta, now }, {
    cause: 'grant-revoked',
    revocations: (before) => grants.map((grant) => ({ kind: 'grant', grantId: grant.id, before })),
    roles: rolesOf(profile, now),
    context: { grantId: root.id },
  });
}

async function carryOut(deps: CutOffDeps, orders: readonly CutOffOrder[], meta: RequestMeta): Promise<CutOffOutcome> {
  const reports = await Promise.all(orders.map((order) => carryOutCutOff(deps, order, meta)));
  return {
    revokedSessions: reports.flatMap((report) => report.revokedSessions),
    sessionsNotCut: reports.flatMap((report) => report.sessionsNotCut),
    roleWideFallback: reports.some((report) => report.roleWideFallback),
  };
}

const holds = (principal: Principal, grant: Grant) => grant.subject.type === 'user' && grant.subject.id === principal.id;

async function mayRevoke(deps: RevokeGrantDeps, principal: Principal, grant: Grant): Promise<boolean> {
  if (isAdmin(deps, principal) || grant.createdBy === principal.id) return true;
  // A holder may give up their own grant; a group's grant is not one member's to give up.
  if (holds(principal, grant)) return true;
  if (!grant.parentGrantId) return false;
  const parent = await deps.store.getGrant(grant.parentGrantId);
  const mine = new Set(subjectsOf(principal).map((s) => `${s.type}#${s.id}`));
  return parent !== undefined && parent.status === 'active' && mine.has(`${parent.subject.type}#${parent.subject.id}`);
}

function inBatches<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}
