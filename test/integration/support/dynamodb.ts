// One DynamoDB Local per test file, driven through the real SDK clients. Tests get fresh tables under
// a new random stage name whenever they need a clean slate, so exact assertions on listings and
// scans hold, and files could share one DynamoDB Local without seeing each other's items.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../../local/dynamodb-local.js';
import { freePort } from '../../../local/processes.js';
import { createTables, tableNames } from '../../../local/tables.js';
import { failureOf } from '../../fixtures/failure.js';

/** The JVM takes a few seconds to start; the default 5 s hook timeout is too tight on a busy machine. */
const START_TIMEOUT_MS = 60_000;

export interface TestTables {
  readonly stage: string;
  readonly delegations: string;
  readonly audit: string;
}

export interface DynamoDbTestContext {
  readonly client: DynamoDBClient;
  /** Marshalled as in production (shared/adapters/aws-clients.ts): undefined values are dropped. */
  readonly documentClient: DynamoDBDocumentClient;
  /** Creates both tables (from resources/tables.yml) under a new `it-<random>` stage. */
  createTestTables(): Promise<TestTables>;
}

/**
 * Registers beforeAll/afterAll that start DynamoDB Local and stop it (and its JVM) again. Call at the
 * top of a test file; the returned function gives the context once beforeAll has run.
 */
export function useDynamoDbLocal(): () => DynamoDbTestContext {
  let local: DynamoDbLocal | undefined;
  let context: DynamoDbTestContext | undefined;

  beforeAll(async () => {
    local = await startDynamoDbLocal({ port: await freePort() });
    const client = new DynamoDBClient({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    context = {
      client,
      documentClient: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      createTestTables: async () => {
        const stage = uniqueStage();
        await createTables(client, stage);
        return { stage, ...tableNames(stage) };
      },
    };
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    context?.documentClient.destroy();
    await local?.stop();
  }, START_TIMEOUT_MS);

  return () => {
    if (!context) throw new Error('DynamoDB Local is not running: useDynamoDbLocal() must be called at file level');
    return context;
  };
}

export function uniqueStage(): string {
  return `it-${randomBytes(4).toString('hex')}`;
}

/** One raw item, read strongly consistently, exactly as stored (keys included). */
export async function getRawItem(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  key: { PK: string; SK: string },
): Promise<Record<string, unknown> | undefined> {
  const out = await documentClient.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return out.Item;
}

/** Every raw item of one partition, oldest sort key first. */
export async function queryRawPartition(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  indexName?: string,
): Promise<Record<string, unknown>[]> {
  const pkName = indexName ? { byAccessKey: 'GSI1PK', byProfile: 'GSI2PK', byTime: 'GSI3PK', byType: 'GSI4PK' }[indexName] : 'PK';
  if (!pkName) throw new Error(`unknown index ${indexName}`);
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documentClient.send(
      new QueryCommand({
        TableName: tableName,
        ...(indexName ? { IndexName: indexName } : { ConsistentRead: true }),
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': pkName },
        ExpressionAttributeValues: { ':pk': pk },
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Every raw item of a table. */
export async function scanRawTable(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documentClient.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Puts many raw items at once: 25 a request, 8 requests at a time, until DynamoDB has processed each. */
export async function putRawItems(documentClient: DynamoDBDocumentClient, tableName: string, items: readonly Record<string, unknown>[]): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  for (let i = 0; i < batches.length; i += 8) {
    await Promise.all(
      batches.slice(i, i + 8).map(async (batch) => {
        let pending: unknown[] = batch.map((item) => ({ PutRequest: { Item: item } }));
        while (pending.length > 0) {
          const out = await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
          pending = out.UnprocessedItems?.[tableName] ?? [];
        }
      }),
    );
  }
}

/** The rejection of `promise`, failing the test if it resolves. */
export async function captureError(promise: Promise<unknown>): Promise<Error> {
  const error = await failureOf(promise);
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}
