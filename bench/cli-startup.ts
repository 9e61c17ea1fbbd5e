// How long the packed CLI takes to answer a cached `credential_process` call, against a bare
// `node -e 0` on the same machine at the same moment: the AWS CLI runs that call before every
// command. The CLI is packed as `npm run pack:cli` packs it and run from its package directory
// (the same files `npm install -g` installs), with `node <bin/tvm.js>` as the AWS CLI's
// `#!/usr/bin/env node` would run it, minus the shebang's lookup.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packCli } from '../cli/release/pack.js';
import { median, round } from './stats.js';

export interface CliStartup {
  /** Median wall time of a cached `tvm credentials <profile> --format credential-process`. */
  readonly cachedMs: number;
  /** Median wall time of `node -e 0`, measured alternately with it. */
  readonly nodeMs: number;
  readonly ratio: number;
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

export async function measureCliStartup(input: CliStartupInput): Promise<CliStartup> {
  const dir = mkdtempSync(join(tmpdir(), 'tvm-bench-cli-'));
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
    const timed = (args: readonly string[]): { ms: number; stdout: string } => {
      const started = performance.now();
      const result = spawnSync(process.execPath, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const ms = performance.now() - started;
      if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}: ${result.stderr}`);
      return { ms, stdout: result.stdout };
    };

    const uncached = Array.from({ length: input.uncachedRuns }, () => timed([bundle, ...call, '--no-cache']).ms);
    const first = timed([bundle, ...call]).stdout; // vends once, and caches
    const tvmCall = () => {
      const { ms, stdout } = timed([bundle, ...call]);
      if (stdout !== first) throw new Error('a cached call answered other credentials than the first: the cache was not used');
      return ms;
    };
    const nodeCall = () => timed(['-e', '0']).ms;
    const cached: number[] = [];
    const node: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS + input.runs; i++) {
      // Alternating, and which of the two goes first alternates too: a busy moment lands on both alike.
      const [tvmMs, nodeMs] = i % 2 === 0 ? [tvmCall(), nodeCall()] : [nodeCall(), tvmCall()].reverse();
      if (i >= WARM_UP_RUNS) {
        cached.push(tvmMs as number);
        node.push(nodeMs as number);
      }
    }
    const cachedMs = round(median(cached));
    const nodeMs = round(median(node));
    return { cachedMs, nodeMs, ratio: round(cachedMs / nodeMs), uncachedMs: round(median(uncached)), runs: input.runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
