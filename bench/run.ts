// `npm run bench`: tvm's vend path against its physical floor (one STS AssumeRole plus one
// DynamoDB write) and its irreducible floor (one round trip of reads of the rules before those), on
// the local stack. See BENCHMARKS.md for the method and the latest numbers.
//
//   npm run -s bench [-- --json] [--samples 500] [--warm-up 50] [--concurrency 200] [--stack .tvm/stack.json]
//                    [--added-latency <DynamoDB ms>,<STS ms>]
//
// Uses the stack `npm start` runs (.tvm/stack.json, or --stack) when it answers, else starts its own
// on free ports and stops it at the end. Prints a table (or, with --json, only the JSON on stdout),
// writes bench/results.json, and exits 1 when a target is missed, 2 on a usage error.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { mintDevToken } from '../local/dev-issuer.js';
import { freeStackPortsEnv, stopProcessGroup, waitFor } from '../local/processes.js';
import { AUDIT_SHARDS, REPO_ROOT, type StackInfo } from '../local/stack.js';
import { measureBundles, measureConsoleJs, packageService } from './bundles.js';
import { measureCliStartup } from './cli-startup.js';
import { buildConsole } from '../local/edge.js';
import type { CountOutput, LatencyOutput, MeasureInput, MeasureOutput } from './measure.js';
import { startCallCounter, type CallCounter } from './aws-call-counter.js';
import { checkTargets, formatReport, toResults, parseAddedLatency, type AddedLatency, type Measurements } from './report.js';
import { round, summarize } from './stats.js';
import { warmUpVendInstances } from './warm-up.js';

const PROFILE = 'bench-vend';
const GROUP = 'tvm-bench';
/** The demo role the local STS lets the vend function assume (local/sts/roles.json). */
const ROLE_ARN = 'arn:aws:iam::000000000000:role/tvm-demo-readonly';
const COLD_INIT_RUNS = 10;
const CPU_BATCH = 200;
const COUNTED_VENDS = 10;
const CLI_RUNS = 30;
const CLI_UNCACHED_RUNS = 5;
const STACK_START_TIMEOUT_MS = 300_000;

interface Options {
  readonly json: boolean;
  readonly samples: number;
  readonly warmUp: number;
  readonly concurrency: number;
  readonly stackFile?: string;
  /** Held back on every answer of the latency rows' DynamoDB and STS calls, as AWS's network would. */
  readonly addedLatencyMs?: AddedLatency;
}

async function main(): Promise<number> {
  const options = parseOptions();
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const runId = Math.random().toString(36).slice(2, 8);

  const stack = await useOrStartStack(options, log);
  let grantId: string | undefined;
  try {
    const admin = await tokenFor(stack.info, `bench-admin-${runId}@example.com`, ['tvm-admin']);
    grantId = await prepareProfile(stack.info, admin);
    const input: Omit<MeasureInput, 'mode' | 'warmUp' | 'samples'> = {
      stack: stack.info,
      auditShards: AUDIT_SHARDS,
      profile: PROFILE,
      roleArn: ROLE_ARN,
      group: GROUP,
      runId,
      cpuBatch: CPU_BATCH,
    };

    log(`counting AWS calls of ${COUNTED_VENDS} vends…`);
    const counted = (await measure({ ...input, mode: 'count', warmUp: 3, samples: COUNTED_VENDS })) as CountOutput;
    const http = options.addedLatencyMs ? '' : '(c) HTTP, ';
    log(
      `latency: ${options.warmUp} warm-up + ${options.samples} samples each of (a) floor, (b) in-process, ${http}(d) the vend's calls ` +
        'and (e) the irreducible floor, interleaved…',
    );
    const latency = await measureLatencyRows({ ...input, mode: 'latency', warmUp: options.warmUp, samples: options.samples }, options.addedLatencyMs, log);
    log(`the packed CLI: ${CLI_RUNS} cached credential_process calls alternating with node -e 0…`);
    const cli = await measureCliStartup({
      apiUrl: stack.info.apiUrl,
      token: await tokenFor(stack.info, `bench-${runId}-cli@example.com`, [GROUP]),
      profile: PROFILE,
      runs: CLI_RUNS,
      uncachedRuns: CLI_UNCACHED_RUNS,
    });
    log(`  cached ${cli.cachedMs} ms, node -e 0 ${cli.nodeMs} ms: ${cli.ratio} ×; uncached ${cli.uncachedMs} ms`);
    log(`${options.concurrency} concurrent vends over HTTP…`);
    const concurrent = await vendConcurrently(stack.info, runId, options.concurrency);
    await revokeGrant(stack.info, admin, grantId).then(() => (grantId = undefined));
    await stack.stop();

    log('packaging for AWS (serverless package) and timing each bundle’s cold init…');
    const packageDir = await packageService();
    const bundles = await measureBundles(packageDir, COLD_INIT_RUNS).finally(() => rmSync(packageDir, { recursive: true, force: true }));
    log('building the console and weighing its JavaScript…');
    await buildConsole();
    const consoleJs = measureConsoleJs();

    const measurements: Measurements = {
      floor: summarize(latency.floorMs),
      inProcess: summarize(latency.inProcessMs),
      http: options.addedLatencyMs ? null : summarize(latency.httpMs),
      addedLatencyMs: options.addedLatencyMs ?? null,
      sameCalls: summarize(latency.sameCallsMs),
      floorIrreducible: summarize(latency.irreducibleMs),
      handlerCpuMs: latency.handlerCpu.userMs + latency.handlerCpu.systemMs,
      floorCpuMs: latency.floorCpu.userMs + latency.floorCpu.systemMs,
      sameCallsCpuMs: latency.sameCallsCpu.userMs + latency.sameCallsCpu.systemMs,
      irreducibleCpuMs: latency.irreducibleCpu.userMs + latency.irreducibleCpu.systemMs,
      handlerCpuShares: latency.handlerCpuShares,
      awsCallsPerVend: counted.perVend,
      writeUnitsPerVend: counted.writeUnitsPerVend,
      writeUnitsByOperation: counted.writeUnitsByOperation,
      bundles,
      concurrent,
      console: consoleJs,
      cli,
      machine: describeMachine(),
    };
    const results = toResults(measurements);
    const checks = checkTargets(measurements);
    writeFileSync(join(REPO_ROOT, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');
    if (options.json) process.stdout.write(JSON.stringify(results) + '\n');
    else process.stdout.write(formatReport(measurements, checks) + '\n');
    const missed = checks.filter((check) => !check.met);
    for (const check of missed) log(`target missed: ${check.target} (measured ${check.measured})`);
    return missed.length === 0 ? 0 : 1;
  } finally {
    if (grantId) await revokeGrant(stack.info, await tokenFor(stack.info, `bench-admin-${runId}@example.com`, ['tvm-admin']), grantId).catch(() => undefined);
    await stack.stop();
  }
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      samples: { type: 'string', default: '500' },
      'warm-up': { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '200' },
      stack: { type: 'string' },
      'added-latency': { type: 'string' },
    },
  });
  const count = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > 100_000) throw new UsageError(`--${name} must be a whole number from ${min}`);
    return n;
  };
  return {
    json: values.json === true,
    samples: count('samples', values.samples as string, 1),
    warmUp: count('warm-up', values['warm-up'] as string, 0),
    concurrency: count('concurrency', values.concurrency as string, 1),
    ...(values.stack ? { stackFile: values.stack } : {}),
    ...(values['added-latency'] === undefined ? {} : { addedLatencyMs: addedLatency(values['added-latency'] as string) }),
  };
}

function addedLatency(value: string): AddedLatency {
  const parsed = parseAddedLatency(value);
  if (parsed === undefined) throw new UsageError('--added-latency must be two whole numbers of milliseconds from 0 to 1000, DynamoDB first: e.g. 3,15');
  return parsed;
}

class UsageError extends Error {
  override name = 'UsageError';
}

interface BenchStack {
  readonly info: StackInfo;
  stop(): Promise<void>;
}

/** The running stack (`npm start`'s, or --stack), or a new one of the bench's own. */
async function useOrStartStack(options: Options, log: (line: string) => void): Promise<BenchStack> {
  const file = options.stackFile ?? join(REPO_ROOT, '.tvm/stack.json');
  if (existsSync(file)) {
    const info = JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
    if (await answers(info)) {
      log(`using the running stack at ${info.apiUrl} (${file})`);
      return { info, stop: async () => undefined };
    }
    if (options.stackFile) throw new UsageError(`${file}: the stack it names does not answer at ${info.apiUrl}/health`);
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'tvm-bench-'));
  // Beside the state folder, not in it: the stack's log outlives the run, for a failure's cause.
  const logFile = `${stateDir}.log`;
  log(`starting a local stack (output: ${logFile})…`);
  const logFd = openSync(logFile, 'a');
  const env = {
    ...process.env,
    TVM_STATE_DIR: stateDir,
    TVM_BUILD_DIR: '.esbuild-bench',
    ...(await freeStackPortsEnv()),
  };
  const tsx = join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');
  const child: ChildProcess = spawn(process.execPath, [tsx, 'local/start.ts'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopProcessGroup(child, 15_000);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const stackFile = join(stateDir, 'stack.json');
    await waitFor('the local stack', async () => existsSync(stackFile), STACK_START_TIMEOUT_MS, child);
    return { info: JSON.parse(readFileSync(stackFile, 'utf8')) as StackInfo, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function answers(info: StackInfo): Promise<boolean> {
  try {
    return (await fetch(`${info.apiUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

function tokenFor(info: StackInfo, sub: string, groups: string[]): Promise<string> {
  return mintDevToken({ dir: info.stateDir, issuer: info.issuer, audience: info.audience, sub, groups });
}

async function call(info: StackInfo, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${info.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The bench profile (no scope: the floor's AssumeRole has no session policy either) and a grant on it to GROUP. */
async function prepareProfile(info: StackInfo, admin: string): Promise<string> {
  const profile = await call(info, 'PUT', `/profiles/${PROFILE}`, admin, {
    roleArn: ROLE_ARN,
    description: 'npm run bench',
    maxSessionSeconds: 3600,
  });
  if (profile.status !== 200 && profile.status !== 201) throw new Error(`PUT /profiles/${PROFILE} answered ${profile.status}: ${JSON.stringify(profile.body)}`);
  const grant = await call(info, 'POST', '/grants', admin, {
    profile: PROFILE,
    subject: { type: 'group', id: GROUP },
    validUntil: new Date(Date.now() + 2 * 3600_000).toISOString(),
    reason: 'npm run bench',
  });
  if (grant.status !== 201 || typeof grant.body.id !== 'string') throw new Error(`POST /grants answered ${grant.status}: ${JSON.stringify(grant.body)}`);
  return grant.body.id;
}

async function revokeGrant(info: StackInfo, admin: string, grantId: string): Promise<void> {
  const revoked = await call(info, 'DELETE', `/grants/${encodeURIComponent(grantId)}`, admin);
  if (revoked.status !== 200) throw new Error(`DELETE /grants/${grantId} answered ${revoked.status}: ${JSON.stringify(revoked.body)}`);
}

/** The latency rows; with `added`, behind delaying proxies in this process, which is idle while the child measures. */
async function measureLatencyRows(input: MeasureInput, added: AddedLatency | undefined, log: (line: string) => void): Promise<LatencyOutput> {
  if (added === undefined) return (await measure(input)) as LatencyOutput;
  log(`  every DynamoDB answer held back ${added.dynamodb} ms, every STS answer ${added.sts} ms; (c) not measured`);
  const proxies: CallCounter[] = [];
  try {
    const dynamodb = await startCallCounter({ target: input.stack.dynamodbEndpoint, answerDelayMs: added.dynamodb }).then((proxy) => (proxies.push(proxy), proxy));
    const sts = await startCallCounter({ target: input.stack.stsEndpoint, answerDelayMs: added.sts }).then((proxy) => (proxies.push(proxy), proxy));
    return (await measure({ ...input, endpoints: { dynamodb: dynamodb.url, sts: sts.url } })) as LatencyOutput;
  } finally {
    await Promise.all(proxies.map((proxy) => proxy.close()));
  }
}

/** Runs bench/measure.ts in a child process of its own (its stdout, the handler's log, discarded). */
function measure(input: MeasureInput): Promise<MeasureOutput> {
  return new Promise((resolve, reject) => {
    const child = fork(join(REPO_ROOT, 'bench/measure.ts'), [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_INPUT: JSON.stringify(input) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let output: MeasureOutput | undefined;
    child.on('message', (message) => (output = message as MeasureOutput));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && output ? resolve(output) : reject(new Error(`bench/measure.ts (${input.mode}) exited with ${code}`))));
  });
}

/** `concurrency` vends at once over HTTP, from fresh members of GROUP (10 each), after as many warm instances. */
async function vendConcurrently(info: StackInfo, runId: string, concurrency: number): Promise<Measurements['concurrent']> {
  const warm = await tokenFor(info, `bench-${runId}-warm@example.com`, [GROUP]);
  await warmUpVendInstances(concurrency, async () => (await call(info, 'POST', '/credentials', warm, {})).status);
  const tokens = await Promise.all(
    Array.from({ length: Math.ceil(concurrency / 10) }, (_, i) => tokenFor(info, `bench-${runId}-load-${i}@example.com`, [GROUP])),
  );
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const begun = performance.now();
      const response = await call(info, 'POST', '/credentials', tokens[Math.floor(i / 10)] as string, { profile: PROFILE, durationSeconds: 900 }).catch(
        (error: unknown) => ({ status: 0, body: { error: { code: String(error) } } as Record<string, unknown> }),
      );
      const issued = response.status === 200 && typeof (response.body.credentials as { accessKeyId?: unknown } | undefined)?.accessKeyId === 'string';
      const code = (response.body.error as { code?: string } | undefined)?.code ?? (response.body.errorType as string | undefined);
      return { ms: performance.now() - begun, key: issued ? '200' : `${response.status} ${code ?? 'NO_CREDENTIALS'}` };
    }),
  );
  const wallMs = performance.now() - started;
  const statuses: Record<string, number> = {};
  for (const { key } of outcomes) statuses[key] = (statuses[key] ?? 0) + 1;
  const latency = summarize(outcomes.map((o) => o.ms));
  return {
    requests: concurrency,
    errors: outcomes.filter((o) => o.key !== '200').length,
    rps: round((concurrency / wallMs) * 1000, 1),
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    statuses,
  };
}

function describeMachine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
