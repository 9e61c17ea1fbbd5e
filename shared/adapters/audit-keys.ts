// Key construction for the audit table, in one place (see resources/tables.yml).
//
//   event   PRINCIPAL#<principal> / <event id>        GSI1PK KEY#<accessKeyId> (KEYUSE#<accessKeyId> for a use),
//                                                      GSI2PK PROFILE#<profile> (PROFILEUSE#<profile> for a use;
//                                                      PROFILES for an event about several profiles),
//                                                      GSI3PK TIME#<day>#<shard>,
//                                                      GSI4PK TYPE#<type>#<day>#<shard>,
//                                                      and for an issuance GSI5PK SESSIONS#<role key> /
//                                                      GSI5SK <expiration>#<event id>; for a use
//                                                      GSI5PK RECORDED#<recorded day>#<shard> /
//                                                      GSI5SK <recordedAt>#<event id>
//   head    CHAIN#<day>#<shard> / HEAD                 the last link of one hash chain (audit-chain.ts)
//
// That is the legacy layout: an event and its chain's head, two items per write. In the chain-keyed
// layout (the default, AuditLayout) an event is keyed by its place in its chain, so the chain's head
// is its last item and a write is one conditional put:
//
//   event   LINK#<day>#<shard> / SEQ#<seq, 12 digits>  XPK1, XPK2, XPK3, XPK4 as GSI1PK…GSI4PK above,
//                                                      XPK6 PRINCIPAL#<principal>; GSI5PK as above,
//                                                      for an issuance GSI5SK <expiration> alone
//
// The legacy indexes sort on the table's SK, which is a chain position here, hence the X indexes
// (…X and byPrincipal), sorted on the event's own `id`. An issuance's keys do not repeat the id (a
// GSI's sort key need not be unique, so an expiration needs none after it; a use's GSI5SK still
// ends with it) and the hashes are base64url (audit-chain.ts): a vend's record, with the usual
// lengths of names, fits in one write unit (1 KB; test/unit/audit-record-size.test.ts).
// Legacy items stay where they are (rewriting them would break their hashes): once the layout is
// chain-keyed, every read merges both layouts.
//   marker  ONCE#<key> / ONCE                          an append made idempotent on a key (AppendOptions.onceKey)
//   first   FIRSTUSE#<accessKeyId> / FIRSTUSE          the key of the key's first use from a source that counts
//
// <shard> is a label: `0`, `1`, … in the events chain set, `u0`, `u1`, … in the uses set.
//
// Event ids start with the ISO time, so every index sorts by time. Heads and markers carry no index
// key: no query or chain ever sees them.
//
// A key's uses have a partition of their own: a key is used thousands of times but issued, cut off
// and alerted on a handful, and "was this key cut off?" must not read every call made with it.
// For the same reason uses have hash chains of their own (a chain set with its own shards and
// heads) and a profile partition of their own: a flood of them, one per CloudTrail record, never
// races an issuance for a chain's head, nor fills the index partition a vend of that profile writes.
import type { AuditEvent, AuditEventType } from '../domain/audit.js';
import { roleKey } from '../domain/roles.js';
import { canonicalJson, hashItem, isChainKeyed } from './audit-chain.js';

export const BY_ACCESS_KEY_INDEX = 'byAccessKey';
export const BY_PROFILE_INDEX = 'byProfile';
export const BY_TIME_INDEX = 'byTime';
export const BY_TYPE_INDEX = 'byType';
/**
 * Issuances by role, sorted by when they expire: the live sessions of a role are one range read
 * whose cost grows with them alone, not with what was recorded besides. In partitions of their own,
 * uses by when tvm recorded them (the alert schedule's re-check). Sparse: nothing else.
 */
export const BY_LIVE_SESSION_INDEX = 'bySessionRole';
/** The chain-keyed layout's indexes, sorted on `id` (the event's): byAccessKey's, byProfile's, byTime's, byType's, and a principal's events. */
export const BY_ACCESS_KEY_X_INDEX = 'byAccessKeyX';
export const BY_PROFILE_X_INDEX = 'byProfileX';
export const BY_TIME_X_INDEX = 'byTimeX';
export const BY_TYPE_X_INDEX = 'byTypeX';
export const BY_PRINCIPAL_INDEX = 'byPrincipal';

/**
 * How events are written (TVM_AUDIT_LAYOUT): `chain-keyed`, one item keyed by its chain position;
 * `legacy`, the event and its chain's head in one transaction (until the X indexes exist: README
 * "Upgrading"). Under `chain-keyed`, reads merge both; under `legacy` they read the legacy
 * indexes alone, as the X indexes may not exist yet, so the few changes too large for a legacy
 * transaction (writeChained records them chain-keyed) show in reads once the layout is switched;
 * verify and the anchors check them from the start.
 */
export const AUDIT_LAYOUTS = ['chain-keyed', 'legacy'] as const;
export type AuditLayout = (typeof AUDIT_LAYOUTS)[number];

export const principalPk = (principal: string) => `PRINCIPAL#${principal}`;
/** Everything recorded about an access key but its uses: issuance, cut-offs, alerts. */
export const accessKeyPk = (accessKeyId: string) => `KEY#${accessKeyId}`;
/** The calls made with an access key (`credential.used`). */
export const keyUsesPk = (accessKeyId: string) => `KEYUSE#${accessKeyId}`;
export const profilePk = (profile: string) => `PROFILE#${profile}`;
/** The calls made with keys of a profile. */
export const profileUsesPk = (profile: string) => `PROFILEUSE#${profile}`;
/**
 * The events about several profiles (lockdowns, engagements, handovers): a handful a day, so one
 * partition, read beside a profile's own and filtered on `profiles`. Profile names have no `#`.
 */
export const MULTI_PROFILE_PK = 'PROFILES';
export const timePk = (day: string, shard: ShardLabel) => `TIME#${day}#${shard}`;
export const typePk = (type: AuditEventType, day: string, shard: ShardLabel) => `TYPE#${type}#${day}#${shard}`;
export const sessionsPk = (roleArn: string) => `SESSIONS#${roleKey(roleArn)}`;
/** The uses recorded on a UTC day in one shard of the uses set. */
export const recordedUsesPk = (day: string, shard: ShardLabel) => `RECORDED#${day}#${shard}`;
/**
 * The sort key's inclusive lower bound for sessions still live at `now` (expirations normalized to
 * ISO with ms): a session expiring at `now` itself counts, keyed `<expiration>` (chain-keyed) or
 * `<expiration>#<event id>` (legacy) alike.
 */
export const liveFrom = (now: Date) => now.toISOString();

/** A chain is named by its time partition: `<day>#<shard label>`. */
export const chainId = (day: string, shard: ShardLabel) => `${day}#${shard}`;
export const chainHeadKey = (day: string, shard: ShardLabel) => headKeyOfChain(chainId(day, shard));
export const headKeyOfChain = (chain: string) => ({ PK: `CHAIN#${chain}`, SK: 'HEAD' });
/** The time partition that holds a chain's events. */
export const timePkOfChain = (chain: string) => `TIME#${chain}`;
/**
 * A chain-keyed chain is named `<day>#x<shard label>`: apart from the legacy chain of the same day
 * and shard (a layout switch, or instances of both versions during a deploy, may write both).
 */
export const linkChainId = (day: string, shard: ShardLabel) => `${day}#x${shard}`;
export const isLinkChain = (chain: string) => chain.slice(chain.indexOf('#') + 1).startsWith('x');
/** The base partition of a chain-keyed chain: its events in chain order. */
export const linkPk = (day: string, shard: ShardLabel) => `LINK#${day}#${shard}`;
export const linkPkOfChain = (chain: string) => `LINK#${chain.replace('#x', '#')}`;
/** A chain position as a sort key: zero-padded, so positions sort as numbers. */
export const seqSk = (seq: number) => `SEQ#${String(seq).padStart(12, '0')}`;
export const onceMarkerKey = (onceKey: string) => ({ PK: `ONCE#${onceKey}`, SK: 'ONCE' });
/** Where a key's first use from a source that counts is named (AppendOptions.firstCountedUse). */
export const firstUseKey = (accessKeyId: string) => ({ PK: `FIRSTUSE#${accessKeyId}`, SK: 'FIRSTUSE' });

/** The chains issuance and administration are recorded in, and the chains of uses. */
export type ChainSet = 'events' | 'uses';
/** How many chains the uses set has per day unless configured (TVM_AUDIT_USE_SHARDS). */
export const DEFAULT_USE_SHARDS = 8;
/**
 * The most chains either set may be configured with: readers take no event from a shard past it, and
 * verify looks at every shard below it, configured or not (a chain tvm does not write is reported).
 */
export const MAX_AUDIT_SHARDS = 64;
/** A shard's name in its time partition and chain: `3` in the events set, `u3` in the uses set. */
export type ShardLabel = string;

export const chainSetOf = (type: AuditEventType): ChainSet => (type === 'credential.used' ? 'uses' : 'events');
export const shardLabel = (set: ChainSet, shard: number): ShardLabel => (set === 'uses' ? `u${shard}` : String(shard));
/** Every shard label of a set with `shards` chains per day. */
export const shardLabels = (set: ChainSet, shards: number): ShardLabel[] =>
  Array.from({ length: shards }, (_, shard) => shardLabel(set, shard));

/** The UTC day (YYYY-MM-DD) of an instant: the day part of every time partition key. */
export const utcDay = (time: string | number | Date) => new Date(time).toISOString().slice(0, 10);

/** The event as stored in time partition `shard` of its day and chain set, before it is linked into it (legacy layout). */
export function auditItem(event: AuditEvent, shard: number): Record<string, unknown> {
  const keys = indexKeys(event, shard, 'legacy');
  return {
    ...event,
    PK: principalPk(event.principal),
    SK: event.id,
    ...(keys.byKey ? { GSI1PK: keys.byKey } : {}),
    ...(keys.byProfile ? { GSI2PK: keys.byProfile } : {}),
    GSI3PK: keys.byTime,
    GSI4PK: keys.byType,
    ...keys.byRecord,
  };
}

/** The event as stored at place `seq` of its chain on `shard` (chain-keyed layout), before it is linked. */
export function chainKeyedItem(event: AuditEvent, shard: number, seq: number): Record<string, unknown> {
  const keys = indexKeys(event, shard, 'chain-keyed');
  return {
    ...event,
    PK: linkPk(utcDay(event.at), keys.label),
    SK: seqSk(seq),
    ...(keys.byKey ? { XPK1: keys.byKey } : {}),
    ...(keys.byProfile ? { XPK2: keys.byProfile } : {}),
    XPK3: keys.byTime,
    XPK4: keys.byType,
    XPK6: principalPk(event.principal),
    ...keys.byRecord,
  };
}

/** The index partitions an event belongs to, in either layout. */
function indexKeys(event: AuditEvent, shard: number, layout: AuditLayout) {
  const day = utcDay(event.at);
  const label = shardLabel(chainSetOf(event.type), shard);
  const use = event.type === 'credential.used';
  return {
    label,
    byKey: event.accessKeyId ? (use ? keyUsesPk : accessKeyPk)(event.accessKeyId) : undefined,
    byProfile: event.profiles ? MULTI_PROFILE_PK : event.profile ? (use ? profileUsesPk : profilePk)(event.profile) : undefined,
    byTime: timePk(day, label),
    byType: typePk(event.type, day, label),
    byRecord: {
      ...(event.type === 'credential.issued' ? liveSessionKeys(event.roleArn, event.expiration, layout === 'legacy' ? event.id : undefined) : {}),
      ...(use ? recordedUseKeys(event.recordedAt, label, event.id) : {}),
    },
  };
}

/** Only for the writer's own stamp (canonical ISO): any other would sort out of every window. */
function recordedUseKeys(recordedAt: string | undefined, label: ShardLabel, id: string): { GSI5PK?: string; GSI5SK?: string } {
  const time = Date.parse(recordedAt ?? '');
  if (Number.isNaN(time) || new Date(time).toISOString() !== recordedAt) return {};
  return { GSI5PK: recordedUsesPk(utcDay(recordedAt), label), GSI5SK: `${recordedAt}#${id}` };
}

/** Keyed by expiration, followed by the event id in the legacy layout only (liveFrom reads both). */
function liveSessionKeys(roleArn: string, expiration: string, id: string | undefined): { GSI5PK?: string; GSI5SK?: string } {
  const expires = Date.parse(expiration);
  if (Number.isNaN(expires)) return {};
  const expiresAt = new Date(expires).toISOString();
  try {
    return { GSI5PK: sessionsPk(roleArn), GSI5SK: id === undefined ? expiresAt : `${expiresAt}#${id}` };
  } catch {
    return {}; // Not a role ARN: nothing tvm could cut off there anyway.
  }
}

export function toAuditEvent(item: Record<string, unknown>): AuditEvent {
  const {
    PK: _pk,
    SK: _sk,
    GSI1PK: _g1,
    GSI2PK: _g2,
    GSI3PK: _g3,
    GSI4PK: _g4,
    GSI5PK: _g5,
    GSI5SK: _g5s,
    XPK1: _x1,
    XPK2: _x2,
    XPK3: _x3,
    XPK4: _x4,
    XPK6: _x6,
    chainSeq: _seq,
    prevHash: _prev,
    hash: _hash,
    ...event
  } = item;
  return event as unknown as AuditEvent;
}

/** Whether a stored event item holds this very event (a write met again after a lost answer). */
export const isSameEvent = (stored: Record<string, unknown>, event: AuditEvent) => canonicalJson(toAuditEvent(stored)) === canonicalJson(event);

/** Every key attribute of either layout but `id` (an event field, hashed with it): an item must carry exactly its own layout's. */
const KEY_ATTRIBUTES = ['PK', 'SK', 'GSI1PK', 'GSI2PK', 'GSI3PK', 'GSI4PK', 'GSI5PK', 'GSI5SK', 'XPK1', 'XPK2', 'XPK3', 'XPK4', 'XPK6'] as const;

/**
 * Whether an event item is one tvm's writer could have written: linked into a chain, its hash
 * right for its content, and its keys the ones auditItem gives its content, in the time partition of
 * its own day and chain set (so the chain `verify` walks for that day holds it). An item put behind
 * tvm's back without all of that, e.g. a `credential.issued` naming an innocent principal, fails
 * here, and readers leave it out. It is no proof: whoever can write the table can also compute a
 * hash; such an item is one `verify` reports, because it cannot take a place in the chain without
 * breaking it.
 */
export function isIntactEventItem(item: Readonly<Record<string, unknown>>): boolean {
  const chainKeyed = isChainKeyed(item);
  const { chainSeq, prevHash, hash } = item;
  const timeKey = chainKeyed ? item.XPK3 : item.GSI3PK;
  if (!Number.isInteger(chainSeq) || (chainSeq as number) < 1 || typeof prevHash !== 'string' || typeof hash !== 'string') return false;
  if (typeof item.at !== 'string' || typeof item.id !== 'string' || typeof timeKey !== 'string') return false;
  if (Number.isNaN(Date.parse(item.at))) return false;
  if (hashItem(item) !== hash) return false;
  const shard = shardOfTimeKey(timeKey);
  if (shard === undefined) return false;
  const event = toAuditEvent(item);
  const expected = chainKeyed ? chainKeyedItem(event, shard, chainSeq as number) : auditItem(event, shard);
  return KEY_ATTRIBUTES.every((name) => item[name] === expected[name]);
}

/**
 * The shard number in a time-index key (`TIME#<day>#<label>`), below MAX_AUDIT_SHARDS. The label's
 * set is checked by rebuilding the keys: auditItem gives a use `u<n>`, anything else `<n>`.
 */
function shardOfTimeKey(timeKey: unknown): number | undefined {
  if (typeof timeKey !== 'string') return undefined;
  const label = /^u?(\d+)$/.exec(timeKey.slice(timeKey.lastIndexOf('#') + 1));
  return label && Number(label[1]) < MAX_AUDIT_SHARDS ? Number(label[1]) : undefined;
}

/**
 * Whether an event item stands where tvm puts its content in a chain: a chain-keyed one in its own
 * day's partition, at the place its `chainSeq` names, in its own time partition; a legacy one in the
 * time partition of its own day. Only these keys: index keys changed between versions of tvm, and
 * an item written before a change still stands where it was put.
 */
export function isInItsPlace(item: Readonly<Record<string, unknown>>): boolean {
  const { at, chainSeq } = item;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || !Number.isInteger(chainSeq) || (chainSeq as number) < 1) return false;
  if (!isChainKeyed(item)) return typeof item.GSI3PK === 'string' && item.GSI3PK.startsWith(timePk(utcDay(at), ''));
  const shard = shardOfTimeKey(item.XPK3);
  if (shard === undefined) return false;
  const expected = chainKeyedItem(toAuditEvent(item), shard, chainSeq as number);
  return (['PK', 'SK', 'XPK3'] as const).every((name) => item[name] === expected[name]);
}

/** The condition that makes every audit write an append: it never replaces an existing item. */
export const APPEND_ONLY_CONDITION = 'attribute_not_exists(PK)';
