// Contractor engagements: outside work on a set of profiles. Contractors get grants while they
// build; the handover ends their access (grants revoked, live sessions cut off) and gives the owner,
// or whoever the handover names, full control.
import { assertNotLockedOut } from './manage-lockdown.js';
import { adminEvent, type AuditEvent } from './audit.js';
import {
  AlreadyHandedOverError,
  ConflictError,
  DelegationExceedsGrantError,
  ForbiddenError,
  NotFoundError,
  TvmError,
  ValidationError,
} from './errors.js';
import { isUsable } from './grant-selection.js';
import { createGrant, descendantsOf, MAX_DELEGATION_DEPTH, type GrantDeps } from './manage-grants.js';
import type { Engagement, Grant, Principal, RequestMeta, RevokedSession } from './model.js';
import {
  MAX_GRANTS_PER_REVOCATION,
  type AuditLog,
  type Clock,
  type DelegationStore,
  type EngagementStore,
  type IdGenerator,
  type LockdownStore,
  type SessionRevoker,
} from './ports.js';
import type { Revocation } from './revocation-policy.js';
import type { EngagementInput, GrantInput, HandoverInput } from './schemas.js';
import { toSourceIdentity } from './source-identity.js';

/** The revokedReason of every grant a handover revokes; the vend explains its refusal with it. */
export const ENGAGEMENT_HANDED_OVER = 'engagement-handed-over';

/**
 * Grants one engagement write may carry: a DynamoDB transaction takes 100 actions, one is the audit
 * event (hence MAX_GRANTS_PER_REVOCATION) and one the engagement itself.
 */
export const MAX_GRANTS_PER_ENGAGEMENT_WRITE = MAX_GRANTS_PER_REVOCATION - 1;

export type EngagementRecords = EngagementStore;

export interface EngagementDeps {
  readonly engagements: EngagementRecords;
  readonly store: DelegationStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly adminGroup: string;
  readonly securityGroup: string;
  /** When given, no engagement creates grants on a profile locked down against its creator. */
  readonly lockdown?: LockdownStore;
}

export interface HandoverDeps extends EngagementDeps {
  readonly audit: AuditLog;
  readonly revoker: SessionRevoker;
  /** Where a cut-off that failed, or a lost session.revoked record, is reported. */
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
}

/** An engagement as the API shows it: the record and its grants, each in its current state. */
export interface EngagementView extends Engagement {
  readonly grants: readonly Grant[];
}

/** A contractor session the handover could not cut off, and why. */
export interface SessionNotCut extends RevokedSession {
  readonly roleArn: string;
  readonly code: string;
  readonly message: string;
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

const isAdmin = (deps: Pick<EngagementDeps, 'adminGroup'>, principal: Principal) => principal.groups.includes(deps.adminGroup);

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
        `engagement, its audit event and the audit chain’s head)`,
      { details: { limit: MAX_GRANTS_PER_ENGAGEMENT_WRITE, grants: withHandover } },
    );
  }
  if (!isAdmin(deps, principal) && principal.id !== input.owner) {
    throw new ForbiddenError('only a tvm-admin may create an engagement for someone else; an owner creates their own');
  }

  const id = deps.ids.next();
  const validUntil = new Date(input.validUntil).toISOString();
  const templates: Grant[] = [];
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
      templates.push(await planGrant(deps, principal, grantInput, meta));
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
  await deps.engagements.createEngagement(
    engagement,
    grants,
    adminEvent(now, deps.ids.next(), 'engagement.created', principal, meta, {
      profiles: profileList(engagement),
      detail: { engagementId: id, ...engagement, grantIds: grants.map((g) => g.id) },
    }),
  );
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
 * POST /engagements/{id}/handover, by the owner or a tvm-admin:
 * 1. Read the engagement and its grants. Invisible to the caller: 404. Visible but not theirs to
 *    hand over (a contractor, tvm-security, a new owner): 403. Already handed over: 409
 *    ALREADY_HANDED_OVER with the first handover's summary.
 * 2. Plan: revoke the contractors' active grants and every active grant delegated from them; grant
 *    each new owner (`to`, default the owner) every profile with canDelegate (see newOwnerGrants
 *    for whose authority they carry). Everything must fit one transaction (400 naming the limit).
 * 3. Find the contractors' live sessions on the engagement's roles (from the audit trail).
 * 4. The decisive step, one transaction: engagement → handed-over (version + 1, only if unchanged),
 *    grants revoked with reason `engagement-handed-over`, new grants, `handover.completed`. From
 *    here no contractor can vend. A lost race: 409 CONFLICT; a grant changed meanwhile: retry.
 * 5. Cut off the contractors' sessions: a `person` revocation per contractor, issued before now, on
 *    each role, and a `session.revoked` event per cut session. IAM is outside the transaction: if a
 *    role's policy cannot be written the handover still stands, and the response lists the
 *    sessions that were NOT cut (`sessionsNotCut`, also logged through `warn`); they have no
 *    `session.revoked` event. The engagement record and `handover.completed` list the sessions the
 *    cutoff targeted, being written before it.
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

    const now = deps.clock.now();
    const to = input.to ?? [engagement.owner];
    const revoke = await grantsToRevoke(deps.store, engagement, grants);
    const create = await newOwnerGrants(deps, principal, engagement, grants, to, now);
    if (revoke.length + create.length > MAX_GRANTS_PER_ENGAGEMENT_WRITE) {
      throw new ValidationError(
        `body.to: the handover would revoke ${revoke.length} grants (the contractors' and any delegated from them) ` +
          `and create ${create.length} ` +
          `(${to.length} new owners × ${engagement.profiles.length} profiles): ${revoke.length + create.length} in all, ` +
          `above the limit of ${MAX_GRANTS_PER_ENGAGEMENT_WRITE} (one DynamoDB transaction of 100 actions, less the ` +
          `engagement, its audit event and the audit chain’s head); hand over to fewer principals`,
        { details: { limit: MAX_GRANTS_PER_ENGAGEMENT_WRITE, grants: revoke.length + create.length } },
      );
    }
    const { roles, sessions } = await contractorSessions(deps, engagement, now);

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
        revokedSessions: sessions.map(toRevokedSession),
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
          // Written before the cutoff: which were cut is in their session.revoked events.
          sessionsToCut: sessions.map(toRevokedSession),
        },
      }),
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

    const cut = await cutOffContractors(deps, principal, engagement, roles, sessions, meta);
    return { engagementId: id, status: 'handed-over', revokedGrants: revoke.map((g) => g.id), newGrants: create.map((g) => g.id), ...cut, at };
  }
}

/**
 * The grant createGrant would make for `input`, after all of its checks, without writing it: the
 * store it is handed records the write instead of doing it. So an engagement's grants obey exactly
 * the rules of POST /grants, delegation containment included.
 */
export async function planGrant(deps: GrantDeps, principal: Principal, input: GrantInput, meta: RequestMeta): Promise<Grant> {
  let planned: Grant | undefined;
  const dryRun = new Proxy(deps.store, {
    get(target, property) {
      if (property === 'createGrant') {
        return async (grant: Grant) => {
          planned = grant;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  await createGrant({ ...deps, store: dryRun }, principal, input, meta);
  if (!planned) throw new Error('createGrant finished without writing a grant');
  return planned;
}

function maySee(deps: Pick<EngagementDeps, 'adminGroup' | 'securityGroup'>, principal: Principal, engagement: Engagement): boolean {
  return (
    principal.groups.includes(deps.adminGroup) ||
    principal.groups.includes(deps.securityGroup) ||
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
    revokedSessions: handover?.revokedSessions.length ?? 0,
  };
  return new AlreadyHandedOverError(
    `engagement ${engagement.id} was already handed over at ${summary.handedOverAt} by ${summary.handedOverBy}: ` +
      `${summary.revokedGrants} grants revoked, ${summary.newGrants} granted, ${summary.revokedSessions} sessions cut off`,
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
  const delegated = await Promise.all(roots.filter((g) => g.canDelegate).map((g) => descendantsOf(store, g.id)));
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
): Promise<Grant[]> {
  if (Date.parse(engagement.validUntil) <= now.getTime()) return [];
  // New grants on a locked-down profile only for someone on its allow list (the revocations of the
  // handover still happen through the caller retrying once the lockdown is lifted).
  const lockdown = await deps.lockdown?.getLockdown();
  for (const entry of engagement.profiles) assertNotLockedOut(lockdown, principal, entry.profile);
  const contractors = new Set(engagement.contractors);
  const templates: Grant[] = [];
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
  }
  return to.flatMap((owner) =>
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

interface LiveSession extends RevokedSession {
  readonly profile: string;
  readonly roleArn: string;
}

/**
 * The roles to cut off contractors on (each engagement profile's current role, and the role of any
 * live session on those profiles, in case the profile changed role since), and the contractors'
 * live sessions on those roles: a person cutoff ends every session of that person on the role, so
 * all of them are listed, not only those vended through the engagement.
 */
async function contractorSessions(
  deps: HandoverDeps,
  engagement: Engagement,
  now: Date,
): Promise<{ roles: string[]; sessions: LiveSession[] }> {
  const profileNames = new Set(engagement.profiles.map((p) => p.profile));
  const [profiles, issued] = await Promise.all([
    Promise.all([...profileNames].map((name) => deps.store.getProfile(name))),
    Promise.all(engagement.contractors.map((contractor) => deps.audit.liveIssuances(contractor, now))),
  ]);
  const live = issued.flat();
  const roles = new Set<string>(profiles.flatMap((p) => (p ? [p.roleArn] : [])));
  for (const event of live) if (profileNames.has(event.profile)) roles.add(event.roleArn);
  const sessions = new Map<string, LiveSession>();
  for (const event of live) {
    if (!roles.has(event.roleArn)) continue;
    sessions.set(event.accessKeyId, {
      accessKeyId: event.accessKeyId,
      sourceIdentity: event.sourceIdentity,
      expiration: event.expiration,
      profile: event.profile,
      roleArn: event.roleArn,
    });
  }
  return { roles: [...roles].sort(), sessions: [...sessions.values()] };
}

type RoleCutoff = { readonly ok: true; readonly fallback: boolean } | { readonly ok: false; readonly code: string; readonly message: string };

async function cutOffContractors(
  deps: HandoverDeps,
  principal: Principal,
  engagement: Engagement,
  roles: readonly string[],
  sessions: readonly LiveSession[],
  meta: RequestMeta,
): Promise<Pick<HandoverResult, 'revokedSessions' | 'sessionsNotCut' | 'roleWideFallback'>> {
  // Taken after the transaction: every session issued before it is cut, including one whose vend
  // was in flight while the grants were being revoked.
  const now = deps.clock.now();
  const revocations: Revocation[] = engagement.contractors.map((contractor) => ({
    kind: 'person',
    sourceIdentity: toSourceIdentity(contractor),
    before: now.toISOString(),
  }));
  const outcomes = new Map<string, RoleCutoff>(
    await Promise.all(
      roles.map(async (roleArn): Promise<[string, RoleCutoff]> => {
        try {
          const { fallback } = await deps.revoker.revoke(roleArn, revocations, now);
          return [roleArn, { ok: true, fallback }];
        } catch (error) {
          const code = error instanceof TvmError ? error.code : 'INTERNAL';
          const message = error instanceof TvmError ? error.message : 'the revocation policy could not be written';
          deps.warn?.('handover: sessions could not be cut off', { engagementId: engagement.id, roleArn, code, error });
          return [roleArn, { ok: false, code, message }];
        }
      }),
    ),
  );

  const revokedSessions: RevokedSession[] = [];
  const sessionsNotCut: SessionNotCut[] = [];
  for (const session of sessions) {
    // Every session's role is among `roles`, so each has an outcome.
    const outcome = outcomes.get(session.roleArn) ?? { ok: false, code: 'INTERNAL', message: 'its role was not cut off' };
    if (!outcome.ok) {
      sessionsNotCut.push({ ...toRevokedSession(session), roleArn: session.roleArn, code: outcome.code, message: outcome.message });
      continue;
    }
    revokedSessions.push(toRevokedSession(session));
    const event: AuditEvent = adminEvent(deps.clock.now(), deps.ids.next(), 'session.revoked', principal, meta, {
      profile: session.profile,
      accessKeyId: session.accessKeyId,
      detail: {
        ...toRevokedSession(session),
        roleArn: session.roleArn,
        cause: ENGAGEMENT_HANDED_OVER,
        engagementId: engagement.id,
        roleWideFallback: outcome.fallback,
      },
    });
    try {
      await deps.audit.append(event);
    } catch (error) {
      // The session is cut either way; handover.completed already names it.
      deps.warn?.('handover: a session.revoked event was lost', { engagementId: engagement.id, accessKeyId: session.accessKeyId, error });
    }
  }
  const roleWideFallback = [...outcomes.values()].some((o) => o.ok && o.fallback);
  return { revokedSessions, sessionsNotCut, roleWideFallback };
}

const toRevokedSession = (session: RevokedSession): RevokedSession => ({
  accessKeyId: session.accessKeyId,
  sourceIdentity: session.sourceIdentity,
  expiration: session.expiration,
});

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
  return error;
}
