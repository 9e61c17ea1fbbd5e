// Running the real `tvm` (node bin/tvm.js) as a child process against an in-process fake of the tvm
// API, with a throwaway HOME so nothing reads or writes the developer's ~/.aws, ~/.cache or ~/.config.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputOf } from '../../../local/processes.js';

export const TVM_BIN = fileURLToPath(new URL('../../../bin/tvm.js', import.meta.url));
export const CLI_TIMEOUT_MS = 30_000;

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

export interface FakeReply {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Route = (request: RecordedRequest) => FakeReply;

export interface FakeApi {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Answers `METHOD /path` (query ignored) with the route; unknown routes get 404 NOT_FOUND. */
  route(method: string, path: string, route: Route): void;
  close(): Promise<void>;
}

export async function startFakeApi(): Promise<FakeApi> {
  const routes = new Map<string, Route>();
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined };
      requests.push(request);
      const path = (req.url ?? '').split('?')[0];
      const route = routes.get(`${req.method} ${path}`);
      const reply = route ? route(request) : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such route', requestId: 'r' } } };
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (method, path, route) => routes.set(`${method} ${path}`, route),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface TvmRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TvmHome {
  readonly dir: string;
  /** The environment a run gets: HOME and XDG dirs inside `dir`, no stack file, plus `env`. */
  readonly env: Record<string, string>;
  run(args: readonly string[], env?: Record<string, string | undefined>): Promise<TvmRun>;
  remove(): Promise<void>;
}

/**
 * A temp HOME for the CLI; runs inherit only PATH from the test process. `bin` is what runs: the
 * sources through bin/tvm.js by default, or the packed CLI's bundle (cli/release/pack.ts).
 */
export async function makeTvmHome(env: Record<string, string> = {}, bin: string = TVM_BIN): Promise<TvmHome> {
  const dir = await mkdtemp(join(tmpdir(), 'tvm-cli-home-'));
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    XDG_CACHE_HOME: join(dir, '.cache'),
    XDG_CONFIG_HOME: join(dir, '.config'),
    TVM_STACK_FILE: join(dir, 'no-stack.json'),
    ...env,
  };
  return {
    dir,
    env: baseEnv,
    run: (args, extra = {}) => runTvm(args, withoutUndefined({ ...baseEnv, ...extra }), bin),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export function runTvm(args: readonly string[], env: Record<string, string>, bin: string = TVM_BIN): Promise<TvmRun> {
  return outputOf(spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: CLI_TIMEOUT_MS }));
}

/** A JWT-shaped token (unsigned: the fake API does not verify) for the given subject. */
export function fakeToken(sub: string, iss = 'https://idp.example.com'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part({ iss, sub, aud: 'tvm', exp: Math.floor(Date.now() / 1000) + 3600 })}.c2lnbmF0dXJl`;
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** A URL nothing listens on: a port that was free a moment ago. */
export async function unusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
