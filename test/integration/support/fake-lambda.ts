// An in-process stand-in for serverless-offline's Lambda invoke API: records every invocation and
// answers as serverless-offline does (200 with the handler's result; a thrown handler as 200 with
// X-Amz-Function-Error; an unknown function as 404), or with whatever a test queues up.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedInvocation {
  readonly functionName: string;
  readonly invocationType: string | undefined;
  readonly event: unknown;
}

export interface FakeReply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** JSON-serialised; undefined sends an empty body (a handler that returned nothing). */
  readonly body?: unknown;
  /** Answer this much later, like a slow handler. */
  readonly delayMs?: number;
}

export interface FakeLambda {
  readonly endpoint: string;
  readonly invocations: RecordedInvocation[];
  /** Answers the next invocations with these replies, in order; afterwards `200` with no body. */
  reply(...replies: (FakeReply | ((event: unknown) => FakeReply))[]): void;
  /** Resolves once `count` invocations have arrived (of `functionName`, when given). */
  waitForInvocations(count: number, functionName?: string, timeoutMs?: number): Promise<RecordedInvocation[]>;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export async function startFakeLambda(functionNames: readonly string[]): Promise<FakeLambda> {
  const invocations: RecordedInvocation[] = [];
  const replies: (FakeReply | ((event: unknown) => FakeReply))[] = [];
  const delays = new Set<() => void>();

  /** A wait that close() cuts short, so no timer outlives the server. */
  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        delays.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      delays.add(done);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = req.method === 'POST' ? INVOKE_PATH.exec(req.url ?? '') : null;
    const functionName = decodeURIComponent(match?.[1] ?? '');
    if (match === null || !functionNames.includes(functionName)) {
      res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'ResourceNotFoundException' });
      res.end(JSON.stringify({ Message: `Function not found: ${functionName}`, Type: 'User' }));
      return;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const event: unknown = text === '' ? {} : JSON.parse(text);
    invocations.push({ functionName, invocationType: headerOf(req, 'x-amz-invocation-type'), event });
    const next = replies.shift() ?? {};
    const reply = typeof next === 'function' ? next(event) : next;
    if (reply.delayMs !== undefined) await delay(reply.delayMs);
    if (res.destroyed) return;
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    reply: (...next) => void replies.push(...next),
    waitForInvocations: async (count, functionName, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      const matching = () => invocations.filter((invocation) => functionName === undefined || invocation.functionName === functionName);
      while (matching().length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} invocations, got ${matching().length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return matching();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const done of [...delays]) done();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
