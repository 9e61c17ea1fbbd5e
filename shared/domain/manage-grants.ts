import { adminEvent } from './audit.js';
import {
  ConflictError,
  DelegationExceedsGrantError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from './errors.js';
import { carryOutCutOff, newCutOffOrder, type CutOffDeps } from './cut-off-sessions.js';
import { withinQuota } from './delegation-quota.js';
import { appliesTo, isUsable, subjectsOf } from './grant-selection.js';
import type { CutOffOrder, Grant, Principal, Profile, RequestMeta, RevokedSession, Scope, SessionNotCut, Subject } from './model.js';
import { rolesOf } from './roles.js';
import { refuseChangeIfLockedOut, type LockedChange } from './lockdown-rules.js';
import {
  MAX_GRANTS_PER_REVOCATION,
  type AuditWriter,
  type Clock,
  type DelegationStore,
  type IdGenerator,
  type LockdownStore,
} from './ports.js';
import type { GrantInput } from './schemas.js';
import { resolveSessionScope, scopeContains } from './scope.js';

/** An admin's grant is depth 0; delegation may go two levels below it, no further. */
export const MAX_DELEGATION_DEPTH = 2;

export interface GrantDeps {
  readonly store: DelegationStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Members administer every grant; everyone else only delegates from what they hold. */
  readonly adminGroup: string;
  /** No grant is created on a locked profile (by name or role) except by someone on the allow list. */
  readonly lockdown: LockdownStore;
  /** Where a grant refused by the lockdown is recorded. */
  readonly audit: AuditWriter;
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
  /** Active delegated grants a non-admin may hold (DEFAULT_DELEGATION_QUOTA when left out). */
  readonly delegationQuota?: number;
}

const isAdmin = (deps: Pick<GrantDeps, 'adminGroup'>, principal: Principal) => principal.groups.includes(deps.adminGroup);

/**
 * POST /grants, by an admin or by a delegator:
 * 1. The profile must exist and not be locked down against the caller (by its name or its role;
 *    LOCKDOWN_ACTIVE, recorded); the grant must fit inside it (duration, scope) and have a sane window.
 * 2. A non-admin needs an active grant with canDelegate on the profile (else FORBIDDEN), and the new
 *    grant must lie within it — scope, validUntil, maxSessionSeconds, and canDelegate only while the
 *    chain stays within MAX_DELEGATION_DEPTH (else DELEGATION_EXCEEDS_GRANT naming what exceeded).
 * 3. Its effective scope must render a session policy STS takes (else SCOPE_TOO_LARGE).
 * 4. A delegated grant must fit its delegator's quota of active delegated grants (else
 *    DELEGATION_QUOTA_EXCEEDED); admins have none.
 * 5. Write the grant (with parentGrantId and depth), its `grant.created` event and, for a delegated
 *    grant, the delegator's quota record (conditional on its version) in one transaction.
 */
export async function createGrant(
  deps: GrantDeps,
  principal: Principal,
  input: GrantInput,
  meta: RequestMeta,
  /** What the grant is part of, as `change.denied` records a lockdown's refusal. */
  action: LockedChange = 'grant.created',
): Promise<Grant> {
  const now = deps.clock.now();
  const [profile, lockdown] = await Promise.all([deps.store.getProfile(input.profile), deps.lockdown.getLockdown()]);
  if (!profile) throw new NotFoundError(`profile "${input.profile}" does not exist`);
  await refuseChangeIfLockedOut(deps, { principal, meta, action }, lockdown, profile);

  const validFrom = input.validFrom ? new Date(input.validFrom) : now;
  const validUntil = new Date(input.validUntil);
  if (validUntil.getTime() <= now.getTime()) throw new ValidationError('body.validUntil: must be in the future');
  if (validUntil.getTime() <= validFrom.getTime()) throw new ValidationError('body.validUntil: must be after validFrom');
  if (input.maxSessionSeconds !== undefined && input.maxSessionSeconds > profile.maxSessionSeconds) {
    throw new ValidationError(
      `body.maxSessionSeconds: must not exceed the profile's maximum of ${profile.maxSessionSeconds}`,
    );
  }
  if (input.scope) {
    const contained = scopeContains(profile.scope, effectiveScope(input.scope, profile.scope));
    if (!contained.ok) {
      throw new ValidationError(`body.scope.${contained.field}: "${contained.item}" is not within the profile's scope`);
    }
  }

  const parent = isAdmin(deps, principal) ? undefined : await delegatingGrant(deps, principal, profile, input, now);
  const depth = parent ? (parent.depth ?? 0) + 1 : 0;
  // A delegated grant carries its parent's limits explicitly: at vend time a missing field would
  // otherwise fall back to the profile's, wider than the parent's.
  const scope = parent ? definedScope(effectiveScope(input.scope, effectiveScope(parent.scope, profile.scope))) : input.scope;
  const maxSessionSeconds = parent
    ? (input.maxSessionSeconds ?? Math.min(parent.maxSessionSeconds ?? profile.maxSessionSeconds, profile.maxSessionSeconds))
    : input.maxSessionSeconds;
  // Rendered as every vend under the grant would render it: a policy over STS's 2,048 characters
  // is refused now (SCOPE_TOO_LARGE), not at each vend.
  resolveSessionScope({ grant: scope, profile: profile.scope });

  const grant: Grant = {
    id: deps.ids.next(),
    profile: profile.name,
    profileGeneration: profile.generation,
    subject: input.subject,
    validFrom: validFrom.toISOString(),
    validUntil: validUntil.toISOString(),
    ...(maxSessionSeconds !== undefined ? { maxSessionSeconds } : {}),
    ...(scope ? { scope } : {}),
    canDelegate: input.canDelegate,
    ...(parent ? { parentGrantId: parent.id } : {}),
    depth,
    status: 'active',
    version: 1,
    createdBy: principal.id,
    createdAt: now.toISOString(),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  const event = adminEvent(now, deps.ids.next(), 'grant.created', principal, meta, {
    profile: grant.profile,
    grantId: grant.id,
    detail: { ...grant },
  });
  // A delegated grant takes a place in its delegator's quota, written in the same transaction.
  if (parent) await withinQuota(deps, principal.id, [grant], now, (quota) => deps.store.createGrant(grant, event, parent, quota));
  else await deps.store.createGrant(grant, event);
  return grant;
}

/**
 * The caller's grant to delegate from: usable now, canDelegate, on this profile generation, and
 * containing the new grant. The first refusal of the best candidate names what exceeded.
 */
async function delegatingGrant(
  deps: GrantDeps,
  principal: Principal,
  profile: Profile,
  input: GrantInput,
  now: Date,
): Promise<Grant> {
  const { grants } = await deps.store.getProfileWithGrants(profile.name, subjectsOf(principal), now);
  const candidates = grants
    .filter((grant) => grant.canDelegate && appliesTo(grant, profile) && isUsable(grant, now))
    .filter((grant) => input.parentGrantId === undefined || grant.id === input.parentGrantId)
    .sort((a, b) => Date.parse(b.validUntil) - Date.parse(a.validUntil) || a.id.localeCompare(b.id));
  if (candidates.length === 0) {
    throw new ForbiddenError(`you hold no grant on profile "${profile.name}" that allows delegation`);
  }
  let firstExcess: string | undefined;
  for (const parent of candidates) {
    const excess = exceeds(parent, profile, input);
    if (!excess) return parent;
    firstExcess ??= excess;
  }
  throw new DelegationExceedsGrantError(`the new grant exceeds yours (${candidates[0]?.id}): ${firstExcess}`, {
    details: { parentGrantId: candidates[0]?.id ?? '' },
  });
}

/** What of `input` goes beyond `parent`, or undefined when it lies within. */
function exceeds(parent: Grant, profile: Profile, input: GrantInput): string | undefined {
  if (Date.parse(input.validUntil) > Date.parse(parent.validUntil)) {
    return `validUntil is later than ${parent.validUntil}`;
  }
  const parentMax = Math.min(parent.maxSessionSeconds ?? profile.maxSessionSeconds, profile.maxSessionSeconds);
  if ((input.maxSessionSeconds ?? parentMax) > parentMax) {
    return `maxSessionSeconds is larger than ${parentMax}`;
  }
  const parentScope = effectiveScope(parent.scope, profile.scope);
  const contained = scopeContains(parentScope, effectiveScope(input.scope, parentScope));
  if (!contained.ok) return `scope.${contained.field} "${contained.item}" is not within your grant`;
  if (input.canDelegate && (parent.depth ?? 0) + 1 >= MAX_DELEGATION_DEPTH) {
    return `canDelegate would make the chain deeper than ${MAX_DELEGATION_DEPTH} levels`;
  }
  return undefined;
}

function definedScope(scope: Scope): Scope | undefined {
  if (!scope.actions && !scope.resources) return undefined;
  return { ...(scope.actions ? { actions: scope.actions } : {}), ...(scope.resources ? { resources: scope.resources } : {}) };
}

/** A scope's fields, each falling back to `fallback`'s (as the vend resolves them). */
function effectiveScope(scope: Scope | undefined, fallback: Scope | undefined): Scope {
  return { actions: scope?.actions ?? fallback?.actions, resources: scope?.resources ?? fallback?.resources };
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

/** Every grant delegated from `root`, recursively, parents before children (read strongly consistently). */
export async function descendantsOf(store: DelegationStore, root: Pick<Grant, 'id' | 'profile'>): Promise<Grant[]> {
  const found: Grant[] = [];
  const seen = new Set<string>([root.id]);
  let frontier: Pick<Grant, 'id' | 'profile'>[] = [root];
  // Depth is bounded by MAX_DELEGATION_DEPTH; the guard also stops a corrupt cycle.
  for (let level = 0; level <= MAX_DELEGATION_DEPTH + 1 && frontier.length > 0; level++) {
    const children = (await Promise.all(frontier.map((parent) => store.listChildGrants(parent)))).flat().filter((g) => !seen.has(g.id));
    for (const child of children) seen.add(child.id);
    found.push(...children);
    frontier = children;
  }
  return found;
}

function inBatches<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}
