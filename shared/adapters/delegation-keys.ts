// Key construction for the delegations table, in one place (see resources/tables.yml).
import { createHash } from 'node:crypto';
import type { AccessRequest, CutOffOrder, Engagement, Grant, Profile, Subject } from '../domain/model.js';
import type { DelegatorQuota, QuotaEntry, QuotaUpdate } from '../domain/ports.js';
import { reachesUntil, recentCutOffOf, type RecentCutOff } from '../domain/recent-cut-offs.js';
import { roleKey } from '../domain/roles.js';
import { parseEngagement, parseGrant, parseProfile } from './stored-items.js';

export const PROFILE_SK = '#PROFILE';
export const PROFILES_GSI1PK = 'PROFILES';
export const BY_SUBJECT_INDEX = 'bySubject';
export const BY_GRANT_ID_INDEX = 'byGrantId';
export const ACTIVE_GRANTS_INDEX = 'activeGrants';
export const CHILD_GRANTS_INDEX = 'childGrants';
export const BY_CREATOR_INDEX = 'byCreator';

export const profilePk = (name: string) => `PROFILE#${name}`;
export const subjectKey = (subject: Subject) => `${subject.type}#${subject.id}`;
export const subjectGsi1Pk = (subject: Subject) => `SUBJECT#${subjectKey(subject)}`;
export const grantIdGsi2Pk = (id: string) => `GRANT#${id}`;
export const creatorGsi3Pk = (principalId: string) => `CREATOR#${principalId}`;
/** The key-range start of a grant's children in the childGrants index: `C#<parent id>#`. */
export const childGrantsPrefix = (parentId: string) => `C#${parentId}#`;
export const grantSkPrefix = 'GRANT#';

export function profileItem(profile: Profile): Record<string, unknown> {
  return {
    PK: profilePk(profile.name),
    SK: PROFILE_SK,
    GSI1PK: PROFILES_GSI1PK,
    GSI1SK: profile.name,
    entity: 'profile',
    ...profile,
  };
}

export function grantKey(grant: Pick<Grant, 'profile' | 'subject' | 'id'>): { PK: string; SK: string } {
  return { PK: profilePk(grant.profile), SK: `${grantSkPrefix}${subjectKey(grant.subject)}#${grant.id}` };
}

/** A grant's entry in byCreator (ops/backfill-indexes.ts adds it to grants stored before it). */
export const creatorIndexKeys = (grant: Pick<Grant, 'createdBy' | 'createdAt' | 'id'>) => ({
  GSI3PK: creatorGsi3Pk(grant.createdBy),
  GSI3SK: `${grant.createdAt}#${grant.id}`,
});

export function grantItem(grant: Grant): Record<string, unknown> {
  const activeKey = grant.status === 'active' ? activeGrantSortKey(grant) : undefined;
  return {
    ...grantKey(grant),
    GSI1PK: subjectGsi1Pk(grant.subject),
    GSI1SK: `PROFILE#${grant.profile}#${grant.id}`,
    GSI2PK: grantIdGsi2Pk(grant.id),
    ...creatorIndexKeys(grant),
    // A child is on its parent's profile (createGrant delegates within one), so in its partition.
    ...(grant.parentGrantId ? { LSI2SK: `${childGrantsPrefix(grant.parentGrantId)}${grant.id}` } : {}),
    ...(activeKey ? { LSI1SK: activeKey } : {}),
    entity: 'grant',
    subjectKey: subjectKey(grant.subject),
    ...grant,
  };
}

// The activeGrants index (LSI1SK), sparse: A#<subject>#<validUntil>#<id> while a grant is active,
// H#… once a handover revoked it, nothing after any other revocation. A subject is its digest: a
// '#' inside an id can't make one subject's key range take in another's, and no id is too long for
// a key. A vend reads the range from now on, so expired grants fall out of it by themselves.

/** The key-range start of a subject's grants in the activeGrants index: `A#<digest>#`. */
export const activeGrantsPrefix = (subject: Subject) => `A#${subjectDigest(subject)}#`;
/** The same for grants a handover revoked: `H#<digest>#`. */
export const handedOverGrantsPrefix = (subject: Subject) => `H#${subjectDigest(subject)}#`;
/** Above every `<validUntil>#<id>` that follows a prefix (ISO times and ids are ASCII below '~'). */
export const KEY_RANGE_END = '~';

export function activeGrantSortKey(grant: Pick<Grant, 'subject' | 'validUntil' | 'id'>): string | undefined {
  return sortKeyAfter(activeGrantsPrefix(grant.subject), grant);
}

export function handedOverGrantSortKey(grant: Pick<Grant, 'subject' | 'validUntil' | 'id'>): string | undefined {
  return sortKeyAfter(handedOverGrantsPrefix(grant.subject), grant);
}

/** `now` as the index compares it with a grant's validUntil. */
export const indexTime = (now: Date) => now.toISOString();

// An unparseable validUntil gives no key: such a grant can never vend (fail closed).
function sortKeyAfter(prefix: string, grant: Pick<Grant, 'validUntil' | 'id'>): string | undefined {
  const until = new Date(grant.validUntil);
  if (Number.isNaN(until.getTime())) return undefined;
  return `${prefix}${indexTime(until)}#${grant.id}`;
}

// Over the UTF-16 code units, so even ids that are not well-formed Unicode stay distinct.
function subjectDigest(subject: Subject): string {
  return createHash('sha256').update(Buffer.from(subjectKey(subject), 'utf16le')).digest('base64url');
}

const KEY_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI3PK', 'GSI3SK', 'LSI1SK', 'LSI2SK', 'entity', 'subjectKey'];

function stripKeys(item: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...item };
  for (const key of KEY_ATTRIBUTES) delete copy[key];
  return copy;
}

export const toProfile = (item: Record<string, unknown>): Profile => parseProfile(stripKeys(item));
export const toGrant = (item: Record<string, unknown>): Grant => parseGrant(stripKeys(item));

// Engagements: ENGAGEMENT#<id> / #ENGAGEMENT, listed in bySubject as ENGAGEMENTS / <createdAt>#<id>.
// The item keeps the keys of the grants the engagement made, so its grants are read by key
// (consistently) rather than through an index.
export const ENGAGEMENT_SK = '#ENGAGEMENT';
export const ENGAGEMENTS_GSI1PK = 'ENGAGEMENTS';
export const engagementPk = (id: string) => `ENGAGEMENT#${id}`;
export const engagementKey = (id: string) => ({ PK: engagementPk(id), SK: ENGAGEMENT_SK });

export type GrantKey = ReturnType<typeof grantKey>;

/** An engagement's entry in bySubject (ops/backfill-indexes.ts adds it to those stored before it). */
export const engagementIndexKeys = (engagement: Pick<Engagement, 'createdAt' | 'id'>) => ({
  GSI1PK: ENGAGEMENTS_GSI1PK,
  GSI1SK: `${engagement.createdAt}#${engagement.id}`,
});

export function engagementItem(engagement: Engagement, grantKeys: readonly GrantKey[]): Record<string, unknown> {
  return {
    ...engagementKey(engagement.id),
    ...engagementIndexKeys(engagement),
    entity: 'engagement',
    ...engagement,
    grantKeys,
  };
}

export function toEngagement(item: Record<string, unknown>): Engagement {
  const { PK: _pk, SK: _sk, GSI1PK: _gsi1pk, GSI1SK: _gsi1sk, entity: _entity, grantKeys: _grantKeys, ...engagement } = item;
  return parseEngagement(engagement);
}

export const grantKeysOf = (item: Record<string, unknown>): GrantKey[] => (item.grantKeys as GrantKey[] | undefined) ?? [];

// Revocation ledgers: REVOCATIONS / ROLE#<role key>, one per role (as IAM tells roles apart), in no
// index; all in one partition, so the schedule lists them with one Query (cut-offs are rare).
export const LEDGER_PK = 'REVOCATIONS';
export const ledgerKey = (roleArn: string) => ({ PK: LEDGER_PK, SK: `ROLE#${roleKey(roleArn)}` });

// Cut-off orders: CUTOFF / <order id>, from the decision that wrote one until it is carried out.
export const ORDERS_PK = 'CUTOFF';
export const cutOffOrderKey = (id: string) => ({ PK: ORDERS_PK, SK: id });

export function cutOffOrderItem(order: CutOffOrder): Record<string, unknown> {
  return { ...cutOffOrderKey(order.id), entity: 'cutoff', ...order };
}

// The lockdown: LOCKDOWN / #LOCKDOWN, one record. Beside it the cut-off epoch, LOCKDOWN /
// #CUTOFF-EPOCH, a counter every cut-off decision raises in its own transaction: a vend reads both
// with one Query, and a CLI compares the epoch with the one its cached credentials were vended at
// (GET /cut-off-epoch).
export const LOCKDOWN_PK = 'LOCKDOWN';
export const LOCKDOWN_KEY = { PK: LOCKDOWN_PK, SK: '#LOCKDOWN' };
export const CUTOFF_EPOCH_KEY = { PK: LOCKDOWN_PK, SK: '#CUTOFF-EPOCH' };

/** The order as one action of the decision's transaction: it exists exactly when the decision does. */
export function putCutOffOrder(tableName: string, order: CutOffOrder) {
  return { Put: { TableName: tableName, Item: cutOffOrderItem(order), ConditionExpression: 'attribute_not_exists(PK)' } };
}

/**
 * The epoch's rise, as one action of the transaction of every decision that revokes a grant or
 * cuts sessions off: no credential vended before it can still pass as current.
 */
export function raiseCutOffEpoch(tableName: string) {
  return { Update: { TableName: tableName, Key: CUTOFF_EPOCH_KEY, UpdateExpression: 'ADD epoch :one', ExpressionAttributeValues: { ':one': 1 } } };
}

// Recent cut-offs: LOCKDOWN / #CUT#<until>#<id>, what a decision cut off (recent-cut-offs.ts), for
// the vend to read with the lockdown while it still reaches new sessions: a Query from
// `#CUT#<now>` on finds those, the lockdown and the epoch (both sort after every `#CUT#2…`).
// The table's TTL deletes them a day after.
export const RECENT_CUT_OFF_PREFIX = '#CUT#';
const RECENT_CUT_OFF_KEPT_SECONDS = 86_400;

export function recentCutOffKey(cutOff: RecentCutOff, id: string) {
  return { PK: LOCKDOWN_PK, SK: `${RECENT_CUT_OFF_PREFIX}${reachesUntil(cutOff)}#${id}` };
}

/** The recent cut-off as one action of its decision's transaction (or of a fallback's record). */
export function putRecentCutOff(tableName: string, cutOff: RecentCutOff, id: string) {
  const expiresAt = Math.ceil(Date.parse(reachesUntil(cutOff)) / 1000) + RECENT_CUT_OFF_KEPT_SECONDS;
  return {
    Put: {
      TableName: tableName,
      Item: { ...recentCutOffKey(cutOff, id), entity: 'recent-cutoff', roles: cutOff.roles, revocations: cutOff.revocations, expiresAt },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

/** Every write a decision that cuts sessions off makes besides its own: the order, what it cuts off, the epoch's rise. */
export function cutOffWrites(tableName: string, order: CutOffOrder) {
  return [putCutOffOrder(tableName, order), putRecentCutOff(tableName, recentCutOffOf(order), order.id), raiseCutOffEpoch(tableName)];
}

// A delegator's quota record: DELEGATOR#<principal> / #QUOTA, in no index. It lists the delegated
// grants the delegator made that were active when last written, with the keys to read their state.
export const delegatorQuotaKey = (delegator: string) => ({ PK: `DELEGATOR#${delegator}`, SK: '#QUOTA' });

/** The record as `update` leaves it: the next version. */
export function delegatorQuotaItem(update: QuotaUpdate): Record<string, unknown> {
  const record: DelegatorQuota = { delegator: update.delegator, version: update.expectedVersion + 1, grants: update.grants };
  return { ...delegatorQuotaKey(update.delegator), entity: 'delegator-quota', ...record };
}

export function toDelegatorQuota(delegator: string, item: Record<string, unknown> | undefined): DelegatorQuota {
  if (!item) return { delegator, version: 0, grants: [] };
  return { delegator, version: Number(item.version), grants: (item.grants as QuotaEntry[] | undefined) ?? [] };
}

/** The update that revokes an active grant, as one action of a transaction (conditional on it being active). */
export function revokeGrantAction(tableName: string, grant: Grant, by: string, at: string) {
  return {
    Update: {
      TableName: tableName,
      Key: grantKey(grant),
      // Out of the activeGrants index in the same write: no vend reads a revoked grant again.
      UpdateExpression: 'SET #status = :revoked, revokedAt = :at, revokedBy = :by, version = if_not_exists(version, :zero) + :one REMOVE LSI1SK',
      ConditionExpression: '#status = :active',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':revoked': 'revoked', ':active': 'active', ':at': at, ':by': by, ':zero': 0, ':one': 1 },
    },
  };
}

/** A check, in a transaction, that the profile is still at `generation` (not deleted, not re-created). */
export function profileGenerationCheck(tableName: string, profile: string, generation: string) {
  return {
    ConditionCheck: {
      TableName: tableName,
      Key: { PK: profilePk(profile), SK: PROFILE_SK },
      ConditionExpression: 'generation = :generation',
      ExpressionAttributeValues: { ':generation': generation },
    },
  };
}

// Access requests: REQUEST#<id> / #REQUEST. In bySubject under their requester (REQUESTER#<id>,
// newest last by `<createdAt>#<id>`), and while pending in byGrantId under PENDING_REQUESTS, a
// sparse key every decision removes: the pending ones are read without reading the decided ones.
// The table's TTL deletes items by `expiresAt`, so a request's is stored as `pendingUntil`.
export const PENDING_REQUESTS_GSI2PK = 'PENDING_REQUESTS';
export const requestKey = (id: string) => ({ PK: `REQUEST#${id}`, SK: '#REQUEST' });
export const requesterGsi1Pk = (requester: string) => `REQUESTER#${requester}`;
/** A requester's count of pending requests: PENDING#<requester> / #COUNT, written with every change of one. */
export const pendingCountKey = (requester: string) => ({ PK: `PENDING#${requester}`, SK: '#COUNT' });

export function requestItem(request: AccessRequest): Record<string, unknown> {
  const { expiresAt, ...fields } = request;
  return {
    ...requestKey(request.id),
    GSI1PK: requesterGsi1Pk(request.requester),
    GSI1SK: `${request.createdAt}#${request.id}`,
    ...(request.status === 'pending' ? { GSI2PK: PENDING_REQUESTS_GSI2PK } : {}),
    entity: 'request',
    ...fields,
    pendingUntil: expiresAt,
  };
}
