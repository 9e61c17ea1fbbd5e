// Contractor engagements: outside work on a set of profiles. Contractors get grants while they
// build; the handover ends their access (grants revoked, live sessions cut off) and gives the owner,
// or whoever the handover names, full control.
import { refuseChangeIfLockedOut } from './lockdown-rules.js';
import { adminEvent } from './audit.js';
import {
  AlreadyHandedOverError,
  ConflictError,
  DelegationExceedsGrantError,
  ForbiddenError,
  NotFoundError,
  ScopeTooLargeError,
  TvmError,
  ValidationError,
} from './errors.js';
import { countsAgainstQuota, reserveDelegations, withinQuota } from './delegation-quota.js';
import { isUsable } from './grant-selection.js';
import { descendantsOf, MAX_DELEGATION_DEPTH, planGrant } from './grant-rules.js';
import { isAdmin, isOverseer } from './principal-rules.js';
import { carryOutCutOff, newCutOffOrder, type CutOffDeps } from './cut-off-sessions.js';
import type { CutOffOrder, Engagement, Grant, Principal, Profile, RequestMeta, RevokedSession, SessionNotCut } from './model.js';
import { distinctRoles, rolesOf } from './roles.js';
import {
  MAX_GRANTS_PER_REVOCATION,
  type AuditWriter,
  type Clock,
  type DelegationStore,
  type EngagementStore,
  type IdGenerator,
  type LockdownStore,
  type QuotaUpdate,
} from './ports.js';
import type { EngagementInput, GrantInput, HandoverInput } from './schemas.js';
import { toSourceIdentity } from './source-identity.js';

/**
 * Grants one engagement write may carry: as many as a revocation's (its handover is one), less the
 * engagement itself and the owner's delegation quota record.
 */
export const MAX_GRANTS_PER_ENGAGEMENT_WRITE = MAX_GRANTS_PER_REVOCATION - 2;

export interface EngagementDeps {
  readonly engagements: EngagementStore;
  readonly store: DelegationStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly adminGroup: string;
  readonly securityGroup: string;
  /** No engagement creates grants on a profile locked down (by name or role) against its caller. */
  readonly lockdown: Pick<LockdownStore, 'getLockdown'>;
  /** Where a change refused by the lockdown is recorded. */
  readonly audit: AuditWriter;
  /** Active delegated grants a non-admin owner may hold, engagement grants included (DEFAULT_DELEGATION_QUOTA). */
  readonly delegationQuota?: number;
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

export interface HandoverDeps extends EngagementDeps, CutOffDeps {}

/** An engagement as the API shows it: the record and its grants, each in its current state. */
export interface EngagementView extends Engagement {
  readonly grants: readonly Grant[];
}

export interface HandoverResult {
  readonly engagementId: string;
  readonly status: 'handed-over';
  readonly revokedGrants: readonly string[];
  readonly newGrants: readonly string[];
  /** Sessions actually cut off (each also recorded as `session.revoked`). */
  readonly revokedSessions: readonly RevokedSession[];
  /** Sessions whose role's revocation policy could not be written: still live until they expire. */
  readonly sessionsNotCut: readonly SessionNotCut[];
  /** True when a role's policy overflowed and a role-wide cutoff replaced it (others' sessions cut too). */
  readonly roleWideFallback: boolean;
  readonly at: string;
}

/** A handover whose grants change under it (one revoked on its own, say) plans again, this often. */
const MAX_HANDOVER_ATTEMPTS = 3;


/**
 * POST /engagements, by a tvm-admin, or by the owner delegating from their own grants:
 * 1. validUntil must lie ahead, and the engagement must fit one transaction: contractors × profiles
 *    grants, plus room for the default handover (a grant per profile for the owner).
 * 2. A non-admin may only create an engagement they own (FORBIDDEN otherwise).
 * 3. Plan one grant per profile with createGrant's own rules (profile exists, not locked down, entry
 *    within it; for a non-admin, within a delegable grant of theirs, whose scope and
 *    maxSessionSeconds apply where the entry names none), then copy it to every contractor.
 *    Contractors cannot delegate: they build, the owner decides who else gets access.
 * 4. Write the engagement (version 1), its grants (each with engagementId) and `engagement.created`
 *    in one transaction.
 */
export async function createEngagement(
  deps: EngagementDeps,
  principal: Principal,
  input: EngagementInput,
  meta: RequestMeta,
): Promise<EngagementView> {
  const now = deps.clock.now();
  if (Date.parse(input.validUntil) <= now.getTime()) throw new ValidationError('body.validUntil: must be in the future');
  // The default handover revokes every contractor grant and grants the owner each profile, in
  // one transaction too: an engagement that could not be handed over must not be created.
  const contractorGrants = input.contractors.length * input.profiles.length;
  const withHandover = contractorGrants + input.profiles.length;
  if (withHandover > MAX_GRANTS_PER_ENGAGEMENT_WRITE) {
    throw new ValidationError(
      `body.contractors: ${input.contractors.length} contractors × ${input.profiles.length} profiles make ` +
        `${contractorGrants} grants, and the handover adds ${input.profiles.length} for the owner: ${withHandover} in all, ` +
        `above the limit of ${MAX_GRANTS_PER_ENGAGEMENT_WRITE} (one DynamoDB transaction of 100 actions, less the ` +
        `engagement, its audit event, the three writes of its handover’s cut-off and the owner’s delegation quota)`,
      { details: { limit: MAX_GRANTS_PER_ENGAGEMENT_WRITE, grants: withHandover } },
    );
  }
  if (!isAdmin(deps, principal) && principal.id !== input.owner) {
    throw new ForbiddenError('only a tvm-admin may create an engagement for someone else; an owner creates their own');
  }

  const id = deps.ids.next();
  const validUntil = new Date(input.validUntil).toISOString();
  const templates: Grant[] = [];
  const parents = new Map<string, Grant>();
  // One at a time: the ids (and so the tests) stay in a stable order.
  for (const [index, entry] of input.profiles.entries()) {
    const firstContractor = input.contractors[0] as string;
    const grantInput: GrantInput = {
      profile: entry.profile,
      subject: { type: 'user', id: firstContractor },
      validUntil,
      canDelegate: false,
      ...(entry.scope ? { scope: entry.scope } : {}),
      ...(entry.maxSessionSeconds !== undefined ? { maxSessionSeconds: entry.maxSessionSeconds } : {}),
      reason: grantReason(input.name),
    };
    try {
      const planned = await planGrant(deps, principal, grantInput, meta, 'engagement.created');
      templates.push(planned.grant);
      if (planned.parent) parents.set(planned.parent.id, planned.parent);
    } catch (error) {
      throw inProfileEntry(error, index, entry.profile);
    }
  }
  const grants = input.contractors.flatMap((contractor) =>
    templates.map((template): Grant => ({
      ...template,
      id: deps.ids.next(),
      subject: { type: 'user', id: contractor },
      engagementId: id,
    })),
  );
  const engagement: Engagement = {
    id,
    name: input.name,
    owner: input.owner,
    contractors: input.contractors,
    profiles: input.profiles,
    validUntil,
    status: 'active',
    createdBy: principal.id,
    createdAt: now.toISOString(),
    version: 1,
  };
  const event = adminEvent(now, deps.ids.next(), 'engagement.created', principal, meta, {
    profiles: profileList(engagement),
    detail: { engagementId: id, ...engagement, grantIds: grants.map((g) => g.id) },
  });
  // Revoking a grant they are delegated from must not miss them (manage-grants.ts revokes its tree).
  const delegatedFrom = [...parents.values()];
  // An owner's grants are delegated ones: they take places in the owner's quota, all at once.
  const delegated = grants.filter(countsAgainstQuota);
  const write = (quota?: QuotaUpdate) => deps.engagements.createEngagement(engagement, grants, event, delegatedFrom, quota);
  if (delegated.length > 0) await withinQuota(deps, principal.id, delegated, now, write);
  else await write();
  return { ...engagement, grants };
}

/**
 * GET /engagements/{id}:
 * 1. Read the engagement and its grants, in their current state.
 * 2. Its owner, contractors and new owners, tvm-admin and tvm-security see it; to anyone else it
 *    does not exist (404), so ids cannot be probed.
 */
export async function getEngagement(
  deps: Pick<EngagementDeps, 'engagements' | 'adminGroup' | 'securityGroup'>,
  principal: Principal,
  id: string,
): Promise<EngagementView> {
  const found = await deps.engagements.getEngagementWithGrants(id);
  if (!found || !maySee(deps, principal, found.engagement)) throw notFound(id);
  return { ...found.engagement, grants: found.grants };
}

/**
 * GET /engagements: tvm-admin and tvm-security see every engagement; anyone else those they own,
 * work on as a contractor or were handed, oldest first.
 */
export async function listEngagements(
  deps: Pick<EngagementDeps, 'engagements' | 'adminGroup' | 'securityGroup'>,
  principal: Principal,
): Promise<Engagement[]> {
  const engagements = await deps.engagements.listEngagements();
  return engagements.filter((engagement) => maySee(deps, principal, engagement));
}

/**
 * POST /engagements/{id}/handover, by the owner or a tvm-admin:
 * 1. Read the engagement and its grants. Invisible to the caller: 404. Visible but not theirs to
 *    hand over (a contractor, tvm-security, a new owner): 403. Already handed over: 409
 *    ALREADY_HANDED_OVER with the first handover's summary. Only a tvm-admin may name new owners
 *    other than the owner (403): the new grants carry full control.
 * 2. Plan: revoke the contractors' active grants and every active grant delegated from them; grant
 *    each new owner (`to`, default the owner) every profile with canDelegate (see newOwnerGrants
 *    for whose authority they carry). Everything must fit one transaction (400 naming the limit).
 * 3. The decisive step, one transaction: engagement → handed-over (version + 1, only if unchanged),
 *    grants revoked with reason `engagement-handed-over`, new grants (each only while the grant it
 *    is delegated from is still active), `handover.completed`, and the order to cut the
 *    contractors' sessions off. From here no contractor can vend. A lost race: 409 CONFLICT; a
 *    grant changed meanwhile: plan again.
 * 4. Carry the cut-off out (cut-off-sessions.ts): a `person` revocation per contractor on every
 *    role the engagement's profiles name or named, covering sessions a vend in flight could still
 *    mint. The response lists the sessions cut (`revokedSessions`, each recorded) and those that
 *    could not be yet (`sessionsNotCut`, recorded, retried from the schedule until cut).
 */
export async function handOverEngagement(
  deps: HandoverDeps,
  principal: Principal,
  id: string,
  input: HandoverInput,
  meta: RequestMeta,
): Promise<HandoverResult> {
  for (let attempt = 1; ; attempt++) {
    const found = await deps.engagements.getEngagementWithGrants(id);
    if (!found || !maySee(deps, principal, found.engagement)) throw notFound(id);
    const { engagement, grants } = found;
    if (!isAdmin(deps, principal) && principal.id !== engagement.owner) {
      throw new ForbiddenError(`only the owner of engagement ${id} or a tvm-admin may hand it over`);
    }
    if (engagement.status === 'handed-over') throw alreadyHandedOver(engagement);
    const to = input.to ?? [engagement.owner];
    if (!isAdmin(deps, principal) && to.some((heir) => heir !== engagement.owner)) {
      throw new ForbiddenError(`only a tvm-admin may hand engagement ${id} over to someone other than its owner`);
    }

    const now = deps.clock.now();
    const revoke = await grantsToRevoke(deps.store, engagement, grants);
    const { create, parents } = await newOwnerGrants(deps, principal, engagement, grants, to, now, meta);
    const actions = revoke.length + create.length + parents.length;
    if (actions > MAX_GRANTS_PER_ENGAGEMENT_WRITE) {
      throw new ValidationError(
        `body.to: the handover would revoke ${revoke.length} grants (the contractors' and any delegated from them) ` +
          `and create ${create.length} ` +
          `(${to.length} new owners × ${engagement.profiles.length} profiles)` +
          (parents.length > 0 ? `, checking ${parents.length} grants they are delegated from` : '') +
          `: ${actions} in all, above the limit of ${MAX_GRANTS_PER_ENGAGEMENT_WRITE} (one DynamoDB transaction of 100 actions, ` +
          `less the engagement, its audit event, the cut-off’s three writes and the owner’s delegation quota); ` +
          `hand over to fewer principals`,
        { details: { limit: MAX_GRANTS_PER_ENGAGEMENT_WRITE, grants: actions } },
      );
    }
    // New grants delegated by the owner take places in their quota; the contractor grants revoked
    // here free theirs in the same write.
    const delegated = create.filter(countsAgainstQuota);
    const quota =
      delegated.length > 0 ? await reserveDelegations(deps, principal.id, delegated, now, { freeing: revoke.map((g) => g.id) }) : undefined;
    const order = await contractorsCutOff(deps, principal, engagement, now, meta);

    const at = now.toISOString();
    const next: Engagement = {
      ...engagement,
      status: 'handed-over',
      version: engagement.version + 1,
      handover: {
        at,
        by: principal.id,
        to,
        ...(input.note ? { note: input.note } : {}),
        revokedGrants: revoke.map((g) => g.id),
        newGrants: create.map((g) => g.id),
        cutOffOrder: order.id,
      },
    };
    const written = await deps.engagements.handOver(
      next,
      engagement.version,
      revoke,
      create,
      adminEvent(now, deps.ids.next(), 'handover.completed', principal, meta, {
        profiles: profileList(engagement),
        detail: {
          engagementId: id,
          version: next.version,
          to,
          ...(input.note ? { note: input.note } : {}),
          revokedGrants: revoke.map((g) => g.id),
          newGrants: create.map((g) => g.id),
          // Which sessions were cut is in their session.revoked events (cutoff.failed: not yet).
          cutOffOrder: order.id,
          cutOffBefore: order.revocations[0]?.before,
        },
      }),
      order,
      parents,
      quota,
    );
    if (!written) {
      const current = await deps.engagements.getEngagement(id);
      // A concurrent handover won: answer as a second handover would.
      if (current?.status === 'handed-over') throw alreadyHandedOver(current);
      const raced = current?.version !== engagement.version;
      if (raced || attempt >= MAX_HANDOVER_ATTEMPTS) {
        throw new ConflictError(
          raced
            ? `engagement ${id} was changed by someone else meanwhile (now version ${current?.version ?? 'gone'}); read it again`
            : `the grants of engagement ${id} kept changing while it was being handed over; retry`,
        );
      }
      continue; // One of its grants changed (e.g. revoked on its own): plan again.
    }

    const cut = await carryOutCutOff(deps, order, meta);
    return {
      engagementId: id,
      status: 'handed-over',
      revokedGrants: revoke.map((g) => g.id),
      newGrants: create.map((g) => g.id),
      revokedSessions: cut.revokedSessions,
      sessionsNotCut: cut.sessionsNotCut,
      roleWideFallback: cut.roleWideFallback,
      at,
    };
  }
}

function maySee(deps: Pick<EngagementDeps, 'adminGroup' | 'securityGroup'>, principal: Principal, engagement: Engagement): boolean {
  return (
    isOverseer(deps, principal) ||
    principal.id === engagement.owner ||
    engagement.contractors.includes(principal.id) ||
    (engagement.handover?.to.includes(principal.id) ?? false)
  );
}

const notFound = (id: string) => new NotFoundError(`engagement "${id}" does not exist`);

function alreadyHandedOver(engagement: Engagement): AlreadyHandedOverError {
  const handover = engagement.handover;
  const summary = {
    engagementId: engagement.id,
    handedOverAt: handover?.at ?? '',
    handedOverBy: handover?.by ?? '',
    revokedGrants: handover?.revokedGrants.length ?? 0,
    newGrants: handover?.newGrants.length ?? 0,
  };
  return new AlreadyHandedOverError(
    `engagement ${engagement.id} was already handed over at ${summary.handedOverAt} by ${summary.handedOverBy}: ` +
      `${summary.revokedGrants} grants revoked, ${summary.newGrants} granted`,
    { details: summary },
  );
}

/**
 * The contractors' grants still active, and every active grant delegated from them. Only a grant
 * with canDelegate can have been delegated from (createGrant refuses otherwise), so only those are
 * followed; the engagement's own grants never have it, but a tree that has one is revoked whole.
 */
async function grantsToRevoke(store: DelegationStore, engagement: Engagement, grants: readonly Grant[]): Promise<Grant[]> {
  const contractors = new Set(engagement.contractors);
  const roots = grants.filter((g) => g.subject.type === 'user' && contractors.has(g.subject.id));
  const delegated = await Promise.all(roots.filter((g) => g.canDelegate).map((g) => descendantsOf(store, g)));
  const unique = new Map<string, Grant>();
  for (const grant of [...roots, ...delegated.flat()]) if (grant.status === 'active') unique.set(grant.id, grant);
  return [...unique.values()];
}

/**
 * The new owners' grants: one per owner per profile, valid until the engagement's end, with the
 * scope and session limit the contractors had, and canDelegate. Whose authority they carry:
 * - created by a tvm-admin (its grants have no parent), or handed over by one: an admin's grant
 *   (depth 0), as POST /grants by an admin would make;
 * - created by the owner from their own grants and handed over by them: delegated from that same
 *   grant, which must still be usable (else FORBIDDEN: a tvm-admin can still hand it over), so
 *   revoking the owner's grant still takes everything below it. canDelegate only while the chain
 *   stays within MAX_DELEGATION_DEPTH.
 * An engagement past its end hands over no grants: they could never be used.
 */
async function newOwnerGrants(
  deps: HandoverDeps,
  principal: Principal,
  engagement: Engagement,
  grants: readonly Grant[],
  to: readonly string[],
  now: Date,
  meta: RequestMeta,
): Promise<{ create: Grant[]; parents: Grant[] }> {
  if (Date.parse(engagement.validUntil) <= now.getTime()) return { create: [], parents: [] };
  // New grants on a locked-down profile only for someone on its allow list (the revocations of the
  // handover still happen through the caller retrying once the lockdown is lifted).
  const [lockdown, profiles] = await Promise.all([
    deps.lockdown.getLockdown(),
    Promise.all(engagement.profiles.map((entry) => deps.store.getProfile(entry.profile))),
  ]);
  const existing = profiles.filter((profile): profile is Profile => profile !== undefined);
  await refuseChangeIfLockedOut(deps, { principal, meta, action: 'handover' }, lockdown, ...existing);
  const contractors = new Set(engagement.contractors);
  const templates: Grant[] = [];
  const parents = new Map<string, Grant>();
  for (const entry of engagement.profiles) {
    const template = grants.find((g) => g.profile === entry.profile && g.subject.type === 'user' && contractors.has(g.subject.id));
    if (!template) throw new ConflictError(`engagement ${engagement.id} has no contractor grant on profile "${entry.profile}"`);
    if (template.parentGrantId === undefined || isAdmin(deps, principal)) {
      templates.push(withoutLineage(template, { depth: 0, canDelegate: true }));
      continue;
    }
    const parent = await deps.store.getGrant(template.parentGrantId);
    if (!parent || !parent.canDelegate || !isUsable(parent, now)) {
      throw new ForbiddenError(
        `engagement ${engagement.id} was delegated from grant ${template.parentGrantId} on profile "${entry.profile}", ` +
          'which is no longer active: you cannot hand it over any more; a tvm-admin can',
      );
    }
    const depth = (parent.depth ?? 0) + 1;
    templates.push({ ...withoutLineage(template, { depth, canDelegate: depth < MAX_DELEGATION_DEPTH }), parentGrantId: parent.id });
    parents.set(parent.id, parent);
  }
  const create = to.flatMap((owner) =>
    templates.map((template): Grant => ({
      ...template,
      id: deps.ids.next(),
      subject: { type: 'user', id: owner },
      validFrom: now.toISOString(),
      createdBy: principal.id,
      createdAt: now.toISOString(),
      reason: `handover of ${grantReason(engagement.name)}`.slice(0, 256),
    })),
  );
  // Each written only while the grant it is delegated from is active: a revocation of that grant
  // racing the handover cannot miss them.
  return { create, parents: [...parents.values()] };
}

function withoutLineage(template: Grant, lineage: { depth: number; canDelegate: boolean }): Grant {
  const {
    parentGrantId: _parent,
    revokedAt: _revokedAt,
    revokedBy: _revokedBy,
    revokedReason: _revokedReason,
    ...rest
  } = template;
  return { ...rest, ...lineage, status: 'active' };
}

/**
 * The order to cut the contractors off: a person revocation each (every session of theirs on the
 * role ends, not only those vended through the engagement), on every role the engagement's
 * profiles point at or pointed at while a session of then can still be live.
 */
async function contractorsCutOff(
  deps: HandoverDeps,
  principal: Principal,
  engagement: Engagement,
  now: Date,
  meta: RequestMeta,
): Promise<CutOffOrder> {
  const profiles = await Promise.all(engagement.profiles.map((entry) => deps.store.getProfile(entry.profile)));
  return newCutOffOrder(deps.ids, { principal, meta, now }, {
    cause: 'engagement-handed-over',
    revocations: (before) => engagement.contractors.map((contractor) => ({ kind: 'person', sourceIdentity: toSourceIdentity(contractor), before })),
    roles: distinctRoles(profiles.flatMap((profile) => (profile ? rolesOf(profile, now) : []))),
    context: { engagementId: engagement.id },
  });
}

const profileList = (engagement: Engagement) => engagement.profiles.map((p) => p.profile);

const grantReason = (name: string) => `engagement "${name}"`;

/** createGrant's refusals name its own body fields: point them at the engagement's entry instead. */
function inProfileEntry(error: unknown, index: number, profile: string): unknown {
  const details = error instanceof TvmError && error.details ? { ...error.details } : undefined;
  const options = { cause: error, ...(details ? { details } : {}) };
  if (error instanceof ValidationError) {
    return new ValidationError(error.message.replace(/^body\./, `body.profiles.${index}.`), options);
  }
  if (error instanceof DelegationExceedsGrantError) {
    return new DelegationExceedsGrantError(`profile "${profile}": ${error.message}`, options);
  }
  if (error instanceof ScopeTooLargeError) {
    return new ScopeTooLargeError(`profile "${profile}" (body.profiles.${index}): ${error.message}`, options);
  }
  return error;
}
