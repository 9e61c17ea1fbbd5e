// DynamoDbRateLimiter against a mocked document client: the exact UpdateItem one vend sends, how
// the returned count is decided, and that every failure refuses (STORE_UNAVAILABLE), never allows.
import 'aws-sdk-client-mock-jest';
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbRateLimiter, RATE_COUNTER_RETENTION_SECONDS } from '../../shared/adapters/dynamodb-rate-limiter.js';
import { StoreUnavailableError } from '../../shared/domain/errors.js';
import { failureOf } from '../fixtures/failure.js';

const TABLE = 'tvm-test-delegations';
const NOW = new Date('2026-06-01T12:00:15.000Z');
/** 12:01:00 as epoch seconds: where the window ends. */
const WINDOW_END = Date.parse('2026-06-01T12:01:00.000Z') / 1000;
const ddb = mockClient(DynamoDBDocumentClient);
/** Never reaches the network: the mock answers every command. */
const documentClient = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  { marshallOptions: { removeUndefinedValues: true } },
);

beforeEach(() => {
  ddb.reset();
});

const limiter = (limit = 30) => new DynamoDbRateLimiter(documentClient, { tableName: TABLE, limit });

describe('DynamoDbRateLimiter', () => {
  it('adds one to the principal’s counter for the current minute in one UpdateItem, with its expiry', async () => {
    // Prepare
    ddb.on(UpdateCommand).resolves({ Attributes: { count: 1 } });

    // Act
    await limiter().take('alice@example.com', NOW);

    // Assess
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: { PK: 'RATE#alice@example.com', SK: '2026-06-01T12:00:00.000Z' },
      UpdateExpression: 'ADD #count :one SET expiresAt = :expiresAt',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':one': 1, ':expiresAt': WINDOW_END + RATE_COUNTER_RETENTION_SECONDS },
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it.each([
    [1, { allowed: true }],
    [30, { allowed: true }],
    [31, { allowed: false, retryAfterSeconds: 45, firstRefusal: true }],
    [500, { allowed: false, retryAfterSeconds: 45, firstRefusal: false }],
  ])('decides on the count DynamoDB returns (%i)', async (count, expected) => {
    // Prepare
    ddb.on(UpdateCommand).resolves({ Attributes: { count } });

    // Act
    const decision = await limiter(30).take('alice@example.com', NOW);

    // Assess
    expect(decision).toEqual(expected);
  });

  it.each([
    ['throttling', new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} })],
    ['a timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['a 500', Object.assign(new Error('internal server error'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })],
  ])('refuses with STORE_UNAVAILABLE on %s: an uncounted vend is never allowed', async (_label, failure) => {
    // Prepare
    ddb.on(UpdateCommand).rejects(failure);

    // Act
    const error = await failureOf(limiter().take('alice@example.com', NOW));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).cause).toBe(failure);
  });

  it.each([
    ['no attributes', {}],
    ['a string count', { Attributes: { count: '1' } }],
    ['a zero count', { Attributes: { count: 0 } }],
  ])('refuses with STORE_UNAVAILABLE when the answer holds %s', async (_label, answer) => {
    // Prepare
    ddb.on(UpdateCommand).resolves(answer);

    // Act
    const error = await failureOf(limiter().take('alice@example.com', NOW));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });

  it.each([0, -1, 2.5])('refuses to be built with a limit of %p', (limit) => {
    // Act / Assess
    expect(() => limiter(limit)).toThrow(RangeError);
  });
});
