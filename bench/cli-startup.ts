// How long the packed CLI takes to answer a cached `credential_process` call, against a bare
// `node -e 0` on the same machine at the same moment: the AWS CLI runs that call before every
// command. The CLI is packed as `npm run pack:cli` packs it and run from its package directory
// (the same files `npm install -g` installs), with `node <bin/tvm.js>` as the AWS CLI's
// `#!/usr/bin/env node` would run it, minus the shebang's lookup.
//
// A cached call asks the API one conditional question first (GET /cut-off-epoch: has a cut-off
// been decided since these credentials were vended?), so its wall time is the CLI's own work plus
// however long that API takes to answer. The two are weighed apart: the CLI's own, `cachedMs`,
// against a stand-in in front of the stack that answers that question at once (304, the epoch the
// stack's last vend said; everything else it passes to the stack), and the same call against the
// stack itself, `cachedWithStackMs`; the difference is what the check costs here, `cutOffCheckMs`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packCli } from '../cli/release/pack.js';
import { outputOf } from '../local/processes.js';
import { median, round } from './stats.js';

export interface CliStartup {
  /** Median wall time of a cached `tvm credentials <profile> --format credential-process`, its cut-off check answered at once. */
  readonly cachedMs: number;
  /** Median wall time of `node -e 0`, measured alternately with it. */
  readonly nodeMs: number;
  /** cachedMs / nodeMs. */
  readonly ratio: number;
  /** Median wall time of the same cached call against the stack itself: the cut-off check's round trip included. */
  readonly cachedWithStackMs: number;
  /** cachedWithStackMs − cachedMs: what asking this machine's local stack about cut-offs costs a cached call. */
  readonly cutOffCheckMs: number;
  /** Median wall time of the same call with --no-cache: the CLI's start-up plus one vend over HTTP. */
  readonly uncachedMs: number;
  readonly runs: number;
}

export interface CliStartupInput {
  readonly apiUrl: string;
  /** A token of someone the profile is granted to. */
  readonly token: string;
  readonly profile: string;
  readonly runs: number;
  /** --no-cache calls: each is a vend (mind the vend quota, 30 a minute per principal). */
  readonly uncachedRuns: number;
}

const WARM_UP_RUNS = 3;

interface Timed {
  readonly ms: number;
  readonly stdout: string;
}

export async function measureCliStartup(input: CliStartupInput): Promise<CliStartup> {
  const dir = mkdtempSync(join(tmpdir(), 'tvm-bench-cli-'));
  const standIn = await startInstantCheck(input.apiUrl);
  try {
    const { bundle } = await packCli(join(dir, 'pack'));
    // Nothing of this machine's own tvm or AWS settings: a fresh home with an empty cache.
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      XDG_CACHE_HOME: join(dir, 'cache'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      TVM_STACK_FILE: join(dir, 'no-stack.json'),
      TVM_URL: input.apiUrl,
      TVM_TOKEN: input.token,
    };
    const call = ['credentials', input.profile, '--format', 'credential-process'];
    // Not spawnSync: the stand-in answers from this process's event loop.
    const timed = (args: readonly string[], url = input.apiUrl): Promise<Timed> =>
      (async () => {
        const started = performance.now();
        const { code, stdout, stderr } = await outputOf(spawn(process.execPath, args, { env: { ...env, TVM_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] }));
        const ms = performance.now() - started;
        if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`);
        return { ms, stdout };
      })();

    const uncached: number[] = [];
    for (let i = 0; i < input.uncachedRuns; i++) uncached.push((await timed([bundle, ...call, '--no-cache'])).ms);
    // Each vends once and fills its cache (the cache is per API URL).
    const first = { standIn: (await timed([bundle, ...call], standIn.url)).stdout, stack: (await timed([bundle, ...call])).stdout };
    const cachedCall = async (via: keyof typeof first) => {
      const { ms, stdout } = await timed([bundle, ...call], via === 'standIn' ? standIn.url : input.apiUrl);
      if (stdout !== first[via]) throw new Error('a cached call answered other credentials than the first: the cache was not used');
      return ms;
    };
    const nodeCall = async () => (await timed(['-e', '0'])).ms;
    const cached: number[] = [];
    const withStack: number[] = [];
    const node: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS + input.runs; i++) {
      // Interleaved, and the order rotates: a busy moment lands on each alike.
      const round3 = [() => cachedCall('standIn'), nodeCall, () => cachedCall('stack')] as const;
      const order = [0, 1, 2].map((k) => (k + i) % 3);
      const ms: number[] = [0, 0, 0];
      for (const k of order) ms[k] = await (round3[k] as () => Promise<number>)();
      if (i >= WARM_UP_RUNS) {
        cached.push(ms[0] as number);
        node.push(ms[1] as number);
        withStack.push(ms[2] as number);
      }
    }
    if (standIn.checksAnswered() === 0) throw new Error('the stand-in answered no cut-off check: the cached calls did not ask');
    const cachedMs = round(median(cached));
    const nodeMs = round(median(node));
    const cachedWithStackMs = round(median(withStack));
    return {
      cachedMs,
      nodeMs,
      ratio: round(cachedMs / nodeMs),
      cachedWithStackMs,
      cutOffCheckMs: round(cachedWithStackMs - cachedMs),
      uncachedMs: round(median(uncached)),
      runs: input.runs,
    };
  } finally {
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface InstantCheck {
  readonly url: string;
  checksAnswered(): number;
  close(): Promise<void>;
}

/**
 * The stack, as a cached call sees it, but for GET /cut-off-epoch: answered at once, 304 while
 * If-None-Match names the epoch the stack's last vend through here said. Everything else goes to
 * the stack as it came.
 */
async function startInstantCheck(apiUrl: string): Promise<InstantCheck> {
  let epoch: number | undefined;
  let answered = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/cut-off-epoch' && epoch !== undefined && req.headers['if-none-match'] === `"${epoch}"`) {
        answered += 1;
        res.writeHead(304, { etag: `"${epoch}"`, 'cache-control': 'no-store' }).end();
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => ['authorization', 'content-type', 'accept', 'if-none-match'].includes(name))) as Record<string, string>;
      fetch(`${apiUrl}${req.url ?? ''}`, { method: req.method ?? 'GET', headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) })
        .then(async (answer) => {
          const text = await answer.text();
          if (req.method === 'POST' && answer.ok) epoch = (JSON.parse(text) as { cutOffEpoch?: number }).cutOffEpoch;
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
        })
        .catch((error: unknown) => res.writeHead(502).end(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    checksAnswered: () => answered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
