// The anchoring's view of the audit table: the heads of the hash chains (by key, strongly
// consistent) and where an anchored event stands now (one item of the time index, by its id). It
// reads nothing else: the anchoring function's IAM allows BatchGetItem on CHAIN# keys only and a
// Query of the byTime index.
import { BatchGetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { anchoredHeadSchema, type AnchoredHead } from '../domain/chain-anchor-records.js';
import { StoreUnavailableError } from '../domain/errors.js';
import type { ChainHeadReader } from '../domain/ports.js';
import { BY_TIME_INDEX, chainId, DEFAULT_USE_SHARDS, headKeyOfChain, shardLabels, timePkOfChain } from './audit-keys.js';

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
    return labels.map((label) => chainId(day, label));
  }

  async readHeads(chains: readonly string[]): Promise<AnchoredHead[]> {
    const heads: AnchoredHead[] = [];
    for (let i = 0; i < chains.length; i += KEYS_PER_BATCH) {
      let keys: Record<string, unknown>[] = chains.slice(i, i + KEYS_PER_BATCH).map(headKeyOfChain);
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > 1) await this.pause(50 * 2 ** attempt);
        const out = await this.read(() =>
          this.client.send(new BatchGetCommand({ RequestItems: { [this.options.tableName]: { Keys: keys, ConsistentRead: true } } })),
        );
        heads.push(...(out.Responses?.[this.options.tableName] ?? []).flatMap(toAnchoredHead));
        keys = out.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
        if (keys.length > 0 && attempt >= MAX_BATCH_ATTEMPTS) {
          throw new StoreUnavailableError(`${keys.length} chain heads could not be read`);
        }
      }
    }
    return heads;
  }

  async linkOf(chain: string, eventId: string): Promise<{ seq: number; hash: string } | undefined> {
    const out = await this.read(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: BY_TIME_INDEX,
          KeyConditionExpression: 'GSI3PK = :pk AND SK = :id',
          ExpressionAttributeValues: { ':pk': timePkOfChain(chain), ':id': eventId },
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

/** A head item as an anchored head; one that is not a well-formed head is left unanchored (verify reports its chain). */
function toAnchoredHead(item: Record<string, unknown>): AnchoredHead[] {
  const parsed = anchoredHeadSchema.safeParse({
    chain: String(item.PK).slice('CHAIN#'.length),
    seq: item.seq,
    hash: item.hash,
    ...(typeof item.eventId === 'string' ? { eventId: item.eventId } : {}),
  });
  return parsed.success ? [parsed.data] : [];
}
