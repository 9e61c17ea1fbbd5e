// A counting HTTP proxy between an SDK client and an AWS endpoint (DynamoDB Local, the local STS):
// every request is forwarded byte for byte and recorded by service, operation and table, so a test
// or the benchmark can count what one vend really asks of AWS, retries included, and what its
// DynamoDB writes cost in write units (bench/write-units.ts).
//
// The Host header goes through as the client sent it, naming the proxy: SigV4 signs it, and an
// endpoint that checks signatures (the local STS does, as AWS does; DynamoDB Local accepts any)
// recomputes the signature over the Host header it receives.
//
// With `answerDelayMs` it also holds each answer back that long, as a network round trip to AWS
// would (`npm run bench -- --added-latency`): calls made at once then wait at once, as in AWS,
// while the local endpoints' own work still queues on the shared cores.
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { writeUnitsOf } from './write-units.js';

export interface AwsCall {
  readonly service: 'dynamodb' | 'sts' | 'other';
  /** `GetItem`, `TransactWriteItems`, `AssumeRole`, …; `unknown` when the request names none. */
  readonly operation: string;
  /** Every table the request names, once each (a transaction's actions each name one). */
  readonly tables: readonly string[];
  /** The write capacity units the request costs by DynamoDB's rules, from its body; 0 for any other call. */
  readonly writeUnits: number;
  /** The endpoint's HTTP status; 0 when it could not be reached. */
  readonly status: number;
  /** performance.now() when the request arrived, to order the calls of several proxies. */
  readonly startedAt: number;
}

export interface CallCounter {
  /** Where to point the client instead of the target. */
  readonly url: string;
  /** The calls answered since the start or the last reset(), in the order the answers came. */
  calls(): readonly AwsCall[];
  reset(): void;
  close(): Promise<void>;
}

export interface CallCounterOptions {
  /** An http origin. */
  readonly target: string;
  /** How long each answer is held back before it is passed on (default 0). */
  readonly answerDelayMs?: number;
  /** Waits `ms`; a test passes its own. */
  readonly wait?: (ms: number) => Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `target`. */
export async function startCallCounter(options: CallCounterOptions): Promise<CallCounter> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:') throw new Error(`startCallCounter: target must be an http:// origin, not ${options.target}`);
  // Its own connections to the target, so close() leaves no socket behind.
  const agent = new Agent({ keepAlive: true });
  let calls: AwsCall[] = [];
  const delayMs = options.answerDelayMs ?? 0;
  const wait = options.wait ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer, startedAt: number) => {
    // Recorded before the answer is passed on, so a call is counted by the time its client sees it.
    const record = (status: number) => calls.push({ ...describeCall(incoming.headers, body), status, startedAt });
    const upstream = request(
      {
        agent,
        hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.rawHeaders,
      },
      (response) => {
        record(response.statusCode ?? 0);
        response.on('error', () => outgoing.destroy());
        const passOn = () => {
          // The target's headers only: no Date of the proxy's own.
          outgoing.sendDate = false;
          outgoing.writeHead(response.statusCode ?? 502, response.statusMessage, response.rawHeaders);
          response.pipe(outgoing);
        };
        if (delayMs > 0) void wait(delayMs).then(passOn, () => outgoing.destroy());
        else passOn();
      },
    );
    // An unreachable endpoint reaches the client as one too: a dropped connection, not a made-up answer.
    upstream.on('error', () => {
      record(0);
      outgoing.destroy();
    });
    upstream.end(body);
  };

  const server = createServer((incoming, outgoing) => {
    const startedAt = performance.now();
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => forward(incoming, outgoing, Buffer.concat(chunks), startedAt));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => [...calls],
    reset: () => {
      calls = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

const DYNAMODB_TARGET = 'DynamoDB_20120810.';
/** The Version every STS Query API request carries (IAM's, on the same local listener, is 2010-05-08). */
const STS_API_VERSION = '2011-06-15';

/**
 * What one request asks for. DynamoDB's JSON protocol names the operation in X-Amz-Target and the
 * tables in the body; the STS Query protocol names it in the form body's Action.
 */
export function describeCall(headers: IncomingHttpHeaders, body: Buffer): Pick<AwsCall, 'service' | 'operation' | 'tables' | 'writeUnits'> {
  const amzTarget = typeof headers['x-amz-target'] === 'string' ? headers['x-amz-target'] : undefined;
  if (amzTarget?.startsWith(DYNAMODB_TARGET)) {
    const operation = amzTarget.slice(DYNAMODB_TARGET.length);
    const input = parseJson(body);
    return { service: 'dynamodb', operation, tables: tablesOf(input), writeUnits: writeUnitsOf(operation, input) };
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action');
  if (action && form.get('Version') === STS_API_VERSION) return { service: 'sts', operation: action, tables: [], writeUnits: 0 };
  return { service: 'other', operation: action ?? amzTarget?.split('.').pop() ?? 'unknown', tables: [], writeUnits: 0 };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function tablesOf(input: unknown): string[] {
  if (!isRecord(input)) return [];
  const tables = new Set<string>();
  if (typeof input.TableName === 'string') tables.add(input.TableName);
  // TransactWriteItems / TransactGetItems: [{ Put: { TableName, … } }, { Update: … }, …]
  for (const item of Array.isArray(input.TransactItems) ? input.TransactItems : []) {
    for (const action of isRecord(item) ? Object.values(item) : []) {
      if (isRecord(action) && typeof action.TableName === 'string') tables.add(action.TableName);
    }
  }
  // BatchGetItem / BatchWriteItem: { RequestItems: { <table>: … } }
  for (const name of isRecord(input.RequestItems) ? Object.keys(input.RequestItems) : []) tables.add(name);
  return [...tables];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);

export interface VendCallSummary {
  /** STS calls of any action. */
  readonly sts: number;
  readonly dynamodbReads: number;
  readonly dynamodbWrites: number;
  /** DynamoDB writes that touch the audit table (a transaction counts once). */
  readonly auditWrites: number;
}

/** The calls counted against a vend's budget: STS calls, DynamoDB reads and writes, audit writes. */
export function summarizeVendCalls(calls: readonly AwsCall[], options: { readonly auditTable: string }): VendCallSummary {
  const dynamodb = calls.filter((call) => call.service === 'dynamodb');
  const writes = dynamodb.filter((call) => WRITES.has(call.operation));
  return {
    sts: calls.filter((call) => call.service === 'sts').length,
    dynamodbReads: dynamodb.filter((call) => READS.has(call.operation)).length,
    dynamodbWrites: writes.length,
    auditWrites: writes.filter((call) => call.tables.includes(options.auditTable)).length,
  };
}
