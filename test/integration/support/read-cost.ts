// Reads counted from DynamoDB Local's own answers, through the real SDK client: what a flood test
// measures (items each Query examined, items each get returned, pages, capacity charged).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ReadCost {
  /** Read requests (GetItem, Query, BatchGetItem…), pages included. */
  readonly requests: number;
  /** Items DynamoDB read to answer them: what a Query examined before its filter, what a get returned. */
  readonly itemsRead: number;
  /** The read capacity DynamoDB charged for them (ReturnConsumedCapacity). */
  readonly capacityUnits: number;
}

/** A document client whose reads are counted; `take()` returns the cost since the last take. */
export function countingClient(endpoint: string): { documentClient: DynamoDBDocumentClient; take(): ReadCost } {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  let cost = { requests: 0, itemsRead: 0, capacityUnits: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const isRead = /^(Query|Scan|GetItem|BatchGetItem)Command$/.test(context.commandName ?? '');
      if (isRead) (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as {
        ScannedCount?: number;
        Item?: unknown;
        Responses?: Record<string, unknown[]>;
        ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
      };
      if (isRead) {
        cost.requests += 1;
        cost.itemsRead +=
          output.ScannedCount ?? (output.Item ? 1 : 0) + Object.values(output.Responses ?? {}).reduce((n, items) => n + items.length, 0);
        cost.capacityUnits += [output.ConsumedCapacity ?? []].flat().reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
      }
      return result;
    },
    { step: 'initialize', name: 'countReads' },
  );
  return {
    documentClient: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    take: () => {
      const taken = cost;
      cost = { requests: 0, itemsRead: 0, capacityUnits: 0 };
      return taken;
    },
  };
}
