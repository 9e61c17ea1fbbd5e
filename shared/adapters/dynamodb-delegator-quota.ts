// The delegation quota's record in the delegations table (shared/domain/delegation-quota.ts decides):
// read consistently, written in the same transaction as the delegated grants it counts, only over
// the version read, so two delegations racing for the last place cannot both get it.
import { BatchGetCommand, GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../domain/errors.js';
import type { DelegatorQuota, QuotaEntry, QuotaUpdate } from '../domain/ports.js';
import type { TransactItems } from './dynamodb-transactions.js';
import { delegatorQuotaItem, delegatorQuotaKey, grantKey, toDelegatorQuota } from './delegation-keys.js';

/** BatchGetItem reads at most 100 keys per request. */
const MAX_BATCH_KEYS = 100;
const MAX_BATCH_ATTEMPTS = 5;

export async function readDelegatorQuota(client: DynamoDBDocumentClient, tableName: string, delegator: string): Promise<DelegatorQuota> {
  const out = await read(() =>
    client.send(new GetCommand({ TableName: tableName, Key: delegatorQuotaKey(delegator), ConsistentRead: true })),
  );
  return toDelegatorQuota(delegator, out.Item);
}

/** The ids of `entries` whose grant item is still active, read by key (strongly consistent). */
export async function readActiveGrantIds(
  client: DynamoDBDocumentClient,
  tableName: string,
  entries: readonly QuotaEntry[],
): Promise<Set<string>> {
  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < entries.length; start += MAX_BATCH_KEYS) {
    batches.push(entries.slice(start, start + MAX_BATCH_KEYS).map((entry) => grantKey(entry)));
  }
  const items = (await Promise.all(batches.map((keys) => batchGet(client, tableName, keys)))).flat();
  return new Set(items.filter((item) => item.status === 'active').map((item) => String(item.id)));
}

/** The transaction's write of the record: only over the version read (none stored: version 0). */
export function quotaWrite(tableName: string, update: QuotaUpdate): TransactItems[number] {
  const condition =
    update.expectedVersion === 0
      ? { ConditionExpression: 'attribute_not_exists(PK)' }
      : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': update.expectedVersion } };
  return { Put: { TableName: tableName, Item: delegatorQuotaItem(update), ...condition } };
}

async function batchGet(client: DynamoDBDocumentClient, tableName: string, keys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let pending = keys;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > MAX_BATCH_ATTEMPTS) throw new StoreUnavailableError('the delegated grants could not be read (throttled)');
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    const out = await read(() =>
      client.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ProjectionExpression: '#id, #status',
              ExpressionAttributeNames: { '#id': 'id', '#status': 'status' },
            },
          },
        }),
      ),
    );
    items.push(...(out.Responses?.[tableName] ?? []));
    pending = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
  }
  return items;
}

async function read<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw new StoreUnavailableError('the delegations table could not be read', { cause: error });
  }
}
