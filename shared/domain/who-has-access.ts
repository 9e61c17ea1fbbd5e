// "Who has access": to one profile, right now — the grants that let someone vend, and the sessions
// already vended that still work.
import { issuedSession, type CredentialIssuedEvent, type IssuedSession } from './audit.js';
import { NotFoundError } from './errors.js';
import { appliesTo, isUsable } from './grant-selection.js';
import { MAX_DELEGATION_DEPTH } from './grant-rules.js';
import type { Grant, Subject } from './model.js';
import type { AuditLog, Clock, DelegationStore } from './ports.js';

/** One grant of a delegation chain. */
export interface ChainLink {
  readonly grantId: string;
  /** null when the grant's record could not be found. */
  readonly subject: Subject | null;
  /** Who made the grant: an admin for the root, the delegator below it. */
  readonly createdBy: string | null;
}

export interface GrantWithChain extends Grant {
  /** Root first, ending with this grant: how the authority reached its subject. */
  readonly chain: ChainLink[];
}

export interface LastUse {
  readonly at: string;
  readonly eventName: string;
  readonly sourceIPAddress: string;
}

export type LiveSession = IssuedSession &
  Pick<CredentialIssuedEvent, 'accessKeyId'> & {
    /** The newest recorded call made with the key; null when none was recorded. */
    readonly lastUse: LastUse | null;
  };

export interface ProfileAccess {
  readonly profile: string;
  /** The moment the answer holds for. */
  readonly at: string;
  readonly grants: GrantWithChain[];
  readonly sessions: LiveSession[];
}

export interface WhoHasAccessDeps {
  readonly store: Pick<DelegationStore, 'getProfile' | 'listGrants' | 'getGrant'>;
  readonly audit: Pick<AuditLog, 'liveIssuancesForProfile' | 'controlEventsForKey' | 'usesOfKey'>;
  readonly clock: Clock;
}

/** Keys whose audit history is read at once: enough to be quick, few enough not to throttle the table. */
const KEY_READS_IN_PARALLEL = 8;

/**
 * GET /audit/access?profile=:
 * 1. The profile must exist (404 otherwise).
 * 2. Grants: those on this profile generation usable now (active, validFrom ≤ now < validUntil),
 *    each with its delegation chain, followed through parentGrantId (each grant read once).
 * 3. Sessions: issuances on the profile not yet expired, less those cut off (a `session.revoked`
 *    under the key), each with its last recorded use (the newest by id: a use's id starts with its
 *    eventTime). A session outlives its grant's revocation until it expires or is cut off, so it is
 *    listed even when its grant is no longer.
 */
export async function whoHasAccess(deps: WhoHasAccessDeps, profileName: string): Promise<ProfileAccess> {
  const now = deps.clock.now();
  const profile = await deps.store.getProfile(profileName);
  if (!profile) throw new NotFoundError(`profile "${profileName}" does not exist`);

  const [onProfile, issuances] = await Promise.all([
    deps.store.listGrants({ profile: profile.name }),
    deps.audit.liveIssuancesForProfile(profile.name, now),
  ]);
  const chainOf = delegationChains(deps.store, onProfile);
  const usable = onProfile.filter((grant) => appliesTo(grant, profile) && isUsable(grant, now));
  const grants = await Promise.all(usable.map(async (grant) => ({ ...grant, chain: await chainOf(grant) })));

  const sessions = (await mapInBatches(issuances, KEY_READS_IN_PARALLEL, (issuance) => liveSession(deps.audit, issuance)))
    .filter((session): session is LiveSession => session !== undefined)
    .sort((a, b) => compare(b.issuedAt, a.issuedAt));

  return { profile: profile.name, at: now.toISOString(), grants, sessions };
}

/**
 * Follows parentGrantId to the root. Parents are on the same profile, so `known` usually holds them;
 * any other read happens once, however many grants share the ancestor.
 */
function delegationChains(store: Pick<DelegationStore, 'getGrant'>, known: readonly Grant[]) {
  const reads = new Map<string, Promise<Grant | undefined>>(known.map((grant) => [grant.id, Promise.resolve(grant)]));
  const read = (id: string) => {
    let grant = reads.get(id);
    if (!grant) reads.set(id, (grant = store.getGrant(id)));
    return grant;
  };
  return async (grant: Grant): Promise<ChainLink[]> => {
    const chain: ChainLink[] = [link(grant.id, grant)];
    let parentId = grant.parentGrantId;
    // Depth is bounded by MAX_DELEGATION_DEPTH; the guard also stops a corrupt cycle.
    for (let level = 0; parentId !== undefined && level <= MAX_DELEGATION_DEPTH; level++) {
      const parent = await read(parentId);
      chain.unshift(link(parentId, parent));
      parentId = parent?.parentGrantId;
    }
    return chain;
  };
}

const link = (grantId: string, grant: Grant | undefined): ChainLink => ({
  grantId,
  subject: grant ? grant.subject : null,
  createdBy: grant ? grant.createdBy : null,
});

async function liveSession(
  audit: Pick<AuditLog, 'controlEventsForKey' | 'usesOfKey'>,
  issuance: CredentialIssuedEvent,
): Promise<LiveSession | undefined> {
  const [keyEvents, { uses }] = await Promise.all([
    audit.controlEventsForKey(issuance.accessKeyId),
    audit.usesOfKey({ accessKeyId: issuance.accessKeyId, limit: 1 }),
  ]);
  if (keyEvents.some((event) => event.type === 'session.revoked')) return undefined;
  const [newestUse] = uses;
  return {
    accessKeyId: issuance.accessKeyId,
    ...issuedSession(issuance),
    lastUse: newestUse
      ? { at: newestUse.eventTime, eventName: newestUse.eventName, sourceIPAddress: newestUse.sourceIPAddress }
      : null,
  };
}

async function mapInBatches<T, R>(items: readonly T[], size: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(map))));
  }
  return results;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
