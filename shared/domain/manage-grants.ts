import { adminEvent } from './audit.js';
import {
  ConflictError,
  DelegationExceedsGrantError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from './errors.js';
import { withinQuota } from './delegation-quota.js';
import { appliesTo, isUsable, subjectsOf } from './grant-selection.js';
import type { Grant, Principal, Profile, RequestMeta, Scope, Subject } from './model.js';
import { assertNotLockedOut } from './manage-lockdown.js';
import {
  MAX_GRANTS_PER_REVOCATION,
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
  /** When given, no grant is created on a locked profile except by someone on the allow list. */
  readonly lockdown?: LockdownStore;
  /** Active delegated grants a non-admin may hold (DEFAULT_DELEGATION_QUOTA when left out). */
  readonly delegationQuota?: number;
}

const isAdmin = (deps: Pick<GrantDeps, 'adminGroup'>, principal: Principal) => principal.groups.includes(deps.adminGroup);

/**
 * POST /grants, by an admin or by a delegator:
 * 1. The profile must exist and not be locked down against the caller; the grant must fit inside
 *    it (duration, scope) and have a sane window.
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
): Promise<Grant> {
  const now = deps.clock.now();
  const [profile, lockdown] = await Promise.all([deps.store.getProfile(input.profile), deps.lockdown?.getLockdown()]);
  if (!profile) throw new NotFoundError(`profile "${input.profile}" does not exist`);
  assertNotLockedOut(lockdown, principal, profile.name);

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

export async function listGrants(
  deps: Pick<GrantDeps, 'store'>,
  filter: { profile?: string; subject?: Subject },
): Promise<Grant[]> {
  const grants = await deps.store.listGrants(filter);
  return grants.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export interface RevokedGrant extends Grant {
  /** Every grant delegated from it (recursively) that this revocation also revoked. */
  readonly revokedDescendants: string[];
}

/**
 * DELETE /grants/{id}:
 * 1. Find the grant. Only an admin, its creator, or a holder of its parent grant may revoke it;
 *    to anyone else it does not exist (404).
 * 2. Revoke it and every active grant delegated from it, recursively, with one `grant.revoked`
 *    event, in one transaction (children first in batches when the tree exceeds one transaction,
 *    so a failure leaves the root active and a retry completes the job).
 * 3. Revoking a revoked grant changes nothing and returns it as it is (idempotent).
 */
export async function revokeGrant(deps: GrantDeps, principal: Principal, id: string, meta: RequestMeta): Promise<RevokedGrant> {
  const grant = await deps.store.getGrant(id);
  if (!grant || !(await mayRevoke(deps, principal, grant))) throw new NotFoundError(`grant "${id}" does not exist`);
  if (grant.status === 'revoked') return { ...grant, revokedDescendants: [] };

  for (let attempt = 1; attempt <= 3; attempt++) {
    const descendants = (await descendantsOf(deps.store, grant.id)).filter((g) => g.status === 'active');
    const at = deps.clock.now();
    // In batches of one transaction each, with one `grant.revoked` event per batch. Returns false
    // when a concurrent change won one of them.
    const revokeAll = async (grants: readonly Grant[]): Promise<boolean> => {
      for (const batch of inBatches(grants, MAX_GRANTS_PER_REVOCATION)) {
        const written = await deps.store.revokeGrants(
          batch,
          principal.id,
          at.toISOString(),
          adminEvent(at, deps.ids.next(), 'grant.revoked', principal, meta, {
            profile: grant.profile,
            grantId: grant.id,
            detail: { revokedGrantIds: batch.map((g) => g.id) },
          }),
        );
        if (!written) return false;
      }
      return true;
    };
    // Deepest first, the grant itself last: if a batch fails, the root still stands and a retry
    // finishes the job.
    if (await revokeAll([...descendants].reverse().concat(grant))) {
      // The index of children can lag a moment behind writes: look once more and revoke any child
      // that was missed (none can be added now: creating one requires an active parent). One
      // revoked meanwhile by someone else is revoked all the same.
      const late = (await descendantsOf(deps.store, grant.id)).filter(
        (g) => g.status === 'active' && !descendants.some((d) => d.id === g.id),
      );
      await revokeAll([...late].reverse());
      return {
        ...grant,
        status: 'revoked',
        revokedAt: at.toISOString(),
        revokedBy: principal.id,
        version: (grant.version ?? 0) + 1,
        revokedDescendants: [...descendants, ...late].map((g) => g.id),
      };
    }
    // A concurrent revocation touched the tree: look again.
    const current = await deps.store.getGrant(id);
    if (current?.status === 'revoked') return { ...current, revokedDescendants: [] };
  }
  throw new ConflictError(`grant "${id}" kept changing while it was being revoked; retry`);
}

async function mayRevoke(deps: GrantDeps, principal: Principal, grant: Grant): Promise<boolean> {
  if (isAdmin(deps, principal) || grant.createdBy === principal.id) return true;
  if (!grant.parentGrantId) return false;
  const parent = await deps.store.getGrant(grant.parentGrantId);
  const mine = new Set(subjectsOf(principal).map((s) => `${s.type}#${s.id}`));
  return parent !== undefined && parent.status === 'active' && mine.has(`${parent.subject.type}#${parent.subject.id}`);
}

/** Every grant delegated from `rootId`, recursively, parents before children. */
export async function descendantsOf(store: DelegationStore, rootId: string): Promise<Grant[]> {
  const found: Grant[] = [];
  const seen = new Set<string>([rootId]);
  let frontier = [rootId];
  // Depth is bounded by MAX_DELEGATION_DEPTH; the guard also stops a corrupt cycle.
  for (let level = 0; level <= MAX_DELEGATION_DEPTH + 1 && frontier.length > 0; level++) {
    const children = (await Promise.all(frontier.map((id) => store.listChildGrants(id)))).flat().filter((g) => !seen.has(g.id));
    for (const child of children) seen.add(child.id);
    found.push(...children);
    frontier = children.map((g) => g.id);
  }
  return found;
}

function inBatches<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}
