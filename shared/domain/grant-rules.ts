// The rules every new grant obeys, whoever makes it (POST /grants, an engagement, its handover):
// it fits its profile and, unless an admin makes it, the grant it is delegated from.
import { adminEvent } from './audit.js';
import { DelegationExceedsGrantError, ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import { appliesTo, isUsable, subjectsOf } from './grant-selection.js';
import { refuseChangeIfLockedOut, type LockedChange } from './lockdown-rules.js';
import type { Grant, Principal, Profile, RequestMeta, Scope } from './model.js';
import type { AuditWriter, Clock, DelegationStore, IdGenerator, LockdownStore } from './ports.js';
import { isAdmin } from './principal-rules.js';
import type { GrantInput } from './schemas.js';
import { resolveSessionScope, scopeContains } from './scope.js';

/** An admin's grant is depth 0; delegation may go two levels below it, no further. */
export const MAX_DELEGATION_DEPTH = 2;

export interface GrantPlanDeps {
  readonly store: Pick<DelegationStore, 'getProfile' | 'getProfileWithGrants'>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly adminGroup: string;
  /** No grant is made on a locked profile (by name or role) except by someone on the allow list. */
  readonly lockdown: Pick<LockdownStore, 'getLockdown'>;
  /** Where a grant refused by the lockdown is recorded. */
  readonly audit: AuditWriter;
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

export interface PlannedGrant {
  readonly grant: Grant;
  /** The caller's grant it is delegated from; none for an admin's. */
  readonly parent?: Grant;
}

/**
 * The grant `principal` may make from `input`, checked and not yet written:
 * 1. The profile must exist and not be locked down against the caller (by its name or its role;
 *    LOCKDOWN_ACTIVE, recorded as `change.denied` of `action`); the grant must fit inside it
 *    (duration, scope) and have a sane window.
 * 2. A non-admin needs an active grant with canDelegate on the profile (else FORBIDDEN), and the new
 *    grant must lie within it — scope, validUntil, maxSessionSeconds, and canDelegate only while the
 *    chain stays within MAX_DELEGATION_DEPTH (else DELEGATION_EXCEEDS_GRANT naming what exceeded).
 * 3. Its effective scope must render a session policy STS takes (else SCOPE_TOO_LARGE).
 */
export async function planGrant(
  deps: GrantPlanDeps,
  principal: Principal,
  input: GrantInput,
  meta: RequestMeta,
  action: LockedChange,
): Promise<PlannedGrant> {
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
  return { grant, ...(parent ? { parent } : {}) };
}

/** The `grant.created` event of a planned grant. */
export function grantCreatedEvent(deps: Pick<GrantPlanDeps, 'ids'>, principal: Principal, meta: RequestMeta, grant: Grant) {
  return adminEvent(new Date(grant.createdAt), deps.ids.next(), 'grant.created', principal, meta, {
    profile: grant.profile,
    grantId: grant.id,
    detail: { ...grant },
  });
}

/**
 * The caller's grant to delegate from: usable now, canDelegate, on this profile generation, and
 * containing the new grant. The first refusal of the best candidate names what exceeded.
 */
async function delegatingGrant(
  deps: Pick<GrantPlanDeps, 'store'>,
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

/** Every grant delegated from `root`, recursively, parents before children (read strongly consistently). */
export async function descendantsOf(store: Pick<DelegationStore, 'listChildGrants'>, root: Pick<Grant, 'id' | 'profile'>): Promise<Grant[]> {
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
