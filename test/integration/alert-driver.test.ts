// The local stand-in for the alert function's triggers: the audit table's stream in DynamoDB Local,
// read through the real Streams API, and the schedule, both delivered to a (fake) Lambda invoke
// endpoint in the shapes Lambda and EventBridge use.
import { jest } from '@jest/globals';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { startAlertDriver, type AlertDriver, type AlertDriverOptions } from '../../local/alert-driver.js';
import { useDynamoDbLocal, type TestTables } from './support/dynamodb.js';
import { startFakeLambda, type FakeLambda } from './support/fake-lambda.js';

const ALERT = 'tvm-dev-alert';
// Longer than any test: rounds run only when a test asks for them.
const NEVER_MS = 10 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('alert driver', () => {
  const dynamodb = useDynamoDbLocal();
  let lambda: FakeLambda;
  let tables: TestTables;
  let driver: AlertDriver | undefined;
  let dynamodbEndpoint: string;

  beforeAll(async () => {
    // The support module does not hand the endpoint out; the client it configured knows it.
    const endpoint = await dynamodb().client.config.endpoint?.();
    if (endpoint === undefined) throw new Error('the DynamoDB client has no endpoint');
    dynamodbEndpoint = `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
  });

  function useDriver(overrides: Partial<AlertDriverOptions> = {}): AlertDriver {
    driver = startAlertDriver({
      dynamodbEndpoint,
      auditTable: tables.audit,
      lambdaEndpoint: lambda.endpoint,
      functionName: ALERT,
      pollMs: NEVER_MS,
      scheduleMs: NEVER_MS,
      ...overrides,
    });
    return driver;
  }

  async function putAuditItems(...ids: string[]): Promise<void> {
    for (const id of ids) {
      await dynamodb().documentClient.send(
        new PutCommand({ TableName: tables.audit, Item: { PK: 'PRINCIPAL#alice@example.com', SK: id, type: 'credential.used', n: 1 } }),
      );
    }
  }

  const deliveredRecords = () =>
    lambda.invocations.flatMap((invocation) => (invocation.event as DynamoDBStreamEvent).Records ?? []);
  const deliveredIds = () => deliveredRecords().map((record) => record.dynamodb?.NewImage?.SK?.S);
  const batches = () => lambda.invocations.map((invocation) => (invocation.event as DynamoDBStreamEvent).Records.map((record) => record.dynamodb?.NewImage?.SK?.S));

  beforeEach(async () => {
    tables = await dynamodb().createTestTables();
    lambda = await startFakeLambda([ALERT]);
  });

  afterEach(async () => {
    await driver?.stop();
    driver = undefined;
    await lambda.close();
  });

  it('delivers items written to the audit table as DynamoDB stream events, in order', async () => {
    // Prepare
    const driver = useDriver();
    const streamArn = (await dynamodb().client.send(new DescribeTableCommand({ TableName: tables.audit }))).Table?.LatestStreamArn;

    // Act
    await putAuditItems('2026-01-01T00:00:01.000Z#a', '2026-01-01T00:00:02.000Z#b', '2026-01-01T00:00:03.000Z#c');
    await driver.drain();

    // Assess
    expect(lambda.invocations.map((invocation) => invocation.invocationType)).toEqual(['RequestResponse']);
    expect(deliveredIds()).toEqual(['2026-01-01T00:00:01.000Z#a', '2026-01-01T00:00:02.000Z#b', '2026-01-01T00:00:03.000Z#c']);
    const [first] = deliveredRecords();
    expect(first).toEqual({
      eventID: expect.any(String),
      eventName: 'INSERT',
      eventVersion: expect.stringMatching(/^1\.\d$/),
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { PK: { S: 'PRINCIPAL#alice@example.com' }, SK: { S: '2026-01-01T00:00:01.000Z#a' } },
        NewImage: {
          PK: { S: 'PRINCIPAL#alice@example.com' },
          SK: { S: '2026-01-01T00:00:01.000Z#a' },
          type: { S: 'credential.used' },
          n: { N: '1' },
        },
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_IMAGE',
      },
      eventSourceARN: streamArn,
    });
    // Epoch seconds, as Lambda sends it (not milliseconds, not a date string).
    expect(Math.abs((first?.dynamodb?.ApproximateCreationDateTime ?? 0) - Date.now() / 1000)).toBeLessThan(120);
    expect(driver.stats()).toMatchObject({ read: 3, delivered: 3, failed: 0 });
  });

  it('reads on where it left off, delivering only what was written since', async () => {
    // Prepare
    const driver = useDriver();
    await putAuditItems('1#a');
    await driver.drain();

    // Act
    await putAuditItems('2#b', '3#c');
    await driver.drain();

    // Assess
    expect(batches()).toEqual([['1#a'], ['2#b', '3#c']]);
  });

  it('redelivers from the first record the function reports as failed', async () => {
    // Prepare
    lambda.reply((event) => ({
      body: { batchItemFailures: [{ itemIdentifier: (event as DynamoDBStreamEvent).Records[2]?.dynamodb?.SequenceNumber }, { itemIdentifier: (event as DynamoDBStreamEvent).Records[1]?.dynamodb?.SequenceNumber }] },
    }));
    const driver = useDriver();
    await putAuditItems('1#a', '2#b', '3#c');

    // Act
    await driver.drain();

    // Assess
    expect(batches()).toEqual([
      ['1#a', '2#b', '3#c'],
      ['2#b', '3#c'],
    ]);
    expect(driver.stats()).toMatchObject({ delivered: 3, redeliveries: 1, failed: 0 });
  });

  it('redelivers the whole batch when the function fails or names a record not in it', async () => {
    // Prepare
    lambda.reply({ status: 200, headers: { 'x-amz-function-error': 'Unhandled' }, body: { errorMessage: 'boom' } }, { body: { batchItemFailures: [{ itemIdentifier: 'not-in-the-batch' }] } });
    const driver = useDriver({ maxAttempts: 5 });
    await putAuditItems('1#a', '2#b');
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);

    try {
      // Act
      await driver.drain();
    } finally {
      consoleError.mockRestore();
    }

    // Assess
    expect(batches()).toEqual([
      ['1#a', '2#b'],
      ['1#a', '2#b'],
      ['1#a', '2#b'],
    ]);
  });

  it('skips a batch after the last attempt, logs it, and delivers what comes after', async () => {
    // Prepare
    lambda.reply({ status: 500 }, { status: 500 });
    const driver = useDriver({ maxAttempts: 2 });
    await putAuditItems('1#a');
    const logged: string[] = [];
    const consoleError = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args.join(' ')));

    try {
      // Act
      await driver.drain();
      await putAuditItems('2#b');
      await driver.drain();
    } finally {
      consoleError.mockRestore();
    }

    // Assess
    expect(batches()).toEqual([['1#a'], ['1#a'], ['2#b']]);
    expect(driver.stats()).toMatchObject({ delivered: 1, failed: 1 });
    expect(logged).toContainEqual(expect.stringMatching(/^alert-driver: skipped 1 record\(s\) of .+ after 2 failed deliveries to tvm-dev-alert$/));
  });

  it('polls on its own every pollMs', async () => {
    // Prepare
    useDriver({ pollMs: 50 });

    // Act
    await putAuditItems('1#a');
    await lambda.waitForInvocations(1, ALERT);

    // Assess
    expect(deliveredIds()).toEqual(['1#a']);
  });

  it('invokes the function with an EventBridge Scheduled Event every scheduleMs', async () => {
    // Prepare
    const started = Date.now();
    useDriver({ scheduleMs: 100 });

    // Act
    const invocations = await lambda.waitForInvocations(2, ALERT);

    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const events = invocations.map((invocation) => invocation.event as ScheduledEvent);
    expect(events[0]).toEqual({
      version: '0',
      id: expect.stringMatching(UUID),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/tvm-dev-alert-schedule'],
      detail: {},
    });
    expect(events[1]?.id).not.toBe(events[0]?.id);
  });

  it('stops both timers', async () => {
    // Prepare
    const driver = useDriver({ pollMs: 20, scheduleMs: 20 });
    await putAuditItems('1#a');
    await lambda.waitForInvocations(3, ALERT);

    // Act
    await driver.stop();
    // An invocation abandoned by stop() may still reach the server a moment later.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const countAtStop = lambda.invocations.length;
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    expect(lambda.invocations).toHaveLength(countAtStop);
  });

  it('waits for the poll in flight, abandoning its invocation rather than the shutdown', async () => {
    // Prepare
    const driver = useDriver();
    await putAuditItems('1#a');
    lambda.reply({ delayMs: 5_000 });
    let pollSettled = false;
    const poll = driver.pollOnce().finally(() => (pollSettled = true));
    await lambda.waitForInvocations(1, ALERT);

    // Act
    const started = Date.now();
    await driver.stop();

    // Assess
    expect(pollSettled).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(poll).resolves.toMatchObject({ read: 1, delivered: 0 });
  });
});
