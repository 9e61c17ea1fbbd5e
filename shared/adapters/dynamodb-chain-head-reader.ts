// The anchoring's view of the audit table: the heads of the hash chains, strongly consistent (a
// legacy chain's head item by key; a chain-keyed chain's last item, the head of its LINK# partition)
// where an anchored event stands now (one item of the time index, by its id), and the places, ids
// and dates of the events written since the last anchor. It reads nothing else: the anchoring
// function's IAM allows BatchGetItem on CHAIN# keys only, Query on LINK# keys only, and a Query of
// the byTime and byTimeX indexes.
import { BatchGetCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { anchoredHeadSchema, type AnchoredHead } from '../domain/chain-anchor-records.js';
import { StoreUnavailableError } from '../domain/errors.js';
import type { ChainHeadReader } from '../domain/ports.js';
import {
  BY_TIME_INDEX,
  BY_TIME_X_INDEX,
  chainId,
  DEFAULT_USE_SHARDS,
  headKeyOfChain,
  isLinkChain,
  linkChainId,
  linkPkOfChain,
  seqSk,
  shardLabels,
  timePkOfChain,
} from './audit-keys.js';

/** BatchGetItem takes 100 keys. */
const KEYS_PER_BATCH = 100;
/** Attempts at keys DynamoDB left unprocessed (throttling) before giving up. */
const MAX_BATCH_ATTEMPTS = 5;
/** How long the time index gets to show a legacy chain's newest events before they count as missing. */
const INDEX_CATCH_UP_MS = 1_000;

export interface DynamoDbChainHeadReaderOptions {
  readonly tableName: string;
  readonly shards: number;
  readonly useShards?: number;
  /** Waits between attempts (default: a timer); tests pass one that returns at once. */
  readonly pause?: (milliseconds: number) => Promise<void>;
}

export class DynamoDbChainHeadReader implements ChainHeadReader {
  private readonly pause: (milliseconds: number) => Promise<void>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoDbChainHeadReaderOptions,
  ) {
    this.pause = options.pause ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
  }

  chainsOf(day: string): readonly string[] {
    const labels = [...shardLabels('events', this.options.shards), ...shardLabels('uses', this.options.useShards ?? DEFAULT_USE_SHARDS)];
    return [...labels.map((label) => chainId(day, label)), ...labels.map((label) => linkChainId(day, label))];
  }

  async readHeads(chains: readonly string[]): Promise<AnchoredHead[]> {
    const linked = chains.filter(isLinkChain);
    const heads = (await Promise.all(linked.map((chain) => this.lastLinkOf(chain)))).flat();
    const legacy = chains.filter((chain) => !isLinkChain(chain));
    for (let i = 0; i < legacy.length; i += KEYS_PER_BATCH) {
      let keys: Record<string, unknown>[] = legacy.slice(i, i + KEYS_PER_BATCH).map(headKeyOfChain);
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > 1) await this.pause(50 * 2 ** attempt);
        const out = await this.read(() =>
          this.client.send(new BatchGetCommand({ RequestItems: { [this.options.tableName]: { Keys: keys, ConsistentRead: true } } })),
        );
        heads.push(
          ...(out.Responses?.[this.options.tableName] ?? []).flatMap((item) =>
            toAnchoredHead({ chain: String(item.PK).slice('CHAIN#'.length), seq: item.seq, hash: item.hash, eventId: item.eventId }),
          ),
        );
        keys = out.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
        if (keys.length > 0 && attempt >= MAX_BATCH_ATTEMPTS) {
          throw new StoreUnavailableError(`${keys.length} chain heads could not be read`);
        }
      }
    }
    return heads;
  }

  /** A chain-keyed chain's head: its last item, as a head; none while the chain is empty. */
  private async lastLinkOf(chain: string): Promise<AnchoredHead[]> {
    const out = await this.read(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': linkPkOfChain(chain) },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
    );
    const last = out.Items?.[0];
    return last ? toAnchoredHead({ chain, seq: last.chainSeq, hash: last.hash, eventId: last.id }) : [];
  }

  async linksAfter(chain: string, seq: number, window: { through: number; datedFrom: string }): Promise<{ seq: number; id: unknown; at: unknown }[]> {
    if (isLinkChain(chain)) {
      return this.readLinks({
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :first AND :last',
        ExpressionAttributeValues: { ':pk': linkPkOfChain(chain), ':first': seqSk(seq + 1), ':last': seqSk(window.through) },
        ConsistentRead: true,
      });
    }
    // A legacy chain's time partition sorts by id: only the events from `datedFrom` on, by place.
    const read = () =>
      this.readLinks({
        IndexName: BY_TIME_INDEX,
        KeyConditionExpression: 'GSI3PK = :pk AND SK >= :from',
        FilterExpression: 'chainSeq BETWEEN :first AND :last',
        ExpressionAttributeValues: { ':pk': timePkOfChain(chain), ':from': window.datedFrom, ':first': seq + 1, ':last': window.through },
      });
    const links = await read();
    if (links.length >= window.through - seq) return links;
    // The head was read consistently, the index may not show its newest events yet.
    await this.pause(INDEX_CATCH_UP_MS);
    return read();
  }

  private async readLinks(query: Omit<QueryCommandInput, 'TableName' | 'ProjectionExpression' | 'ExpressionAttributeNames'>): Promise<{ seq: number; id: unknown; at: unknown }[]> {
    const links: { seq: number; id: unknown; at: unknown }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.read(() =>
        this.client.send(
          new QueryCommand({
            ...query,
            TableName: this.options.tableName,
            ProjectionExpression: 'chainSeq, #id, #at',
            ExpressionAttributeNames: { '#id': 'id', '#at': 'at' },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      links.push(...(out.Items ?? []).map((item) => ({ seq: Number(item.chainSeq), id: item.id, at: item.at })));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return links;
  }

  async linkOf(chain: string, eventId: string): Promise<{ seq: number; hash: string } | undefined> {
    // The chain's events by time: a chain-keyed chain's (`<day>#x<shard>`) in byTimeX, on `id`.
    const linked = isLinkChain(chain);
    const out = await this.read(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: linked ? BY_TIME_X_INDEX : BY_TIME_INDEX,
          KeyConditionExpression: linked ? 'XPK3 = :pk AND #id = :id' : 'GSI3PK = :pk AND SK = :id',
          ...(linked ? { ExpressionAttributeNames: { '#id': 'id' } } : {}),
          ExpressionAttributeValues: { ':pk': timePkOfChain(linked ? chain.replace('#x', '#') : chain), ':id': eventId },
        }),
      ),
    );
    const item = out.Items?.[0];
    return item ? { seq: Number(item.chainSeq), hash: String(item.hash) } : undefined;
  }

  private async read<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StoreUnavailableError('the chain heads could not be read', { cause: error });
    }
  }
}

/** A chain's head as an anchored head; one that is not a well-formed head is left unanchored (verify reports its chain). */
function toAnchoredHead(head: { chain: string; seq: unknown; hash: unknown; eventId: unknown }): AnchoredHead[] {
  const parsed = anchoredHeadSchema.safeParse({
    chain: head.chain,
    seq: head.seq,
    hash: head.hash,
    ...(typeof head.eventId === 'string' ? { eventId: head.eventId } : {}),
  });
  return parsed.success ? [parsed.data] : [];
}
