// The one way tvm writes an audit event, linked into its hash chain (audit-chain.ts). Chain-keyed
// (the default layout, audit-keys.ts): the event is keyed by its place in the chain, so one put,
// conditional on the place being free, both appends it and moves the chain's head (its last item);
// with a change to record, the change and that put in one TransactWriteItems. Legacy: the change,
// the event and the chain's new head item in one transaction. Either way no change goes
// unrecorded, no record describes a change that did not happen, and no event is left unchained.
//
// Chains are per time partition (day × shard), so writes on different shards never wait for each
// other; uses (credential.used) have a chain set of their own, with its own shards and leases, so a
// flood of them never holds a head an issuance needs (audit-keys.ts). A process leases a shard per write: its own concurrent writes never race for a head.
// Writers in other processes may; the loser learns the current head from its failed write, leaves
// that shard to the winner for a moment and retries on another one after a random backoff that
// doubles with each race it loses, and its process writes on fewer shards at once for a while
// (AuditChains). A process never holds every shard, so a busy writer (a trail import) always leaves a
// chain that a single write elsewhere can win. Each chain takes one write per round trip, so a burst
// of writers from many processes (Lambda instances each writing once) queues: losing a race is a
// wait, not a failure, until the write's time budget is spent. Size the shards to the peak write
// rate. Heads are written with Put, never Update, so a writer needs only dynamodb:PutItem on the
// audit table (and Query of a chain's last item, chain-keyed, for a chain it has not seen).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.js';
import { StoreUnavailableError } from '../domain/errors.js';
import { AUDIT_WRITE_ACTIONS, MAX_TRANSACTION_ACTIONS, type Clock } from '../domain/ports.js';
import { linkItem, type ChainHead } from './audit-chain.js';
import {
  APPEND_ONLY_CONDITION,
  auditItem,
  chainHeadKey,
  chainId,
  chainKeyedItem,
  linkChainId,
  linkPk,
  type AuditLayout,
  chainSetOf,
  DEFAULT_USE_SHARDS,
  isSameEvent,
  onceMarkerKey,
  principalPk,
  shardLabel,
  utcDay,
  type ChainSet,
  type ShardLabel,
} from './audit-keys.js';

/** Where the stores on the delegations table write, and where their audit events go. */
export interface DelegationsTableOptions {
  readonly tableName: string;
  readonly auditTableName: string;
  readonly auditShards: number;
  /** How audit events are written; chain-keyed unless said otherwise. */
  readonly auditLayout?: AuditLayout;
}

/** The audit table as a writer sees it. */
export interface AuditTable {
  readonly tableName: string;
  /** Chains per day of the events set: everything but uses. */
  readonly shards: number;
  /** Chains per day of the uses set (credential.used); DEFAULT_USE_SHARDS when left out. */
  readonly useShards?: number;
  /** Head cache and shard leases of the events set; by default the one every writer of this table in the process shares. */
  readonly chains?: AuditChains;
  /** The same for the uses set: a state of its own, so uses never hold a lease an issuance waits for. */
  readonly useChains?: AuditChains;
  /** How events are written; chain-keyed unless said otherwise. */
  readonly layout?: AuditLayout;
}

/** The changes a write records, or a function of the event item's key (a marker naming where it lands). */
export type Changes = TransactItems | ((eventKey: { readonly PK: string; readonly SK: string }) => TransactItems);

export type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/** What a transaction takes beside its audit write (chain-keyed: the event alone). */
export const MAX_CHANGES_PER_TRANSACTION = MAX_TRANSACTION_ACTIONS - AUDIT_WRITE_ACTIONS;

/**
 * How long one chained write keeps retrying lost races (another writer moved the head, or held it:
 * TransactionConflict) before it gives up: well inside the vend function's 25 s timeout, with room
 * for the reads and STS before it. Each lost race is progress for the chain (another event landed),
 * so under a burst the time spent waiting, not the number of races lost, is what to bound.
 */
const RACE_BUDGET_MS = 10_000;
/** And in any case no more attempts than this (a head that moves on every try, however quickly). */
const MAX_RACE_ATTEMPTS = 40;
/** A throttled transaction is a fault, not a race: at most this many attempts in all. */
const MAX_THROTTLED_ATTEMPTS = 3;
/** The random wait before the next attempt is up to BACKOFF_MS.base × 2^(races lost), at most max. */
const BACKOFF_MS = { base: 20, max: 1_000 };
/** How long a process leaves a shard it just lost on to the winner: random within these bounds. */
const CONTENDED_MS = { min: 50, max: 200 };
/** Heads remembered per table: a few days of every shard is plenty, the rest is re-learned. */
const MAX_CACHED_HEADS = 512;

export interface ShardLease {
  readonly shard: number;
  /** Frees the shard; after `lost`, this process avoids it for a moment and writes less at once. */
  release(lost?: boolean): void;
}

export interface AuditChainsOptions {
  /** How long one write keeps retrying lost races; RACE_BUDGET_MS by default. */
  readonly raceBudgetMs?: number;
  /** The writer's clock: race budget, backoff, pauses and the time heads are stamped with. */
  readonly clock?: Clock;
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** Uniform in [0, 1): the jitter of backoffs and pauses, and the first shard tried. */
  readonly random?: () => number;
}

/**
 * Per-process chain state of one audit table: the last head this process saw of each chain, the
 * shards its writes in flight hold, and how it shares the shards with other processes.
 *
 * The cached head is only a guess (another process may have moved it since); the head's condition
 * decides. Sharing works like TCP's congestion control: a process holds at most `limit` shards at
 * once (at first all but one, so a single write elsewhere always finds a free chain); a lost race
 * halves the limit and pauses that shard for this process, and every few wins grow it back by one.
 * A shard just written passes straight to the process's next waiting write, and a write with none
 * waiting starts from the shard this process last won on, so a process keeps to the chains it is
 * winning: its cached heads stay current, where a random pick per write would often find a head
 * another process had moved, and pay a failed transaction and a backoff for it (the benchmark's
 * finding; BENCHMARKS.md).
 */
export class AuditChains {
  /** How long one write keeps retrying lost races (RACE_BUDGET_MS unless a test says otherwise). */
  readonly raceBudgetMs: number;
  readonly clock: Clock;
  readonly sleep: (milliseconds: number) => Promise<void>;
  readonly random: () => number;
  private readonly heads = new Map<string, ChainHead | null>();
  private readonly leased = new Set<number>();
  private readonly contendedUntil = new Map<number, number>();
  /** Resolved with a shard handed over, or with undefined to try picking again. */
  private readonly waiting: ((shard: number | undefined) => void)[] = [];
  private wakeScheduled = false;
  private limit = Infinity;
  private winsSinceChange = 0;
  /** The shard this process last won a write on; unset after a lost race there. */
  private home: number | undefined;

  constructor(options: AuditChainsOptions = {}) {
    this.raceBudgetMs = options.raceBudgetMs ?? RACE_BUDGET_MS;
    this.clock = options.clock ?? { now: () => new Date() };
    this.sleep = options.sleep ?? ((milliseconds) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds)));
    this.random = options.random ?? Math.random;
  }

  /** Milliseconds on the writer's clock. */
  now(): number {
    return this.clock.now().getTime();
  }

  /** The cached head: a head, null when the chain is known not to exist yet, undefined when unknown. */
  head(chain: string): ChainHead | null | undefined {
    return this.heads.get(chain);
  }

  /** Drops the cached head: the next write reads it again. */
  forget(chain: string): void {
    this.heads.delete(chain);
  }

  remember(chain: string, head: ChainHead | null): void {
    this.heads.delete(chain);
    this.heads.set(chain, head);
    if (this.heads.size > MAX_CACHED_HEADS) this.heads.delete(this.heads.keys().next().value as string);
  }

  /**
   * A shard no other write of this process holds and none it just lost a race on, from the shard it
   * last won on (else a random one); waits while there is none or the limit is reached (a retry
   * ahead of new writes).
   */
  async lease(shards: number, options: { readonly retry?: boolean } = {}): Promise<ShardLease> {
    const most = Math.max(1, shards - 1);
    this.limit = Math.min(this.limit, most);
    for (let waited = false; ; waited = true) {
      const picked = this.pick(shards);
      if (picked !== undefined) {
        this.leased.add(picked);
        // One waiter is woken at a time; if there is room for more, it passes the turn on.
        if (waited) this.wakeNext();
        return this.leaseOf(picked, most);
      }
      const handed = await new Promise<number | undefined>((resolve) =>
        options.retry || waited ? this.waiting.unshift(resolve) : this.waiting.push(resolve),
      );
      if (handed !== undefined) return this.leaseOf(handed, most);
    }
  }

  private leaseOf(shard: number, most: number): ShardLease {
    let released = false;
    return {
      shard,
      release: (lost = false) => {
        if (released) return;
        released = true;
        if (lost) {
          if (this.home === shard) this.home = undefined;
          const pause = CONTENDED_MS.min + this.random() * (CONTENDED_MS.max - CONTENDED_MS.min);
          this.contendedUntil.set(shard, this.now() + pause);
          this.limit = Math.max(1, Math.floor(this.limit / 2));
          this.winsSinceChange = 0;
          this.leased.delete(shard);
          this.wakeNext();
          return;
        }
        this.home = shard;
        if (this.limit < most && ++this.winsSinceChange >= 4 * this.limit) {
          this.limit += 1;
          this.winsSinceChange = 0;
        }
        const next = this.leased.size <= this.limit ? this.waiting.shift() : undefined;
        if (next) return next(shard);
        this.leased.delete(shard);
        if (this.leased.size < this.limit) this.wakeNext();
      },
    };
  }

  private pick(shards: number): number | undefined {
    if (this.leased.size >= this.limit) return undefined;
    const now = this.now();
    const start = this.home !== undefined && this.home < shards ? this.home : Math.floor(this.random() * shards);
    const unleased = Array.from({ length: shards }, (_, i) => (start + i) % shards).filter((s) => !this.leased.has(s));
    const shard = unleased.find((s) => (this.contendedUntil.get(s) ?? 0) <= now);
    if (shard === undefined) this.wakeWhenUncontended(unleased, now);
    return shard;
  }

  private wakeNext(): void {
    this.waiting.shift()?.(undefined);
  }

  /** Every free shard was just lost on: wake a waiter when the first pause ends. */
  private wakeWhenUncontended(unleased: readonly number[], now: number): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    const soonest = Math.min(...unleased.map((s) => this.contendedUntil.get(s) ?? now));
    void this.sleep(soonest - now + 1).then(() => {
      this.wakeScheduled = false;
      this.wakeNext();
    });
  }
}

const chainsByTable = new Map<string, AuditChains>();

/** The chain state this process shares for one chain set of `tableName` (stores and the audit log alike). */
export function sharedAuditChains(tableName: string, set: ChainSet = 'events'): AuditChains {
  const key = `${set}:${tableName}`;
  let chains = chainsByTable.get(key);
  if (!chains) chainsByTable.set(key, (chains = new AuditChains()));
  return chains;
}

/** The chain set an event is linked into, its number of shards and this process's state of it. */
function chainSetFor(table: AuditTable, event: AuditEvent): { set: ChainSet; shards: number; chains: AuditChains } {
  const set = chainSetOf(event.type);
  if (set === 'uses') {
    return { set, shards: table.useShards ?? DEFAULT_USE_SHARDS, chains: table.useChains ?? sharedAuditChains(table.tableName, set) };
  }
  return { set, shards: table.shards, chains: table.chains ?? sharedAuditChains(table.tableName, set) };
}

export type ChainedWriteResult =
  | { readonly outcome: 'written' }
  /** A condition of one of the changes failed: nothing was written. */
  | { readonly outcome: 'change-failed' }
  /** The onceKey marker exists: the event was recorded before, nothing was written. */
  | { readonly outcome: 'duplicate' }
  /** An item with the event's key exists (returned as stored): nothing was written. */
  | { readonly outcome: 'event-exists'; readonly existing: Record<string, unknown>; readonly error: unknown };

interface CancellationReason {
  readonly Code?: string;
  /** Raw attribute values: the document client does not translate errors. */
  readonly Item?: Record<string, AttributeValue>;
}

/** Another transaction held one of the items: the same race as a moved head, met a moment earlier. */
const CONFLICT_CODE = 'TransactionConflict';
/** The table was briefly throttled. */
const THROTTLED_CODES = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded']);

/**
 * Writes `changes` and `event`, linked into the chain of its day on a leased shard of its chain set,
 * in one transaction. A write that loses a head race (or meets a conflict) is relinked and retried on
 * another shard after a random backoff, for at most the chains' race budget (and MAX_RACE_ATTEMPTS);
 * a throttled one at most MAX_THROTTLED_ATTEMPTS times; a write that only guessed the head of a chain
 * this process had not seen yet (or found it gone, or cached a head the table does not hold) is
 * relinked and retried at once.
 * Throws the SDK error when it cannot write.
 */
export async function writeChained(
  client: DynamoDBDocumentClient,
  table: AuditTable,
  changes: Changes,
  given: AuditEvent,
  options: { readonly onceKey?: string } = {},
): Promise<ChainedWriteResult> {
  const { chains } = chainSetFor(table, given);
  // A use says when tvm recorded it (the schedule re-checks uses by it), as hashed in its chain.
  const event: AuditEvent =
    given.type === 'credential.used' && given.recordedAt === undefined ? { ...given, recordedAt: chains.clock.now().toISOString() } : given;
  const legacy = table.layout === 'legacy';
  const legacyChanges = !legacy ? [] : typeof changes === 'function' ? changes({ PK: principalPk(event.principal), SK: event.id }) : changes;
  // A change too large for the legacy transaction (its head item is one action more) is recorded
  // chain-keyed: indexed once the X indexes exist, verified and anchored from its chain meanwhile.
  if (legacy && legacyChanges.length + LEGACY_AUDIT_ACTIONS + (options.onceKey === undefined ? 0 : 1) <= MAX_TRANSACTION_ACTIONS) {
    return writeLegacy(client, table, legacyChanges, event, options);
  }
  return writeChainKeyed(client, table, changes, event, options);
}

/** What a legacy audit write adds to a transaction: the event and its chain's head item. */
const LEGACY_AUDIT_ACTIONS = 2;

/**
 * Chain-keyed: the event at the place after the chain's last item, one put (a transaction with the
 * changes and the once-marker, when there are any) conditional on that place being free. A write
 * that finds it taken learns the item there (ALL_OLD) and relinks after it: on another shard after
 * a backoff, as a lost race in the legacy layout. A chain this process has not seen is read first
 * (its last item, consistently), so a write never guesses a place.
 */
async function writeChainKeyed(
  client: DynamoDBDocumentClient,
  table: AuditTable,
  changes: Changes,
  event: AuditEvent,
  options: { readonly onceKey?: string },
): Promise<ChainedWriteResult> {
  const { set, shards, chains } = chainSetFor(table, event);
  const day = utcDay(event.at);
  const giveUpAt = chains.now() + chains.raceBudgetMs;
  let lease = await chains.lease(shards);
  try {
    for (let attempt = 1, lost = 0, throttled = 0; ; attempt++) {
      const label = shardLabel(set, lease.shard);
      const chain = linkChainId(day, label);
      let previous = chains.head(chain);
      if (previous === undefined) {
        previous = await readLastLink(client, table.tableName, day, label, chains.clock.now().toISOString());
        chains.remember(chain, previous);
      }
      const seq = (previous?.seq ?? 0) + 1;
      const item = linkItem(chainKeyedItem(event, lease.shard, seq), previous ?? undefined);
      const head: ChainHead = { seq, hash: item.hash, at: chains.clock.now().toISOString(), eventId: event.id };
      const eventKey = { PK: String(item.PK), SK: String(item.SK) };
      const changeItems = typeof changes === 'function' ? changes(eventKey) : changes;
      assertFits(changeItems);
      const eventPut = { TableName: table.tableName, Item: item, ConditionExpression: APPEND_ONLY_CONDITION, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };
      const [eventAt, markerAt] = [changeItems.length, changeItems.length + 1];
      let occupant: Record<string, unknown> | undefined;
      let raced = false;
      try {
        if (changeItems.length === 0 && options.onceKey === undefined) {
          await client.send(new PutCommand(eventPut));
        } else {
          const marker = options.onceKey === undefined ? [] : [onceMarkerPut(table.tableName, options.onceKey, event.id)];
          await client.send(new TransactWriteCommand({ TransactItems: [...changeItems, { Put: eventPut }, ...marker] }));
        }
        chains.remember(chain, head);
        return { outcome: 'written' };
      } catch (error) {
        const reasons = (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
        if (reasons) {
          const failed = (index: number) => reasons[index]?.Code === 'ConditionalCheckFailed';
          if (options.onceKey !== undefined && failed(markerAt)) return { outcome: 'duplicate' };
          if (failed(eventAt)) {
            const stored = reasons[eventAt]?.Item;
            occupant = stored ? unmarshall(stored) : undefined;
            raced = true;
          } else if (reasons.slice(0, eventAt).some((reason) => reason.Code === 'ConditionalCheckFailed')) {
            return { outcome: 'change-failed' };
          } else if (reasons.some((reason) => reason.Code === CONFLICT_CODE)) raced = true;
          else if (reasons.some((reason) => THROTTLED_CODES.has(reason.Code ?? ''))) throttled += 1;
          else throw error;
        } else if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
          const stored = (error as { Item?: Record<string, AttributeValue> }).Item;
          occupant = stored ? unmarshall(stored) : undefined;
          raced = true;
        } else throw error;

        if (occupant?.id === event.id) {
          // This write's own item, met again (a retry after a lost response): written, unless the
          // content differs, which no retry of tvm's makes.
          if (!isSameEvent(occupant, event)) return { outcome: 'event-exists', existing: occupant, error };
          chains.remember(chain, head);
          return { outcome: 'written' };
        }
        // The item at the place taken is the chain's newer last link known; without it, re-read.
        if (occupant && Number.isInteger(occupant.chainSeq) && typeof occupant.hash === 'string') {
          chains.remember(chain, { seq: occupant.chainSeq as number, hash: occupant.hash, at: chains.clock.now().toISOString() });
        } else chains.forget(chain);
        if (raced) lost += 1;
        lease = await nextLease(chains, lease, shards, { attempt, lost, throttled, raced, giveUpAt }, error);
      }
    }
  } finally {
    lease.release();
  }
}

/**
 * After a write that did not land: the lease to try again with, after a random backoff that doubles
 * with each race lost, or the write's error once its race budget, its attempts or its throttled
 * tries are spent.
 */
async function nextLease(
  chains: AuditChains,
  lease: ShardLease,
  shards: number,
  tries: { readonly attempt: number; readonly lost: number; readonly throttled: number; readonly raced: boolean; readonly giveUpAt: number },
  error: unknown,
): Promise<ShardLease> {
  const backoff = chains.random() * Math.min(BACKOFF_MS.max, BACKOFF_MS.base * 2 ** tries.lost);
  const spent = tries.attempt >= MAX_RACE_ATTEMPTS || chains.now() + backoff >= tries.giveUpAt;
  if (tries.throttled >= MAX_THROTTLED_ATTEMPTS || spent) {
    lease.release(tries.raced);
    throw error;
  }
  // Another process is writing this chain: leave it to that one for a moment.
  lease.release(true);
  await chains.sleep(backoff);
  return chains.lease(shards, { retry: true });
}

/** A chain-keyed chain's last link, read consistently; null when the chain has no item yet. */
async function readLastLink(
  client: DynamoDBDocumentClient,
  tableName: string,
  day: string,
  label: ShardLabel,
  at: string,
): Promise<ChainHead | null> {
  const out = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': linkPk(day, label) },
      ExpressionAttributeNames: { '#hash': 'hash' },
      ProjectionExpression: 'chainSeq, #hash',
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const last = out.Items?.[0];
  return last ? { seq: Number(last.chainSeq), hash: String(last.hash), at } : null;
}

function onceMarkerPut(tableName: string, onceKey: string, eventId: string): TransactItems[number] {
  return { Put: { TableName: tableName, Item: { ...onceMarkerKey(onceKey), eventId }, ConditionExpression: APPEND_ONLY_CONDITION } };
}

/** Legacy: the event, its chain's new head item and the changes in one transaction. */
async function writeLegacy(
  client: DynamoDBDocumentClient,
  table: AuditTable,
  changes: TransactItems,
  event: AuditEvent,
  options: { readonly onceKey?: string },
): Promise<ChainedWriteResult> {
  const { set, shards, chains } = chainSetFor(table, event);
  const stampedAt = () => chains.clock.now().toISOString();
  const day = utcDay(event.at);
  const giveUpAt = chains.now() + chains.raceBudgetMs;
  let lease = await chains.lease(shards);
  try {
    for (let attempt = 1, lost = 0, throttled = 0; ; attempt++) {
      const label = shardLabel(set, lease.shard);
      const chain = chainId(day, label);
      const previous = chains.head(chain);
      const item = linkItem(auditItem(event, lease.shard), previous ?? undefined);
      const head: ChainHead = { seq: item.chainSeq, hash: item.hash, at: stampedAt(), eventId: event.id };
      const [eventAt, headAt, markerAt] = [changes.length, changes.length + 1, changes.length + 2];
      try {
        // A new command per attempt: the SDK's ClientRequestToken makes its own retries of one
        // command idempotent, and a relinked event is different content.
        const puts = chainedPuts(table.tableName, { item, head, previous, day, shard: label, onceKey: options.onceKey });
        await client.send(new TransactWriteCommand({ TransactItems: [...changes, ...puts] }));
        chains.remember(chain, head);
        return { outcome: 'written' };
      } catch (error) {
        const reasons = (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
        if (!reasons) throw error;
        const failed = (index: number) => reasons[index]?.Code === 'ConditionalCheckFailed';
        // The failed head condition returns the head as it is, or nothing when there is none.
        if (failed(headAt)) chains.remember(chain, toHead(reasons[headAt]?.Item));
        if (options.onceKey !== undefined && failed(markerAt)) return { outcome: 'duplicate' };
        if (failed(eventAt)) {
          const existing = reasons[eventAt]?.Item;
          return { outcome: 'event-exists', existing: existing ? unmarshall(existing) : {}, error };
        }
        if (reasons.slice(0, eventAt).some((reason) => reason.Code === 'ConditionalCheckFailed')) {
          return { outcome: 'change-failed' };
        }
        const stored = chains.head(chain);
        const unseen =
          failed(headAt) && (previous === undefined || !stored || (previous !== null && stored.seq === previous.seq));
        // Not a lost race: a guess about a chain this process had not seen, a head that is gone
        // (a table recreated under a running process) or a cached head the table never held.
        // Relink and go again, unless the head has just moved: another process is busy there and
        // would win the race.
        if (unseen && !isBusy(stored, chains.now()) && attempt < MAX_RACE_ATTEMPTS) continue;
        const raced = failed(headAt) || reasons.some((reason) => reason.Code === CONFLICT_CODE);
        if (!unseen) {
          if (raced) lost += 1;
          else if (reasons.some((reason) => THROTTLED_CODES.has(reason.Code ?? ''))) throttled += 1;
          else {
            lease.release();
            throw error;
          }
        }
        lease = await nextLease(chains, lease, shards, { attempt, lost, throttled, raced, giveUpAt }, error);
      }
    }
  } finally {
    lease.release();
  }
}

/** The event (never overwriting), the chain's new head (only over the head it links to), the marker. */
function chainedPuts(
  tableName: string,
  write: {
    readonly item: Record<string, unknown>;
    readonly head: ChainHead;
    readonly previous: ChainHead | null | undefined;
    readonly day: string;
    readonly shard: ShardLabel;
    readonly onceKey: string | undefined;
  },
): TransactItems {
  const { item, head, previous, day, shard, onceKey } = write;
  return [
    {
      Put: {
        TableName: tableName,
        Item: item,
        ConditionExpression: APPEND_ONLY_CONDITION,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: { ...chainHeadKey(day, shard), ...head },
        // An unseen chain is guessed to have no head yet; a wrong guess fails and returns the head.
        // The hash is checked with the seq: a cached head that is not the stored one (read from a
        // transaction that then rolled back) must fail here, not become the new event's prevHash.
        ...(previous
          ? {
              ConditionExpression: 'seq = :expected AND #hash = :hash',
              ExpressionAttributeNames: { '#hash': 'hash' },
              ExpressionAttributeValues: { ':expected': previous.seq, ':hash': previous.hash },
            }
          : { ConditionExpression: APPEND_ONLY_CONDITION }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    ...(onceKey === undefined
      ? []
      : [
          {
            Put: {
              TableName: tableName,
              Item: { ...onceMarkerKey(onceKey), eventId: item.id },
              ConditionExpression: APPEND_ONLY_CONDITION,
            },
          },
        ]),
  ];
}

/** A head written this recently belongs to a chain another process is writing right now. */
const BUSY_WITHIN_MS = 250;

function isBusy(head: ChainHead | null | undefined, now: number): boolean {
  return head ? now - Date.parse(head.at) < BUSY_WITHIN_MS : false;
}

function toHead(item: Record<string, AttributeValue> | undefined): ChainHead | null {
  if (!item) return null;
  const { seq, hash, at } = unmarshall(item) as ChainHead;
  return { seq, hash, at };
}

function assertFits(changes: TransactItems): void {
  if (changes.length > MAX_CHANGES_PER_TRANSACTION) {
    throw new RangeError(`a chained audit write takes at most ${MAX_CHANGES_PER_TRANSACTION} changes, got ${changes.length}`);
  }
}

/**
 * Writes `items` and the audit event atomically. Returns false when one of the change's own
 * conditions failed (nothing was written); retries a bounded number of times when another
 * transaction held an item or another process moved the chain's head; any other failure is
 * StoreUnavailableError.
 */
export async function writeWithAudit(
  client: DynamoDBDocumentClient,
  auditTable: AuditTable,
  items: TransactItems,
  audit: AuditEvent,
): Promise<boolean> {
  assertFits(items);
  let result: ChainedWriteResult;
  try {
    result = await writeChained(client, auditTable, items, audit);
  } catch (error) {
    throw new StoreUnavailableError('the change could not be written; nothing was changed', { cause: error });
  }
  if (result.outcome === 'event-exists') {
    throw new StoreUnavailableError('the change could not be written; nothing was changed', { cause: result.error });
  }
  return result.outcome === 'written';
}
