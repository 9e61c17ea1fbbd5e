// The counting proxy the benchmark and the vend-call test put between the SDK and AWS: it must pass
// requests and answers through unchanged (SigV4 signs the Host header and the body), and name every
// call as the SDK really sends it. A fake endpoint on 127.0.0.1 (port 0) stands in for AWS.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describeCall, startCallCounter, summarizeVendCalls, type AwsCall, type CallCounter } from '../../../bench/aws-call-counter.js';

const AUDIT = 'tvm-test-audit';
const DELEGATIONS = 'tvm-test-delegations';
const KEY = { PK: { S: 'k' }, SK: { S: 'k' } };

/** A request as the endpoint received it. */
interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** What a client got back. */
interface ReceivedAnswer {
  readonly status: number;
  readonly statusMessage: string;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

interface FakeEndpoint {
  readonly url: string;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * Answers like the AWS protocol of each request: JSON `{}` for X-Amz-Target, an empty
 * `<ActionResponse>` for a Query-protocol form; `/teapot…` gets 418 with a body of its own.
 */
async function startFakeEndpoint(): Promise<FakeEndpoint> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body });
      res.sendDate = false;
      if (req.url?.startsWith('/teapot')) {
        res.writeHead(418, 'Short And Stout', [['X-Amzn-RequestId', 'r-1'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Content-Type', 'application/octet-stream']]);
        res.end(Buffer.from([0, 1, 2, 255]));
        return;
      }
      const action = new URLSearchParams(body.toString('utf8')).get('Action');
      if (req.headers['x-amz-target'] || !action) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<${action}Response><${action}Result></${action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One raw HTTP request with the headers exactly as given (case, order, repeats), and its answer. */
function send(url: string, options: { method: string; path: string; rawHeaders: string[]; body?: Buffer }): Promise<ReceivedAnswer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({ hostname, port, method: options.method, path: options.path, headers: options.rawHeaders, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function aCall(overrides: Partial<AwsCall> = {}): AwsCall {
  return { service: 'dynamodb', operation: 'GetItem', tables: [DELEGATIONS], writeUnits: 0, status: 200, startedAt: 0, ...overrides };
}

const clientOptions = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIATESTTESTTEST0001', secretAccessKey: 'test-secret' },
  maxAttempts: 1,
});

const named = (calls: readonly AwsCall[]) => calls.map(({ service, operation, tables }) => ({ service, operation, tables }));

let endpoint: FakeEndpoint;
let counter: CallCounter;

beforeEach(async () => {
  endpoint = await startFakeEndpoint();
  counter = await startCallCounter({ target: endpoint.url });
});

afterEach(async () => {
  await counter.close();
  await endpoint.close();
});

describe('startCallCounter: forwarding', () => {
  it('passes a request and its answer through byte for byte, the Host header the client signed included', async () => {
    // Prepare: the same request, once straight to the endpoint and once through the proxy
    const signedHost = new URL(counter.url).host;
    const body = Buffer.from([0x7b, 0x00, 0xff, 0x22, 0x7d]);
    const rawHeaders = [
      'Host', signedHost,
      'X-Amz-Target', 'DynamoDB_20120810.GetItem',
      'x-amz-date', '20260601T120000Z',
      'X-Custom', 'one',
      'X-Custom', 'two',
      'Authorization', `AWS4-HMAC-SHA256 Credential=AKIATESTTESTTEST0001/20260601/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${'a'.repeat(64)}`,
      'Content-Length', String(body.length),
    ];
    const direct = await send(endpoint.url, { method: 'POST', path: '/teapot?x=1&y=%2F', rawHeaders, body });

    // Act
    const proxied = await send(counter.url, { method: 'POST', path: '/teapot?x=1&y=%2F', rawHeaders, body });

    // Assess
    const [straight, forwarded] = endpoint.received;
    expect(forwarded).toEqual(straight);
    expect(forwarded?.rawHeaders.slice(0, 2)).toEqual(['Host', signedHost]);
    expect(forwarded?.body.equals(body)).toBe(true);
    expect(proxied).toEqual(direct);
    expect(proxied).toMatchObject({ status: 418, statusMessage: 'Short And Stout', body: Buffer.from([0, 1, 2, 255]) });
  });

  it('counts every call with its answer, in order, until reset', async () => {
    // Prepare
    const dynamodb = new DynamoDBClient(clientOptions(counter.url));
    await dynamodb.send(new GetItemCommand({ TableName: DELEGATIONS, Key: KEY }));
    await send(counter.url, { method: 'GET', path: '/teapot', rawHeaders: ['Host', new URL(counter.url).host] });

    // Act
    const before = counter.calls();
    counter.reset();
    await dynamodb.send(new PutItemCommand({ TableName: AUDIT, Item: KEY }));
    const after = counter.calls();

    // Assess
    expect(before).toEqual([
      { service: 'dynamodb', operation: 'GetItem', tables: [DELEGATIONS], writeUnits: 0, status: 200, startedAt: expect.any(Number) },
      { service: 'other', operation: 'unknown', tables: [], writeUnits: 0, status: 418, startedAt: expect.any(Number) },
    ]);
    expect(before[0]!.startedAt).toBeLessThan(before[1]!.startedAt);
    expect(named(after)).toEqual([{ service: 'dynamodb', operation: 'PutItem', tables: [AUDIT] }]);
    dynamodb.destroy();
  });

  it('counts a call whose target cannot be reached as status 0, and drops the client connection', async () => {
    // Prepare
    await endpoint.close();
    const dynamodb = new DynamoDBClient(clientOptions(counter.url));

    // Act
    const failure = await dynamodb.send(new GetItemCommand({ TableName: DELEGATIONS, Key: KEY })).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(Error);
    expect(counter.calls()).toEqual([aCall({ status: 0, startedAt: expect.any(Number) })]);
    dynamodb.destroy();
  });

  it('holds each answer back by answerDelayMs, waiting with the wait it is given, then passes it on unchanged', async () => {
    // Prepare: a wait that only ends when the test says so
    const waits: number[] = [];
    let release = () => {};
    const held = await startCallCounter({
      target: endpoint.url,
      answerDelayMs: 25,
      wait: (ms) => {
        waits.push(ms);
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    try {
      const rawHeaders = ['Host', new URL(held.url).host];
      const direct = await send(endpoint.url, { method: 'GET', path: '/teapot', rawHeaders });
      let answered = false;

      // Act: the endpoint has answered once the wait is asked for; then many turns of the event loop pass
      const proxied = send(held.url, { method: 'GET', path: '/teapot', rawHeaders }).finally(() => (answered = true));
      while (waits.length === 0 && !answered) await new Promise((resolve) => setImmediate(resolve));
      for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
      const answeredBeforeTheWait = answered;
      release();

      // Assess
      expect(waits).toEqual([25]);
      expect(answeredBeforeTheWait).toBe(false);
      expect(await proxied).toEqual(direct);
      expect(held.calls()).toEqual([aCall({ service: 'other', operation: 'unknown', tables: [], status: 418, startedAt: expect.any(Number) })]);
    } finally {
      await held.close();
    }
  });

  it('never waits without answerDelayMs or with 0, and drops the client connection when the wait fails', async () => {
    // Prepare
    const waits: number[] = [];
    const failing = (ms: number) => (waits.push(ms), Promise.reject(new Error('no timer')));
    const [immediate, zero, broken] = await Promise.all([
      startCallCounter({ target: endpoint.url, wait: failing }),
      startCallCounter({ target: endpoint.url, answerDelayMs: 0, wait: failing }),
      startCallCounter({ target: endpoint.url, answerDelayMs: 5, wait: failing }),
    ]);
    try {
      const teapot = (proxy: CallCounter) => send(proxy.url, { method: 'GET', path: '/teapot', rawHeaders: ['Host', new URL(proxy.url).host] });

      // Act
      const answers = [await teapot(immediate), await teapot(zero)];
      const dropped = await teapot(broken).then(
        () => undefined,
        (error: unknown) => error,
      );

      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([418, 418]);
      expect(waits).toEqual([5]);
      expect(dropped).toMatchObject({ message: 'socket hang up' });
    } finally {
      await Promise.all([immediate.close(), zero.close(), broken.close()]);
    }
  });

  it('refuses a target it cannot forward to', async () => {
    await expect(startCallCounter({ target: 'https://dynamodb.us-east-1.amazonaws.com' })).rejects.toThrow('must be an http:// origin');
  });
});

describe('startCallCounter: naming calls as the SDK sends them', () => {
  it('names each DynamoDB operation and every table it touches', async () => {
    // Prepare
    const dynamodb = new DynamoDBClient(clientOptions(counter.url));

    // Act
    await dynamodb.send(new GetItemCommand({ TableName: DELEGATIONS, Key: KEY, ConsistentRead: true }));
    await dynamodb.send(new QueryCommand({ TableName: DELEGATIONS, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': { S: 'p' } } }));
    await dynamodb.send(new ScanCommand({ TableName: AUDIT }));
    await dynamodb.send(new UpdateItemCommand({ TableName: DELEGATIONS, Key: KEY, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } }));
    await dynamodb.send(new PutItemCommand({ TableName: AUDIT, Item: KEY }));
    await dynamodb.send(new DeleteItemCommand({ TableName: DELEGATIONS, Key: KEY }));
    await dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: AUDIT, Item: KEY } },
          { Update: { TableName: AUDIT, Key: KEY, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': { S: 'v' } } } },
          { ConditionCheck: { TableName: DELEGATIONS, Key: KEY, ConditionExpression: 'attribute_exists(PK)' } },
        ],
      }),
    );
    await dynamodb.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: DELEGATIONS, Key: KEY } }, { Get: { TableName: AUDIT, Key: KEY } }] }));
    await dynamodb.send(new BatchGetItemCommand({ RequestItems: { [DELEGATIONS]: { Keys: [KEY] }, [AUDIT]: { Keys: [KEY] } } }));
    await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [AUDIT]: [{ PutRequest: { Item: KEY } }] } }));

    // Assess
    expect(named(counter.calls())).toEqual([
      { service: 'dynamodb', operation: 'GetItem', tables: [DELEGATIONS] },
      { service: 'dynamodb', operation: 'Query', tables: [DELEGATIONS] },
      { service: 'dynamodb', operation: 'Scan', tables: [AUDIT] },
      { service: 'dynamodb', operation: 'UpdateItem', tables: [DELEGATIONS] },
      { service: 'dynamodb', operation: 'PutItem', tables: [AUDIT] },
      { service: 'dynamodb', operation: 'DeleteItem', tables: [DELEGATIONS] },
      { service: 'dynamodb', operation: 'TransactWriteItems', tables: [AUDIT, DELEGATIONS] },
      { service: 'dynamodb', operation: 'TransactGetItems', tables: [DELEGATIONS, AUDIT] },
      { service: 'dynamodb', operation: 'BatchGetItem', tables: [DELEGATIONS, AUDIT] },
      { service: 'dynamodb', operation: 'BatchWriteItem', tables: [AUDIT] },
    ]);
    dynamodb.destroy();
  });

  it('charges each DynamoDB write the write units of the request the SDK sent, and every other call none', async () => {
    // Prepare: a record of ~1.2 KB (2 units; 4 in a transaction) and small items (1; 2 in a transaction)
    const dynamodb = new DynamoDBClient(clientOptions(counter.url));
    const sts = new STSClient(clientOptions(counter.url));
    const record = { ...KEY, body: { S: 'x'.repeat(1200) } };

    // Act
    await dynamodb.send(new GetItemCommand({ TableName: DELEGATIONS, Key: KEY, ConsistentRead: true }));
    await dynamodb.send(new UpdateItemCommand({ TableName: DELEGATIONS, Key: KEY, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } }));
    await dynamodb.send(new PutItemCommand({ TableName: AUDIT, Item: record }));
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: AUDIT, Item: record } }, { Put: { TableName: AUDIT, Item: KEY } }] }));
    await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly', RoleSessionName: 'alice' }));

    // Assess
    expect(counter.calls().map(({ operation, writeUnits }) => [operation, writeUnits])).toEqual([
      ['GetItem', 0],
      ['UpdateItem', 1],
      ['PutItem', 2],
      ['TransactWriteItems', 4 + 2],
      ['AssumeRole', 0],
    ]);
    dynamodb.destroy();
    sts.destroy();
  });

  it('names every STS action as STS, and IAM or DynamoDB Streams calls as other', async () => {
    // Prepare
    const sts = new STSClient(clientOptions(counter.url));
    const iam = new IAMClient(clientOptions(counter.url));
    const streams = new DynamoDBStreamsClient(clientOptions(counter.url));

    // Act
    await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly', RoleSessionName: 'alice' }));
    await sts.send(new GetCallerIdentityCommand({}));
    await iam.send(new PutRolePolicyCommand({ RoleName: 'tvm-demo-readonly', PolicyName: 'p', PolicyDocument: '{}' }));
    await streams.send(new GetRecordsCommand({ ShardIterator: 'i' }));

    // Assess
    expect(named(counter.calls())).toEqual([
      { service: 'sts', operation: 'AssumeRole', tables: [] },
      { service: 'sts', operation: 'GetCallerIdentity', tables: [] },
      { service: 'other', operation: 'PutRolePolicy', tables: [] },
      { service: 'other', operation: 'GetRecords', tables: [] },
    ]);
    for (const client of [sts, iam, streams]) client.destroy();
  });
});

describe('describeCall', () => {
  it('names a DynamoDB call whose body is not JSON, without tables', () => {
    expect(describeCall({ 'x-amz-target': 'DynamoDB_20120810.GetItem' }, Buffer.from('not json'))).toEqual({
      service: 'dynamodb',
      operation: 'GetItem',
      tables: [],
      writeUnits: 0,
    });
  });

  it('ignores tables named where DynamoDB would not look for them', () => {
    // Prepare
    const body = Buffer.from(JSON.stringify({ TableName: 7, TransactItems: [{ Put: { TableName: ['x'] } }, null, 'Put'], RequestItems: ['y'] }));

    // Assess
    expect(describeCall({ 'x-amz-target': 'DynamoDB_20120810.TransactWriteItems' }, body).tables).toEqual([]);
  });
});

describe('summarizeVendCalls', () => {
  it("counts a vend's calls against its budget: the quota counter, two reads, AssumeRole, one audit transaction", () => {
    // Prepare
    const vend = [
      aCall({ operation: 'UpdateItem' }),
      aCall({ operation: 'Query' }),
      aCall({ operation: 'GetItem' }),
      aCall({ service: 'sts', operation: 'AssumeRole', tables: [] }),
      aCall({ operation: 'TransactWriteItems', tables: [AUDIT] }),
    ];

    // Act
    const summary = summarizeVendCalls(vend, { auditTable: AUDIT });

    // Assess
    expect(summary).toEqual({ sts: 1, dynamodbReads: 2, dynamodbWrites: 2, auditWrites: 1 });
  });

  it.each([
    ['GetItem', 'a read'],
    ['Query', 'a read'],
    ['Scan', 'a read'],
    ['BatchGetItem', 'a read'],
    ['TransactGetItems', 'a read'],
    ['PutItem', 'a write'],
    ['UpdateItem', 'a write'],
    ['DeleteItem', 'a write'],
    ['TransactWriteItems', 'a write'],
    ['BatchWriteItem', 'a write'],
    ['DescribeTable', 'neither'],
  ])('counts DynamoDB %s as %s', (operation, kind) => {
    // Act
    const summary = summarizeVendCalls([aCall({ operation })], { auditTable: AUDIT });

    // Assess
    expect(summary).toEqual({ sts: 0, dynamodbReads: kind === 'a read' ? 1 : 0, dynamodbWrites: kind === 'a write' ? 1 : 0, auditWrites: 0 });
  });

  it('counts as audit writes the writes that touch the audit table, a transaction once, and no reads of it', () => {
    // Prepare
    const calls = [
      aCall({ operation: 'TransactWriteItems', tables: [DELEGATIONS, AUDIT] }),
      aCall({ operation: 'BatchWriteItem', tables: [AUDIT] }),
      aCall({ operation: 'PutItem', tables: [DELEGATIONS] }),
      aCall({ operation: 'Query', tables: [AUDIT] }),
      aCall({ operation: 'TransactGetItems', tables: [AUDIT] }),
    ];

    // Act
    const summary = summarizeVendCalls(calls, { auditTable: AUDIT });

    // Assess
    expect(summary).toEqual({ sts: 0, dynamodbReads: 2, dynamodbWrites: 3, auditWrites: 2 });
  });

  it('counts every STS call, failed ones too, and no call of another service', () => {
    // Prepare
    const calls = [
      aCall({ service: 'sts', operation: 'AssumeRole', tables: [], status: 400 }),
      aCall({ service: 'sts', operation: 'GetCallerIdentity', tables: [] }),
      aCall({ service: 'other', operation: 'PutItem', tables: [AUDIT] }),
      aCall({ service: 'other', operation: 'unknown', tables: [] }),
    ];

    // Act
    const summary = summarizeVendCalls(calls, { auditTable: AUDIT });

    // Assess
    expect(summary).toEqual({ sts: 2, dynamodbReads: 0, dynamodbWrites: 0, auditWrites: 0 });
  });

  it('counts nothing in no calls', () => {
    expect(summarizeVendCalls([], { auditTable: AUDIT })).toEqual({ sts: 0, dynamodbReads: 0, dynamodbWrites: 0, auditWrites: 0 });
  });
});
