// The anchoring's view of the audit table: the heads of the hash chains, strongly consistent (a
// legacy chain's head item by key; a chain-keyed chain's last item, the head of its LINK# partition)
// and where an anchored event stands now (one item of the time index, by its id). It reads nothing
// else: the anchoring function's IAM allows BatchGetItem on CHAIN# keys only, Query on LINK# keys
// only, and a Query of the byTime and byTimeX indexes.
import { BatchGetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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

  async linksAfter(chain: string, seq: number): Promise<{ seq: number; id: unknown; at: unknown }[] | undefined> {
    const linked = isLinkChain(chain);
    // A legacy chain's events are in its day's time partition: read whole only while it is new.
    if (!linked && seq > 0) return undefined;
    const links: { seq: number; id: unknown; at: unknown }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.read(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            ...(linked
              ? {
                  KeyConditionExpression: 'PK = :pk AND SK > :after',
                  ExpressionAttributeValues: { ':pk': linkPkOfChain(chain), ':after': seqSk(seq) },
                  ConsistentRead: true,
                }
              : { IndexName: BY_TIME_INDEX, KeyConditionExpression: 'GSI3PK = :pk', ExpressionAttributeValues: { ':pk': timePkOfChain(chain) } }),
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
