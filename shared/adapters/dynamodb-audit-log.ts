import {
  GetCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import {
  EVERY_PROFILE,
  MULTI_PROFILE_EVENT_TYPES,
  type AuditEvent,
  type AuditEventType,
  type CredentialIssuedEvent,
  type CredentialUsedEvent,
} from '../domain/audit.js';
import type { AnchoredHead, ChainAnchor } from '../domain/chain-anchor-records.js';
import { anchorBreak, heldByAnchor, isBackdated, isEventsChain } from '../domain/chain-anchors.js';
import { MAX_SESSION_SECONDS } from '../domain/duration.js';
import { StoreUnavailableError, ValidationError } from '../domain/errors.js';
import { fromCursor, isEventIdCursor, toCursor } from '../domain/schemas.js';
import type {
  AppendOptions,
  AuditLog,
  AuditPage,
  AuditQuery,
  BrokenLink,
  KeyControlEvent,
  KeyUsesPage,
  KeyUsesQuery,
  RecordedUses,
  VerifyReport,
} from '../domain/ports.js';
import { logger } from '../logger.js';
import { hashItem, verifyChain, type ChainBreak, type ChainHead, type ChainReport } from './audit-chain.js';
import {
  accessKeyPk,
  BY_ACCESS_KEY_INDEX,
  BY_ACCESS_KEY_X_INDEX,
  BY_PRINCIPAL_INDEX,
  BY_PROFILE_X_INDEX,
  BY_TIME_X_INDEX,
  BY_TYPE_X_INDEX,
  isLinkChain,
  linkPk,
  BY_LIVE_SESSION_INDEX,
  liveFrom,
  sessionsPk,
  BY_PROFILE_INDEX,
  BY_TIME_INDEX,
  BY_TYPE_INDEX,
  chainHeadKey,
  chainId,
  chainSetOf,
  DEFAULT_USE_SHARDS,
  isInItsPlace,
  isIntactEventItem,
  keyUsesPk,
  MAX_AUDIT_SHARDS,
  MULTI_PROFILE_PK,
  onceMarkerKey,
  firstUseKey,
  principalPk,
  profilePk,
  profileUsesPk,
  recordedUsesPk,
  shardLabels,
  timePk,
  toAuditEvent,
  typePk,
  utcDay,
  type ChainSet,
  type ShardLabel,
} from './audit-keys.js';
import { DynamoDbAuditWriter, type DynamoDbAuditWriterOptions } from './dynamodb-audit-writer.js';
import { writeChained, type ChainedWriteResult, type TransactItems } from './dynamodb-transactions.js';

export interface DynamoDbAuditLogOptions extends DynamoDbAuditWriterOptions {
  /** How far back a query served by the time or type index walks when it has no `from`. */
  readonly lookbackDays?: number;
  readonly now?: () => Date;
  /** Where items left out as not intact are reported (default: the logger, at warn). */
  readonly warn?: (message: string, data: Record<string, unknown>) => void;
  /** Waits (default: a timer); tests pass one that returns at once and records the waits. */
  readonly pause?: (milliseconds: number) => Promise<void>;
}

const MAX_PAGES_PER_PARTITION = 10;
/** Days one query walks on the sharded indexes before it returns a cursor to continue from. */
const MAX_DAYS_PER_QUERY = 31;
/**
 * Partitions (a day × shard each, one Query of up to MAX_PAGES_PER_PARTITION pages) one query of
 * the sharded indexes reads: it walks at most max(1, ⌊this / shards⌋) days, then hands a cursor on.
 */
export const MAX_PARTITION_READS_PER_QUERY = 256;
/**
 * The cursor that resumes below `day`: every event id of the day sorts at or above it (ids are
 * `<ISO time>#<unique>`, the unique part of printable characters from "!"), every earlier one below,
 * and it has the form the API takes back.
 */
const belowDay = (day: string) => `${day}T00:00:00.000Z#!`;

/**
 * The start of the UTC day whose ids sort around `key`: its date's, or the day before when it sorts
 * below that date's first id; NaN when it starts with no date.
 */
function dayOfKey(key: string): number {
  const start = Date.parse(`${key.slice(0, 10)}T00:00:00.000Z`);
  if (Number.isNaN(start) || utcDay(start) !== key.slice(0, 10)) return NaN;
  return key < new Date(start).toISOString() ? start - DAY_MS : start;
}

/** `range` narrowed to the ids of `day`; undefined when they do not meet. */
function withinDay(range: KeyRange, day: string): KeyRange | undefined {
  const first = `${day}T00:00:00.000Z`;
  const next = new Date(Date.parse(first) + DAY_MS).toISOString();
  const lower = range.lower !== undefined && range.lower > first ? range.lower : first;
  const upper = range.upper && range.upper.value < next ? range.upper : { value: next, exclusive: true };
  if (lower > upper.value || (lower === upper.value && upper.exclusive)) return undefined;
  return { lower, upper };
}

/**
 * A partition whose page ends in more items of one key than a page may read, or at a key no event
 * has: only someone with table access writes such items. Logged for the security team; the read goes
 * on from that key as from any other (refusing would let such items stop every reader, alerting too).
 */
function reportPadding(partition: Partition, key: string): void {
  logger.error('audit index partition padded with items tvm did not write', { index: partition.index ?? 'table', partition: partition.pk, key: key.slice(0, 200) });
}

/**
 * A page of `limit` of `items` (in page order) that never ends inside a run of one id: the next
 * page starts past its last id, and items of one id have no order among them, so the rest of the
 * run would be lost. Shorter when that cuts the page before the run; longer only when one run
 * fills it, which only items tvm did not write can do (one event, one id), and is returned whole.
 */
export function wholeIdPage<T extends { readonly id: string }>(items: readonly T[], limit: number): { readonly page: T[]; readonly last?: string } {
  if (items.length <= limit) return { page: [...items] };
  const last = items[limit - 1]?.id as string;
  if (items[limit]?.id !== last) return { page: items.slice(0, limit), last };
  const start = items.findIndex((item) => item.id === last);
  if (start > 0) return { page: items.slice(0, start), last: items[start - 1]?.id as string };
  const end = items.findIndex((item) => item.id !== last);
  return { page: items.slice(0, end === -1 ? items.length : end), last };
}

/**
 * How long verify gives the indexes to catch up before it reports events as missing: doubling waits,
 * 3.1 s in all, for every lagging chain at once (a verify request must answer within API Gateway's 29 s).
 */
export const INDEX_SETTLE_DELAYS_MS: readonly number[] = [100, 200, 400, 800, 1600];
/**
 * A chain whose head is older than this is not lagging: an index shows a write within a second or so.
 * Its findings are reported without waiting (the head's time is the writer's clock).
 */
const INDEX_LAG_WINDOW_MS = 60_000;

/** One partition of the table or of an index, and the attribute that names it. */
interface Partition {
  readonly pk: string;
  readonly pkName: PartitionKeyName;
  readonly index?: string;
  /** The sort key (the event id): the table's SK in the legacy layout, the event's own `id` in the chain-keyed one. */
  readonly sk?: 'SK' | 'id';
  /** Only the events whose `profiles` hold this profile or every profile (MULTI_PROFILE_PK). */
  readonly concerning?: string;
}

type PartitionKeyName = 'PK' | 'GSI1PK' | 'GSI2PK' | 'GSI3PK' | 'GSI4PK' | 'XPK1' | 'XPK2' | 'XPK3' | 'XPK4' | 'XPK6';

/** Where the chain-keyed layout keeps what a legacy partition holds: same key, its own index sorted on `id`. */
const CHAIN_KEYED_TWIN: Partial<Record<PartitionKeyName, { readonly pkName: PartitionKeyName; readonly index: string }>> = {
  PK: { pkName: 'XPK6', index: BY_PRINCIPAL_INDEX },
  GSI1PK: { pkName: 'XPK1', index: BY_ACCESS_KEY_X_INDEX },
  GSI2PK: { pkName: 'XPK2', index: BY_PROFILE_X_INDEX },
  GSI3PK: { pkName: 'XPK3', index: BY_TIME_X_INDEX },
  GSI4PK: { pkName: 'XPK4', index: BY_TYPE_X_INDEX },
};

/** Bounds on the sort key (the event id, which starts with its ISO time). */
interface KeyRange {
  /** Inclusive. */
  readonly lower?: string;
  readonly upper?: { readonly value: string; readonly exclusive: boolean };
}

/** Attribute equalities applied after the key condition. */
type Filters = Partial<Record<'principal' | 'profile' | 'accessKeyId' | 'type', string>>;

/** The whole audit log: DynamoDbAuditWriter's append, and every read the trail is queried with. */
export class DynamoDbAuditLog extends DynamoDbAuditWriter implements AuditLog {
  private readonly lookbackDays: number;
  private readonly now: () => Date;
  private readonly warn: (message: string, data: Record<string, unknown>) => void;
  private readonly pause: (milliseconds: number) => Promise<void>;

  constructor(
    client: DynamoDBDocumentClient,
    private readonly options: DynamoDbAuditLogOptions,
  ) {
    super(client, options);
    this.lookbackDays = options.lookbackDays ?? 30;
    this.now = options.now ?? (() => new Date());
    this.warn = options.warn ?? ((message, data) => logger.warn(message, data));
    this.pause = options.pause ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
  }

  /**
   * A legacy partition and its chain-keyed twin, read alike and merged by event id. While the
   * layout is still legacy the chain-keyed indexes may not exist yet (README "Upgrading").
   */
  private layoutsOf(partition: Partition): Partition[] {
    const twin = CHAIN_KEYED_TWIN[partition.pkName];
    if (this.options.layout === 'legacy' || !twin) return [partition];
    return [partition, { ...partition, ...twin, sk: 'id' }];
  }

  /** Every item of a partition in both layouts, oldest first; `input` builds one layout's Query. */
  private async readAllLayouts(partition: Partition, input: (layout: Required<Pick<Partition, 'pkName' | 'sk'>> & { readonly index?: string }) => QueryCommandInput) {
    const reads = await Promise.all(
      this.layoutsOf(partition).map((layout) => this.readAll(input({ pkName: layout.pkName, sk: layout.sk ?? 'SK', ...(layout.index ? { index: layout.index } : {}) }))),
    );
    return reads.flat().sort((a, b) => compareIds(String(a.id), String(b.id)));
  }

  liveIssuancesForProfile(profile: string, now: Date): Promise<CredentialIssuedEvent[]> {
    return this.live({ pk: profilePk(profile), pkName: 'GSI2PK', index: BY_PROFILE_INDEX }, now);
  }

  async liveIssuancesOnRole(roleArn: string, now: Date): Promise<CredentialIssuedEvent[]> {
    const items = await this.read(() =>
      this.readAll({
        TableName: this.options.tableName,
        IndexName: BY_LIVE_SESSION_INDEX,
        KeyConditionExpression: 'GSI5PK = :pk AND GSI5SK >= :now',
        ExpressionAttributeValues: { ':pk': sessionsPk(roleArn), ':now': liveFrom(now) },
      }),
    );
    return this.intact(items).map(toAuditEvent) as CredentialIssuedEvent[];
  }

  private async live(partition: Partition, now: Date): Promise<CredentialIssuedEvent[]> {
    // No session outlives AssumeRole's 12-hour ceiling, so only that window can hold live ones.
    const since = new Date(now.getTime() - MAX_SESSION_SECONDS * 1000).toISOString();
    const items = await this.read(() =>
      this.readAllLayouts(partition, (layout) => ({
        TableName: this.options.tableName,
        IndexName: layout.index,
        KeyConditionExpression: '#pk = :pk AND #sk > :since',
        FilterExpression: '#type = :issued AND expiration > :now',
        ExpressionAttributeNames: { '#pk': layout.pkName, '#sk': layout.sk, '#type': 'type' },
        ExpressionAttributeValues: {
          ':pk': partition.pk,
          ':since': since,
          ':issued': 'credential.issued',
          ':now': now.toISOString(),
        },
      })),
    );
    // The filter compares text, right for tvm's own stamps; each is compared here as an instant
    // too, so one written another way (no milliseconds) is not listed past its end.
    const live = (item: Record<string, unknown>) => Date.parse(String(item.expiration)) > now.getTime();
    return this.intact(items).filter(live).map(toAuditEvent) as CredentialIssuedEvent[];
  }

  async controlEventsForKey(accessKeyId: string): Promise<KeyControlEvent[]> {
    return (await this.controlItems(accessKeyId)).map(toAuditEvent) as KeyControlEvent[];
  }

  async findIssuance(accessKeyId: string): Promise<CredentialIssuedEvent | undefined> {
    const [issuance] = await this.controlItems(accessKeyId, 'credential.issued');
    return issuance ? (toAuditEvent(issuance) as CredentialIssuedEvent) : undefined;
  }

  /**
   * The intact items of a key's control partition, oldest first, all of them (a handful per key).
   * Uses live in a partition of their own; the filter on type also keeps out any written before.
   */
  private async controlItems(accessKeyId: string, type?: KeyControlEvent['type']): Promise<Record<string, unknown>[]> {
    const partition: Partition = { pk: accessKeyPk(accessKeyId), pkName: 'GSI1PK', index: BY_ACCESS_KEY_INDEX };
    const items = await this.read(() =>
      this.readAllLayouts(partition, (layout) => ({
        TableName: this.options.tableName,
        IndexName: layout.index,
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: type ? '#type = :type' : '#type <> :type',
        ExpressionAttributeNames: { '#pk': layout.pkName, '#type': 'type' },
        ExpressionAttributeValues: { ':pk': partition.pk, ':type': type ?? 'credential.used' },
      })),
    );
    return this.intact(items);
  }

  /**
   * One page of a key's uses (`limit`, as wholeIdPage cuts it), reading at most
   * MAX_PAGES_PER_PARTITION requests of each layout's partition and of the run of its last key,
   * merged by event id.
   */
  async usesOfKey(asked: KeyUsesQuery): Promise<KeyUsesPage> {
    const query = asked.cursor === undefined ? asked : { ...asked, cursor: fromCursor(asked.cursor) };
    const forward = query.oldestFirst === true;
    const partition: Partition = { pk: keyUsesPk(query.accessKeyId), pkName: 'GSI1PK', index: BY_ACCESS_KEY_INDEX };
    const reads = await this.read(() => Promise.all(this.layoutsOf(partition).map((layout) => this.usesIn(layout, query, forward))));
    const before = (a: string, b: string) => (forward ? compareIds(a, b) : compareIds(b, a));
    // A layout read only up to resumeAt: past it, the other's uses are not complete yet.
    const resumeAt = reads
      .flatMap((read) => (read.resumeAt === undefined ? [] : [read.resumeAt]))
      .sort(before)
      .shift();
    const uses = reads
      .flatMap((read) => read.uses)
      .filter((use) => resumeAt === undefined || before(use.id, resumeAt) <= 0)
      .sort((a, b) => before(a.id, b.id));
    const { page, last } = wholeIdPage(uses, query.limit);
    const nextCursor = last ?? resumeAt;
    return { uses: page, ...(nextCursor !== undefined ? { nextCursor: toCursor(nextCursor) } : {}) };
  }

  private async usesIn(partition: Partition, query: KeyUsesQuery, forward: boolean): Promise<{ uses: CredentialUsedEvent[]; resumeAt?: string }> {
    const sk = partition.sk ?? 'SK';
    const values: Record<string, unknown> = { ':pk': partition.pk };
    let key = '#pk = :pk';
    if (query.cursor !== undefined) {
      key += forward ? ' AND #sk > :cursor' : ' AND #sk < :cursor';
      values[':cursor'] = query.cursor;
    }
    const input: QueryCommandInput = {
      TableName: this.options.tableName,
      IndexName: partition.index,
      KeyConditionExpression: key,
      ExpressionAttributeNames: { '#pk': partition.pkName, ...(query.cursor !== undefined ? { '#sk': sk } : {}) },
      ExpressionAttributeValues: values,
      ScanIndexForward: forward,
      Limit: query.limit + 1,
    };
    const uses: CredentialUsedEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_PAGES_PER_PARTITION; page++) {
      const out = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      uses.push(...(this.intact(out.Items ?? []).map(toAuditEvent) as CredentialUsedEvent[]));
      startKey = out.LastEvaluatedKey;
      if (!startKey || uses.length > query.limit) break;
    }
    if (!startKey) return { uses };
    const end = await this.endOfRead(partition, {}, startKey, { full: uses.length > query.limit, cutId: uses[query.limit - 1]?.id, forward });
    return { uses: [...uses, ...(end.rest as CredentialUsedEvent[])], ...end.resume };
  }

  async isRecordedOnce(onceKey: string): Promise<boolean> {
    const out = await this.read(() =>
      this.client.send(
        new GetCommand({ TableName: this.options.tableName, Key: onceMarkerKey(onceKey), ConsistentRead: true, ProjectionExpression: 'PK' }),
      ),
    );
    return out.Item !== undefined;
  }

  /** Keys whose first counted use is known to be named (bounded: a Lambda instance sees few keys). */
  private readonly keysWithFirstUse = new Set<string>();

  /**
   * With firstCountedUse, the use is written together with its key's first-use name, put only if
   * the key has none (the table stays put-only: nothing is ever updated). When it has one, the
   * transaction is cancelled and the use written alone; the key is remembered, so that costs one
   * cancelled write per key and instance.
   */
  protected override async write(event: AuditEvent, options: AppendOptions): Promise<ChainedWriteResult> {
    if (options.firstCountedUse && event.type === 'credential.used' && !this.keysWithFirstUse.has(event.accessKeyId)) {
      const result = await writeChained(this.client, this.table, (useKey) => [firstUsePut(this.table.tableName, event, useKey)], event, options);
      if (result.outcome !== 'change-failed') return result;
      if (this.keysWithFirstUse.size >= MAX_KEYS_REMEMBERED) this.keysWithFirstUse.clear();
      this.keysWithFirstUse.add(event.accessKeyId);
    }
    return super.write(event, options);
  }

  async firstCountedUse(accessKeyId: string): Promise<CredentialUsedEvent | undefined> {
    const get = (Key: Record<string, unknown>) =>
      this.read(() => this.client.send(new GetCommand({ TableName: this.options.tableName, Key, ConsistentRead: true })));
    const marker = (await get(firstUseKey(accessKeyId))).Item;
    if (typeof marker?.usePk !== 'string' || typeof marker.useSk !== 'string') return undefined;
    const [use] = this.intact([(await get({ PK: marker.usePk, SK: marker.useSk })).Item].filter((item) => item !== undefined));
    const event = use ? toAuditEvent(use) : undefined;
    // Only a use of this very key counts: a marker pointed elsewhere by hand is ignored.
    return event?.type === 'credential.used' && event.accessKeyId === accessKeyId ? event : undefined;
  }

  /**
   * Each recorded day's partition of every uses shard, read oldest first a page at a time and
   * merged: memory holds a page per partition and the uses returned, however many were recorded.
   */
  async usesRecordedBetween(from: string, to: string, limit: number): Promise<RecordedUses> {
    const [lower, upper] = [`${isoTime('from', from)}#`, `${isoTime('to', to)}#~`];
    const days: string[] = [];
    for (let time = Date.parse(from); utcDay(time) <= utcDay(to); time += DAY_MS) days.push(utcDay(time));
    if (days.length > MAX_DAYS_PER_QUERY) throw new ValidationError(`uses recorded over more than ${MAX_DAYS_PER_QUERY} days are not read at once`);
    const labels = shardLabels('uses', this.options.useShards ?? DEFAULT_USE_SHARDS);
    const partitions = days.flatMap((day) => labels.map((label) => this.recordedIn(recordedUsesPk(day, label), lower, upper)));
    const uses: CredentialUsedEvent[] = [];
    try {
      const heads = await Promise.all(partitions.map((partition) => partition.next()));
      for (;;) {
        let oldest = -1;
        for (const [index, head] of heads.entries()) {
          if (head.done) continue;
          const current = heads[oldest];
          if (!current || current.done || String(head.value.GSI5SK) < String(current.value.GSI5SK)) oldest = index;
        }
        const next = heads[oldest];
        if (next === undefined || next.done) return { uses, truncated: false };
        if (uses.length === limit) return { uses, truncated: true };
        const [item] = this.intact([next.value]);
        if (item) uses.push(toAuditEvent(item) as CredentialUsedEvent);
        heads[oldest] = await (partitions[oldest] as AsyncGenerator<Record<string, unknown>>).next();
      }
    } catch (error) {
      throw new StoreUnavailableError('the audit trail could not be read', { cause: error });
    } finally {
      await Promise.all(partitions.map((partition) => partition.return(undefined)));
    }
  }

  private async *recordedIn(pk: string, lower: string, upper: string): AsyncGenerator<Record<string, unknown>> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: BY_LIVE_SESSION_INDEX,
          KeyConditionExpression: 'GSI5PK = :pk AND GSI5SK BETWEEN :lower AND :upper',
          ExpressionAttributeValues: { ':pk': pk, ':lower': lower, ':upper': upper },
          Limit: RECORDED_USES_PAGE,
          ExclusiveStartKey: startKey,
        }),
      );
      yield* out.Items ?? [];
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  }

  /**
   * Newest first, from the most selective key: access key, principal, profile, then the sharded
   * type or time index walked day by day. `from`/`to` bound the sort key; other filters are
   * applied after it. The cursor is the sort key below which the next page starts: the last event
   * returned or, when filters skipped more items than one request may read (or the walk reached
   * its day budget), the last key read, so a short page with a cursor never hides the events
   * beyond it.
   */
  async query(query: AuditQuery): Promise<AuditPage> {
    const range = keyRange(query.cursor === undefined ? query : { ...query, cursor: fromCursor(query.cursor) });
    try {
      const plan = planQuery(query);
      const { events, resumeAt } = !range
        ? { events: [] }
        : 'partitions' in plan
          ? await this.collectMerged(plan.partitions, range, plan.filters, query.limit)
          : await this.collectByDay(plan.partitionOf, this.labelsOf(plan.sets), range, query.limit);
      const { page, last } = wholeIdPage(events, query.limit);
      const nextCursor = last ?? resumeAt;
      return { events: page, ...(nextCursor ? { nextCursor: toCursor(nextCursor) } : {}) };
    } catch (error) {
      throw new StoreUnavailableError('the audit trail could not be read', { cause: error });
    }
  }

  /** Walks the days of the range (newest first), every shard of a day at once. */
  private async collectByDay(
    partitionOf: (day: string, shard: ShardLabel) => Partition,
    labels: readonly ShardLabel[],
    range: KeyRange,
    limit: number,
  ): Promise<PartitionRead> {
    const now = this.now().getTime();
    // Without `from`, the window is anchored to now, not to the cursor, so paging reaches the
    // same events whatever the page size.
    const oldestDay = range.lower ? utcDay(range.lower) : utcDay(now - (this.lookbackDays - 1) * DAY_MS);
    // Nothing is newer than now; a cursor or `to` from the future starts there instead of
    // walking years of empty days.
    const upperTime = range.upper ? dayOfKey(range.upper.value) : NaN;
    let time = Math.min(Number.isNaN(upperTime) ? Infinity : upperTime, now);
    const found: AuditEvent[] = [];
    const maxDays = Math.min(MAX_DAYS_PER_QUERY, Math.max(1, Math.floor(MAX_PARTITION_READS_PER_QUERY / labels.length)));
    for (let days = 0; found.length <= limit && utcDay(time) >= oldestDay; days++, time -= DAY_MS) {
      const day = utcDay(time);
      if (days === maxDays) {
        // Every event of the days walked is below or in `found`; the rest start below this day.
        return { events: newestFirst(found), resumeAt: belowDay(utcDay(time + DAY_MS)) };
      }
      // Only the day's own keys: a key of another date written into its partition can neither be
      // read nor become the cursor the next page starts its walk from.
      const ofDay = withinDay(range, day);
      if (ofDay === undefined) continue;
      const read = await this.collectMerged(labels.map((label) => partitionOf(day, label)), ofDay, {}, limit);
      found.push(...read.events);
      if (read.resumeAt) return { events: newestFirst(found), resumeAt: read.resumeAt };
    }
    return { events: newestFirst(found) };
  }

  /** Several partitions read at once and merged newest first, as one. */
  private async collectMerged(partitions: readonly Partition[], range: KeyRange, filters: Filters, limit: number): Promise<PartitionRead> {
    const reads = await Promise.all(
      partitions.flatMap((partition) => this.layoutsOf(partition)).map((partition) => this.collect(partition, range, filters, limit)),
    );
    const found = reads.flatMap((read) => read.events);
    // A partition read only down to resumeAt: below it, the others' events are not complete yet.
    const resumeAt = reads.flatMap((read) => (read.resumeAt ? [read.resumeAt] : [])).sort().pop();
    if (resumeAt) return { events: newestFirst(found.filter((event) => event.id >= resumeAt)), resumeAt };
    return { events: newestFirst(found) };
  }

  /**
   * At least limit + 1 matching events of one partition if it has them, newest first, within the
   * range, and every one of the id the read stopped at; with resumeAt when the page cap stopped the
   * read before limit + 1 matched.
   */
  private async collect(partition: Partition, range: KeyRange, filters: Filters, limit: number): Promise<PartitionRead> {
    const input = queryInput(this.options.tableName, partition, range, filters);
    const sk = partition.sk ?? 'SK';
    // Below a cursor the key condition leaves `from` out (queryInput): the read ends where it passes it.
    const floor = range.upper?.exclusive ? range.lower : undefined;
    const events: AuditEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_PAGES_PER_PARTITION && events.length <= limit; page++) {
      const out = await this.client.send(
        new QueryCommand({ ...input, ScanIndexForward: false, Limit: limit + 1, ExclusiveStartKey: startKey }),
      );
      const items = out.Items ?? [];
      const inRange = floor === undefined ? items : items.filter((item) => String(item[sk]) >= floor);
      events.push(...this.intact(inRange).map(toAuditEvent));
      startKey = out.LastEvaluatedKey;
      // Past `from`, by what it returned or, when filters held everything back, by where it stopped.
      if (!startKey || inRange.length < items.length || (floor !== undefined && String(startKey[sk]) < floor)) return { events };
    }
    if (!startKey) return { events };
    const end = await this.endOfRead(partition, filters, startKey, { full: events.length > limit, cutId: events[limit - 1]?.id, forward: false });
    return { events: [...events, ...end.rest], ...end.resume };
  }

  /**
   * The end of a read that stopped at `startKey`. Items of one key have no order, and copies of an
   * id padded in around the genuine one could hide it, so every item of a key is read before a page
   * is cut after it (`full`: the read stopped inside the run of `cutId`, the id a page of `limit`
   * would end at, wholeIdPage) or the next page resumes past it (`resume`). Padding it cannot read
   * past is reported.
   */
  private async endOfRead(
    partition: Partition,
    filters: Filters,
    startKey: Record<string, unknown>,
    read: { readonly full: boolean; readonly cutId: string | undefined; readonly forward: boolean },
  ): Promise<{ rest: AuditEvent[]; resume: { resumeAt?: string } }> {
    const key = String(startKey[partition.sk ?? 'SK']);
    if (read.full && read.cutId !== key) return { rest: [], resume: {} };
    const rest = await this.restOfRun(partition, filters, key, { startKey, forward: read.forward });
    if (rest === undefined || (!read.full && !isEventIdCursor(key))) reportPadding(partition, key);
    return { rest: rest ?? [], resume: read.full ? {} : { resumeAt: key } };
  }

  /**
   * The intact items of key `value` after `startKey`, in the read's direction; undefined when there
   * are more of them than MAX_PAGES_PER_PARTITION requests read (only items tvm did not write share
   * a key).
   */
  private async restOfRun(
    partition: Partition,
    filters: Filters,
    value: string,
    after: { readonly startKey: Record<string, unknown>; readonly forward: boolean },
  ): Promise<AuditEvent[] | undefined> {
    const run: QueryCommandInput = {
      ...queryInput(this.options.tableName, partition, { lower: value, upper: { value, exclusive: false } }, filters),
      ScanIndexForward: after.forward,
      Limit: 100,
    };
    const events: AuditEvent[] = [];
    let next: Record<string, unknown> | undefined = after.startKey;
    for (let page = 0; next && page < MAX_PAGES_PER_PARTITION; page++) {
      const out: QueryCommandOutput = await this.client.send(new QueryCommand({ ...run, ExclusiveStartKey: next }));
      events.push(...this.intact(out.Items ?? []).map(toAuditEvent));
      next = out.LastEvaluatedKey;
    }
    return next ? undefined : events;
  }

  /** The shard labels of the chain sets, events first. */
  private labelsOf(sets: readonly ChainSet[]): ShardLabel[] {
    const shards = { events: this.options.shards, uses: this.options.useShards ?? DEFAULT_USE_SHARDS };
    return sets.flatMap((set) => shardLabels(set, shards[set]));
  }

  /**
   * Checks every chain of both chain sets of every UTC day from `from` to `to` (each shard's time
   * partition against its head, and against its head in the day's anchor), then re-reads, with
   * doubling waits, the chains whose findings a lagging index could explain (an event or the newest
   * ones not showing yet): only what stays broken is reported. A chain the anchor names is checked
   * even when no shard of it is configured any more.
   * Reads only: nothing here writes the table.
   */
  async verify(from: Date, to: Date, anchors: readonly ChainAnchor[] = []): Promise<VerifyReport> {
    try {
      const checks: ChainCheck[] = [];
      // Every chain of a day: the legacy ones (`3`, `u3`) and the chain-keyed ones (`x3`, `xu3`).
      const shardLabelsOfDay = this.labelsOf(CHAIN_SETS);
      const labels = [...shardLabelsOfDay, ...shardLabelsOfDay.map((label) => `x${label}`)];
      // Readers take events from any shard below the cap: verify looks at each of them too.
      const allLabels = CHAIN_SETS.flatMap((set) => shardLabels(set, MAX_AUDIT_SHARDS)).flatMap((label) => [label, `x${label}`]);
      const unconfigured: BrokenLink[] = [];
      for (let time = Date.parse(utcDay(from)); utcDay(time) <= utcDay(to); time += DAY_MS) {
        const day = utcDay(time);
        const anchor = dayAnchorOf(anchors, day);
        const dayLabels = [...new Set([...labels, ...anchor.heads.keys()])];
        checks.push(...(await Promise.all(dayLabels.map((label) => this.checkChain(day, label, anchor)))));
        const unchecked = allLabels.filter((label) => !dayLabels.includes(label));
        for (const label of await this.chainsWithEvents(day, unchecked)) unconfigured.push({ id: `chain:${day}#${label}`, reason: 'unconfigured-chain' });
      }
      let lagging = checks.filter(mayBeIndexLag);
      for (const delay of INDEX_SETTLE_DELAYS_MS) {
        if (lagging.length === 0) break;
        await this.pause(delay);
        for (let i = 0; i < lagging.length; i += labels.length) {
          await Promise.all(lagging.slice(i, i + labels.length).map((check) => this.recheckChain(check)));
        }
        lagging = lagging.filter(mayBeIndexLag);
      }
      const broken: BrokenLink[] = [...checks.flatMap((check) => check.report.broken), ...unconfigured];
      const checked = checks.reduce((sum, check) => sum + check.report.checked, 0);
      return { ok: broken.length === 0, checked, broken };
    } catch (error) {
      throw new StoreUnavailableError('the audit trail could not be read', { cause: error });
    }
  }

  private async checkChain(day: string, shard: ShardLabel, anchor: DayAnchor): Promise<ChainCheck> {
    const anchored = anchor.heads.get(shard);
    const held = anchor.latest ? heldByAnchor(anchor.latest, chainId(day, shard)) : undefined;
    const against = { ...(anchored ? { anchored } : {}), ...(held ? { held } : {}) };
    if (isLinkChain(`${day}#${shard}`)) {
      // Chain-keyed: the chain is its base partition, read consistently (no index to lag), and its
      // head is its last item; a deleted newest item is what the anchors catch.
      const items = await this.readAll({
        TableName: this.options.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': linkPk(day, shard.slice(1)) },
        ConsistentRead: true,
      });
      const last = items[items.length - 1];
      const head = last && Number.isInteger(last.chainSeq) ? { seq: last.chainSeq as number, hash: String(last.hash), at: '' } : undefined;
      const check = { day, shard, head, settled: true, ...against };
      return { ...check, report: chainReport(check, items) };
    }
    // The head is read after the events: every event the index shows was committed with a head
    // at least as far along, so an event past this head was not written by tvm.
    const items = await this.chainItems(day, shard);
    const head = await this.readHead(day, shard);
    const check = { day, shard, head, ...against };
    return { ...check, report: chainReport(check, items) };
  }

  /** Which of these chains of `day` hold an event: one item read from each, a few chains at a time. */
  private async chainsWithEvents(day: string, shards: readonly ShardLabel[]): Promise<ShardLabel[]> {
    const found: ShardLabel[] = [];
    for (let i = 0; i < shards.length; i += PROBES_AT_ONCE) {
      const batch = shards.slice(i, i + PROBES_AT_ONCE);
      const held = await Promise.all(
        batch.map(async (shard) => {
          const out = await this.client.send(
            new QueryCommand(
              isLinkChain(`${day}#${shard}`)
                ? { TableName: this.options.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': linkPk(day, shard.slice(1)) }, Limit: 1 }
                : { TableName: this.options.tableName, IndexName: BY_TIME_INDEX, KeyConditionExpression: 'GSI3PK = :pk', ExpressionAttributeValues: { ':pk': timePk(day, shard) }, Limit: 1 },
            ),
          );
          return (out.Items ?? []).length > 0;
        }),
      );
      found.push(...batch.filter((_, k) => held[k]));
    }
    return found;
  }

  /** Checks the chain again against the head first read; events linked since are left for the next verify. */
  private async recheckChain(check: ChainCheck): Promise<void> {
    const { day, shard, head } = check;
    const items = await this.chainItems(day, shard);
    const later = await this.readHead(day, shard);
    const linkedSince = (item: Record<string, unknown>) => {
      const seq = Number(item.chainSeq);
      return seq > (head?.seq ?? 0) && seq <= (later?.seq ?? 0);
    };
    check.report = chainReport(check, items.filter((item) => !linkedSince(item)));
  }

  private chainItems(day: string, shard: ShardLabel): Promise<Record<string, unknown>[]> {
    return this.readAll({
      TableName: this.options.tableName,
      IndexName: BY_TIME_INDEX,
      KeyConditionExpression: 'GSI3PK = :pk',
      ExpressionAttributeValues: { ':pk': timePk(day, shard) },
    });
  }

  private async readHead(day: string, shard: ShardLabel): Promise<ChainHead | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: chainHeadKey(day, shard), ConsistentRead: true }),
    );
    return out.Item as ChainHead | undefined;
  }

  /** Every item of a Query, oldest first. */
  private async readAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** The items tvm's writer could have written as they stand; the others are left out, with a warning. */
  private intact(items: readonly Record<string, unknown>[]): Record<string, unknown>[] {
    return items.filter((item) => {
      if (isIntactEventItem(item)) return true;
      this.warn('left out an audit item that is not intact (not chained, hash or keys wrong): run verify', {
        id: item.id,
        PK: item.PK,
        SK: item.SK,
        // Either layout's keys: a chain-keyed item has the X ones (undefined ones are not logged).
        GSI1PK: item.GSI1PK,
        GSI3PK: item.GSI3PK,
        XPK1: item.XPK1,
        XPK3: item.XPK3,
      });
      return false;
    });
  }

  private async read<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StoreUnavailableError('the audit trail could not be read', { cause: error });
    }
  }
}

const MAX_KEYS_REMEMBERED = 10_000;
/** Uses read per request of one recorded-uses partition. */
const RECORDED_USES_PAGE = 200;

/** The key's first-use name, pointing at the use's item wherever its layout puts it. */
function firstUsePut(tableName: string, use: CredentialUsedEvent, useKey: { readonly PK: string; readonly SK: string }): TransactItems[number] {
  return {
    Put: {
      TableName: tableName,
      Item: { ...firstUseKey(use.accessKeyId), usePk: useKey.PK, useSk: useKey.SK },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

/** One chain's verification, updated as it is re-read. */
interface ChainCheck {
  readonly day: string;
  readonly shard: ShardLabel;
  /** The head as first read: what the chain is checked against. */
  readonly head: ChainHead | undefined;
  /** Read strongly consistently (a chain-keyed chain): nothing is lagging. */
  readonly settled?: boolean;
  /** The chain's head in the day's latest anchor: the chain must still extend it. */
  readonly anchored?: AnchoredHead;
  /** What that anchor holds of the chain (heldByAnchor): what is past it was written since. */
  readonly held?: { readonly seq: number; readonly at: string };
  report: ChainReport;
}

/** The chain's own links against its head, then its head and events against the anchored head. */
function chainReport(check: Omit<ChainCheck, 'report'>, items: readonly Record<string, unknown>[]): ChainReport {
  const chain = chainId(check.day, check.shard);
  const report = verifyChain(items, check.head, chain);
  // Linked and hashing right, but not where tvm puts it: found by nothing else.
  const reported = new Set(report.broken.map((link) => link.id));
  const misplaced = items.filter((item) => !isInItsPlace(item) && !reported.has(findingId(item)) && typeof item.hash === 'string' && hashItem(item) === item.hash);
  const broken: ChainBreak[] = [
    ...report.broken,
    ...misplaced.map((item): ChainBreak => ({ id: findingId(item), reason: 'misplaced' })),
    ...backdatedEvents(check, chain, items),
  ];
  if (check.anchored) {
    const anchoredSeq = check.anchored.seq;
    const hashesAtAnchor = items.filter((item) => item.chainSeq === anchoredSeq).map((item) => String(item.hash));
    const reason = anchorBreak(check.anchored, { head: check.head, hashesAtAnchor });
    if (reason) broken.push({ id: `chain:${chain}`, reason });
  }
  return { ...report, broken };
}

/** How verify names an item in a finding: its event id, else its sort key. */
const findingId = (item: Readonly<Record<string, unknown>>) => String(item.id ?? item.SK);

/** The events of an events-set chain past what the anchor holds of it, dated back into what it covers. */
function backdatedEvents(check: Omit<ChainCheck, 'report'>, chain: string, items: readonly Record<string, unknown>[]): ChainBreak[] {
  const { held } = check;
  if (!held || !isEventsChain(chain)) return [];
  return items
    .filter((item) => typeof item.chainSeq === 'number' && item.chainSeq > held.seq && isBackdated({ at: item.at, id: item.id }, held.at))
    .map((item) => ({ id: findingId(item), reason: 'backdated' }));
}

/** `day`'s latest anchor, and its heads by shard label. */
interface DayAnchor {
  readonly latest?: ChainAnchor;
  readonly heads: Map<ShardLabel, AnchoredHead>;
}

function dayAnchorOf(anchors: readonly ChainAnchor[], day: string): DayAnchor {
  const latest = anchors.filter((anchor) => anchor.day === day).reduce<ChainAnchor | undefined>((a, b) => (a && Date.parse(a.at) >= Date.parse(b.at) ? a : b), undefined);
  const label = (chain: string) => (chain.startsWith(`${day}#`) ? [chain.slice(day.length + 1)] : []);
  return {
    ...(latest ? { latest } : {}),
    heads: new Map((latest?.heads ?? []).flatMap((head) => label(head.chain).map((shard) => [shard, head] as const))),
  };
}

/** An event not showing in the index yet looks like one deleted, or like an anchored one gone. */
const LAG_EXPLAINS = ['missing-before', 'head-mismatch', 'anchor-mismatch'];

/**
 * Findings a lagging index explains (an event of the chain, or its newest ones, not showing yet),
 * on a chain written to in the last minute. Everything else is reported at once.
 */
function mayBeIndexLag(check: ChainCheck): boolean {
  const recent = !check.settled && check.head !== undefined && Date.now() - Date.parse(check.head.at) < INDEX_LAG_WINDOW_MS;
  return recent && check.report.broken.some((link) => LAG_EXPLAINS.includes(link.reason));
}

interface PartitionRead {
  readonly events: AuditEvent[];
  /** The sort key of the last item read when the partition was not read to its end. */
  readonly resumeAt?: string;
}

const DAY_MS = 86_400_000;
/** Chains probed at once for events on shards tvm is not configured to write (one item read each). */
const PROBES_AT_ONCE = 32;
const CHAIN_SETS: readonly ChainSet[] = ['events', 'uses'];

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const newestFirst = (events: AuditEvent[]) => events.sort((a, b) => compareIds(b.id, a.id));

type QueryPlan =
  | { readonly partitions: readonly Partition[]; readonly filters: Filters }
  /** The sharded indexes: a partition per day and shard of the sets that can hold a match, its key the only filter. */
  | { readonly partitionOf: (day: string, shard: ShardLabel) => Partition; readonly sets: readonly ChainSet[] };

/** The most selective key the query names (access key > principal > profile > type > time). */
function planQuery(query: AuditQuery): QueryPlan {
  const { accessKeyId, principal, profile, type } = query;
  const filtersBut = (served: keyof Filters): Filters =>
    Object.fromEntries(
      Object.entries({ accessKeyId, principal, profile, type }).filter(([name, value]) => name !== served && value !== undefined),
    );
  if (accessKeyId) {
    // A key's uses and the rest of its record are two partitions; a type names one of them.
    const byKey = (pk: string): Partition => ({ pk, pkName: 'GSI1PK', index: BY_ACCESS_KEY_INDEX });
    const partitions = [
      ...(type === undefined || type === 'credential.used' ? [byKey(keyUsesPk(accessKeyId))] : []),
      ...(type !== 'credential.used' ? [byKey(accessKeyPk(accessKeyId))] : []),
    ];
    return { partitions, filters: filtersBut('accessKeyId') };
  }
  if (principal) return { partitions: [{ pk: principalPk(principal), pkName: 'PK' }], filters: filtersBut('principal') };
  if (profile) {
    // As for a key: a profile's uses and the rest of its events are two partitions; the events
    // about several profiles a third, shared by all profiles.
    const byProfile = (pk: string, concerning?: string): Partition => ({
      pk,
      pkName: 'GSI2PK',
      index: BY_PROFILE_INDEX,
      ...(concerning === undefined ? {} : { concerning }),
    });
    const partitions = [
      ...(type === undefined || type === 'credential.used' ? [byProfile(profileUsesPk(profile))] : []),
      ...(type !== 'credential.used' ? [byProfile(profilePk(profile))] : []),
      ...(type === undefined || isMultiProfileType(type) ? [byProfile(MULTI_PROFILE_PK, profile)] : []),
    ];
    return { partitions, filters: filtersBut('profile') };
  }
  if (type) {
    return { partitionOf: (day, shard) => ({ pk: typePk(type, day, shard), pkName: 'GSI4PK', index: BY_TYPE_INDEX }), sets: [chainSetOf(type)] };
  }
  return { partitionOf: (day, shard) => ({ pk: timePk(day, shard), pkName: 'GSI3PK', index: BY_TIME_INDEX }), sets: CHAIN_SETS };
}

const isMultiProfileType = (type: AuditEventType) => (MULTI_PROFILE_EVENT_TYPES as readonly AuditEventType[]).includes(type);

/** The sort-key range of a query, or undefined when it is empty. */
function keyRange(query: AuditQuery): KeyRange | undefined {
  const lower = query.from === undefined ? undefined : isoTime('from', query.from);
  // Ids are `<ISO time>#<unique>` and '~' sorts after '#': every id of the `to` millisecond is below.
  const toEnd = query.to === undefined ? undefined : `${isoTime('to', query.to)}~`;
  const upper =
    query.cursor !== undefined && (toEnd === undefined || query.cursor <= toEnd)
      ? { value: query.cursor, exclusive: true }
      : toEnd === undefined
        ? undefined
        : { value: toEnd, exclusive: false };
  if (lower !== undefined && upper && lower > upper.value) return undefined;
  return { ...(lower === undefined ? {} : { lower }), ...(upper ? { upper } : {}) };
}

/** Normalized, so it compares with the ids' `toISOString()` prefix. */
function isoTime(name: string, value: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new ValidationError(`${name}: not an ISO 8601 time`);
  return new Date(time).toISOString();
}

function queryInput(tableName: string, partition: Partition, range: KeyRange, filters: Filters): QueryCommandInput {
  const names: Record<string, string> = { '#pk': partition.pkName };
  const sk = partition.sk ?? 'SK';
  if (range.lower !== undefined || range.upper) names['#sk'] = sk;
  const values: Record<string, unknown> = { ':pk': partition.pk };
  const conditions: string[] = [];
  let key = '#pk = :pk';
  const { lower, upper } = range;
  if (upper) values[':upper'] = upper.value;
  // A cursor is an exclusive bound in the key condition itself: items that equal it are never read,
  // so copies of one id padded into a partition cannot stop a page short of the events below. BETWEEN
  // is inclusive, so with a cursor `from` is collect's to apply (it reads newest first and stops there).
  // One key is an equality (DynamoDB refuses a start key on a BETWEEN of one value).
  const one = lower !== undefined && upper !== undefined && !upper.exclusive && lower === upper.value;
  if (upper?.exclusive) key += ' AND #sk < :upper';
  else if (one) key += ' AND #sk = :upper';
  else if (lower !== undefined && upper) key += ' AND #sk BETWEEN :lower AND :upper';
  else if (lower !== undefined) key += ' AND #sk >= :lower';
  else if (upper) key += ' AND #sk <= :upper';
  if (lower !== undefined && !upper?.exclusive && !one) values[':lower'] = lower;
  for (const [name, value] of Object.entries(filters)) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    conditions.push(`#${name} = :${name}`);
  }
  if (partition.concerning !== undefined) {
    names['#profiles'] = 'profiles';
    values[':concerning'] = partition.concerning;
    values[':everyProfile'] = EVERY_PROFILE;
    conditions.push('(contains(#profiles, :concerning) OR contains(#profiles, :everyProfile))');
  }
  return {
    TableName: tableName,
    IndexName: partition.index,
    KeyConditionExpression: key,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ...(conditions.length > 0 ? { FilterExpression: conditions.join(' AND ') } : {}),
  };
}
