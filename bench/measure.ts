// The measuring half of `npm run bench`, run by bench/run.ts in a child process of its own: the vend
// handler runs in this process exactly as Lambda runs it (it logs to stdout, which run.ts discards),
// so nothing else competes for this process's CPU while its time is counted.
//
// Modes (BENCH_INPUT, JSON):
//   latency: warm-up, then rounds of (a) the floor, (b) the vend handler in-process, (c) a vend
//            over HTTP through serverless-offline, (d) the vend's calls and (e) the irreducible
//            floor, interleaved in a rotating order so drift and noise land on all five alike; then
//            CPU per operation over a batch of each of (a), (b), (d), (e).
//   count:   the handler's TVM_*_ENDPOINTs point at counting proxies; the AWS calls of each vend and
//            the write units its DynamoDB writes cost.
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mintDevToken } from '../local/dev-issuer.js';
import { LOCAL_TVM_CALLER } from '../local/sts/local-sts.js';
import type { StackInfo } from '../local/stack.js';
import type { AwsCall, summarizeVendCalls } from './aws-call-counter.js';
import { lambdaContext, vendEvent } from './lambda-invocation.js';
import { DURATION_SECONDS, floorOperation, irreducibleOperation, sameCallsOperation } from './plain-sdk-operations.js';

export interface MeasureInput {
  readonly mode: 'latency' | 'count';
  readonly stack: StackInfo;
  readonly auditShards: number;
  /** The bench profile and the group its grant names. */
  readonly profile: string;
  readonly roleArn: string;
  readonly group: string;
  readonly runId: string;
  readonly warmUp: number;
  readonly samples: number;
  readonly cpuBatch: number;
  /**
   * Latency mode: where (a), (b), (d) and (e) reach DynamoDB and STS instead of the stack's
   * endpoints (`--added-latency`'s proxies). (c) is then not measured: serverless-offline would
   * bypass them.
   */
  readonly endpoints?: { readonly dynamodb: string; readonly sts: string };
}

export interface LatencyOutput {
  readonly mode: 'latency';
  readonly floorMs: number[];
  readonly inProcessMs: number[];
  /** Empty when (c) was not measured (`endpoints`). */
  readonly httpMs: number[];
  /** (d): the vend's own AWS calls, in its order, by a plain SDK script. */
  readonly sameCallsMs: number[];
  /** (e): the reads any correct vend must make, AssumeRole and one PutItem, by a plain SDK script. */
  readonly irreducibleMs: number[];
  /** CPU per operation over a batch of each, one after another. */
  readonly handlerCpu: CpuPerOperation;
  readonly floorCpu: CpuPerOperation;
  readonly sameCallsCpu: CpuPerOperation;
  readonly irreducibleCpu: CpuPerOperation;
  /** Where the handler's CPU goes, as shares of the profiled samples (they add up to 1). */
  readonly handlerCpuShares: CpuShares;
}

/** Milliseconds of CPU per operation: in JavaScript and the runtime (user), and in the kernel (system). */
export interface CpuPerOperation {
  readonly userMs: number;
  readonly systemMs: number;
}

export interface CpuShares {
  /** The AWS SDK's clients, and Node's HTTP, socket and crypto work done for them. */
  readonly awsSdk: number;
  /** tvm's own code (functions/, shared/) and the libraries it calls: jose, zod, middy, the logger. */
  readonly tvm: number;
  /** Garbage collection and runtime work no JavaScript frame asked for. */
  readonly runtime: number;
}

export interface CountOutput {
  readonly mode: 'count';
  /** Every AWS call of each measured vend, in order. */
  readonly vends: readonly (readonly AwsCall[])[];
  readonly perVend: ReturnType<typeof summarizeVendCalls>;
  /** The write units of a vend's DynamoDB writes, from the requests (bench/write-units.ts): in all, and by operation. */
  readonly writeUnitsPerVend: number;
  readonly writeUnitsByOperation: Record<string, number>;
}

export type MeasureOutput = LatencyOutput | CountOutput;

/** Far below the per-principal vend quota (30 a minute), so no sample ever meets the rate limiter. */
const VENDS_PER_PRINCIPAL = 20;

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_INPUT ?? 'null') as MeasureInput | null;
  if (!input) throw new Error('BENCH_INPUT is not set: run the benchmark with `npm run bench`');
  const output = input.mode === 'count' ? await countCalls(input) : await measureLatency(input);
  await new Promise<void>((resolve, reject) => process.send?.(output, (error: Error | null) => (error ? reject(error) : resolve())));
}

async function measureLatency(measureInput: MeasureInput): Promise<LatencyOutput> {
  const { endpoints } = measureInput;
  const input = endpoints ? { ...measureInput, stack: { ...measureInput.stack, dynamodbEndpoint: endpoints.dynamodb, stsEndpoint: endpoints.sts } } : measureInput;
  const { stack } = input;
  configureHandler(input, { sts: stack.stsEndpoint, dynamodb: stack.dynamodbEndpoint, iam: stack.iamEndpoint });
  const vendInProcess = await loadVendHandler(input);
  const vendOverHttp = endpoints ? undefined : await httpVender(input);
  const floor = floorOperation(input);
  const sameCalls = sameCallsOperation(input);
  const irreducible = irreducibleOperation(input);

  const variants = [floor.run, vendInProcess, vendOverHttp, sameCalls.run, irreducible.run] as const;
  const times: number[][] = variants.map(() => []);
  // The rows that run, by their place in `times`: each goes first equally often.
  const running = variants.flatMap((run, row) => (run ? [{ run, row }] : []));
  for (let round = 0; round < input.warmUp + input.samples; round++) {
    for (let k = 0; k < running.length; k++) {
      const { run, row } = running[(round + k) % running.length] as (typeof running)[number];
      const started = performance.now();
      await run();
      const elapsed = performance.now() - started;
      if (round >= input.warmUp) times[row]?.push(elapsed);
    }
  }

  const handlerCpu = await cpuPerOperation(vendInProcess, input.cpuBatch);
  const floorCpu = await cpuPerOperation(floor.run, input.cpuBatch);
  const sameCallsCpu = await cpuPerOperation(sameCalls.run, input.cpuBatch);
  const irreducibleCpu = await cpuPerOperation(irreducible.run, input.cpuBatch);
  // A separate batch under the profiler (which slows it), only to split the time measured above.
  const handlerCpuShares = await profileShares(vendInProcess, input.cpuBatch);
  await floor.cleanUp();
  await sameCalls.cleanUp();
  await irreducible.cleanUp();
  return {
    mode: 'latency',
    floorMs: times[0] ?? [],
    inProcessMs: times[1] ?? [],
    httpMs: times[2] ?? [],
    sameCallsMs: times[3] ?? [],
    irreducibleMs: times[4] ?? [],
    handlerCpu,
    floorCpu,
    sameCallsCpu,
    irreducibleCpu,
    handlerCpuShares,
  };
}

async function countCalls(input: MeasureInput): Promise<CountOutput> {
  const { stack } = input;
  // Loaded here only: the latency run's process holds nothing it does not time.
  const { startCallCounter, summarizeVendCalls } = await import('./aws-call-counter.js');
  const dynamodb = await startCallCounter({ target: stack.dynamodbEndpoint });
  const sts = await startCallCounter({ target: stack.stsEndpoint });
  try {
    configureHandler(input, { sts: sts.url, dynamodb: dynamodb.url, iam: stack.iamEndpoint });
    const vend = await loadVendHandler(input);
    // The first vend of a process also fetches the JWKS and learns each audit chain's head.
    for (let i = 0; i < input.warmUp; i++) await vend();
    const vends: AwsCall[][] = [];
    for (let i = 0; i < input.samples; i++) {
      dynamodb.reset();
      sts.reset();
      await vend();
      vends.push([...sts.calls(), ...dynamodb.calls()].sort((a, b) => a.startedAt - b.startedAt));
    }
    const perVend = summarizeVendCalls(vends.flat(), { auditTable: stack.tables.audit });
    const n = vends.length;
    const writeUnitsByOperation: Record<string, number> = {};
    for (const call of vends.flat()) {
      if (call.writeUnits > 0) writeUnitsByOperation[call.operation] = (writeUnitsByOperation[call.operation] ?? 0) + call.writeUnits / n;
    }
    return {
      mode: 'count',
      vends,
      perVend: {
        sts: perVend.sts / n,
        dynamodbReads: perVend.dynamodbReads / n,
        dynamodbWrites: perVend.dynamodbWrites / n,
        auditWrites: perVend.auditWrites / n,
      },
      writeUnitsPerVend: vends.flat().reduce((total, call) => total + call.writeUnits, 0) / n,
      writeUnitsByOperation,
    };
  } finally {
    await Promise.all([dynamodb.close(), sts.close()]);
  }
}

/** The environment serverless.yml gives the vend function, pointed at the local stack. */
function configureHandler(input: MeasureInput, endpoints: { sts: string; dynamodb: string; iam: string }): void {
  const { stack } = input;
  Object.assign(process.env, {
    TVM_STAGE: stack.stage,
    TVM_DELEGATIONS_TABLE: stack.tables.delegations,
    TVM_AUDIT_TABLE: stack.tables.audit,
    TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: stack.issuer, audience: stack.audience, jwksUrl: stack.jwksUrl }]),
    TVM_ROLE_ARN_PATTERN: 'arn:aws:iam::000000000000:role/tvm-*',
    TVM_AUDIT_SHARDS: String(input.auditShards),
    TVM_STS_ENDPOINT: endpoints.sts,
    TVM_DYNAMODB_ENDPOINT: endpoints.dynamodb,
    TVM_IAM_ENDPOINT: endpoints.iam,
    // As serverless-offline runs it: endpoint overrides are honoured only there.
    IS_OFFLINE: 'true',
    AWS_ACCESS_KEY_ID: LOCAL_TVM_CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_TVM_CALLER.secretAccessKey,
    AWS_REGION: stack.region,
    POWERTOOLS_SERVICE_NAME: 'tvm',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

/** Tokens of fresh bench principals, VENDS_PER_PRINCIPAL uses each, minted ahead (never timed). */
async function tokenPool(input: MeasureInput, label: string, uses: number): Promise<() => string> {
  const { stack } = input;
  const count = Math.max(1, Math.ceil(uses / VENDS_PER_PRINCIPAL));
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      mintDevToken({
        dir: stack.stateDir,
        issuer: stack.issuer,
        audience: stack.audience,
        sub: `bench-${input.runId}-${label}-${i}@example.com`,
        groups: [input.group],
      }),
    ),
  );
  let used = 0;
  return () => {
    const token = tokens[Math.floor(used / VENDS_PER_PRINCIPAL)];
    used++;
    if (token === undefined) throw new Error(`token pool ${label} exhausted after ${uses} uses`);
    return token;
  };
}

const vendBody = (input: MeasureInput) => JSON.stringify({ profile: input.profile, durationSeconds: DURATION_SECONDS });

/** (b): the vend function's handler, called with the event and context Lambda would pass. */
async function loadVendHandler(input: MeasureInput): Promise<() => Promise<void>> {
  const { handler } = (await import('../functions/vend-credentials.js')) as {
    handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  };
  // The rounds, then the timed CPU batch and the profiled one (count mode: its rounds only).
  const uses = input.warmUp + input.samples + 2 * input.cpuBatch;
  const nextToken = await tokenPool(input, input.mode === 'count' ? 'count' : 'in-process', uses);
  const body = vendBody(input);
  return async () => {
    const response = await handler(vendEvent(nextToken(), body, 'tvm-bench'), lambdaContext());
    if (response.statusCode !== 200) throw new Error(`in-process vend answered ${response.statusCode}: ${String(response.body)}`);
  };
}

/** (c): a vend over HTTP through serverless-offline, on a kept-alive connection. */
async function httpVender(input: MeasureInput): Promise<() => Promise<void>> {
  const nextToken = await tokenPool(input, 'http', input.warmUp + input.samples);
  const body = vendBody(input);
  const url = `${input.stack.apiUrl}/credentials`;
  return async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${nextToken()}`, 'content-type': 'application/json' },
      body,
    });
    const text = await response.text();
    if (response.status !== 200 || !text.includes('"accessKeyId"')) throw new Error(`HTTP vend answered ${response.status}: ${text}`);
  };
}

/** This process's CPU time per operation, over `batch` operations one after another. */
async function cpuPerOperation(operation: () => Promise<void>, batch: number): Promise<CpuPerOperation> {
  const before = process.cpuUsage();
  for (let i = 0; i < batch; i++) await operation();
  const { user, system } = process.cpuUsage(before);
  return { userMs: user / 1000 / batch, systemMs: system / 1000 / batch };
}

const NETWORK_MODULE = /^node:(_http_|net$|internal\/(stream_base_commons|http|streams\/))/;

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

/**
 * Runs `batch` operations under V8's sampling profiler and splits the busy samples by who asked for
 * the work: each sample goes to the innermost frame of a JavaScript file (so a hash computed for
 * SigV4 counts to the SDK, one computed for a JWT to tvm), and samples with none to the runtime.
 */
async function profileShares(operation: () => Promise<void>, batch: number): Promise<CpuShares> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    for (let i = 0; i < batch; i++) await operation();
    const { profile } = (await session.post('Profiler.stop')) as unknown as {
      profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    };
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parents = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
    type Owner = keyof CpuShares | 'idle' | 'harness';
    const owners = new Map<number, Owner>();
    const ownerOf = (id: number): Owner => {
      const known = owners.get(id);
      if (known) return known;
      const node = nodes.get(id);
      let owner: Owner;
      const url = node?.callFrame.url ?? '';
      if (!node || node.callFrame.functionName === '(idle)') owner = 'idle';
      else if (url.startsWith('file:') || url.startsWith('/')) {
        if (/node_modules\/(@aws-sdk|@smithy|@aws\/|mnemonist|obliterator|fast-xml-parser|strnum|tslib|uuid)\//.test(url)) owner = 'awsSdk';
        // The bench's own event building and the TypeScript loader, which Lambda does not run.
        else if (/\/(bench|local)\/|node_modules\/tsx\//.test(url)) owner = 'harness';
        else owner = 'tvm';
      } else {
        const parent = parents.get(id);
        owner = parent === undefined ? 'runtime' : ownerOf(parent);
        if (owner === 'idle') owner = 'runtime';
        // Socket reads and HTTP parsing start from the event loop, with no JavaScript file above
        // them: in this process only the AWS calls (and a rare JWKS fetch) use the network.
        if (owner === 'runtime' && NETWORK_MODULE.test(url)) owner = 'awsSdk';
      }
      owners.set(id, owner);
      return owner;
    };
    const totals: Record<Owner, number> = { awsSdk: 0, tvm: 0, runtime: 0, idle: 0, harness: 0 };
    profile.samples.forEach((id, i) => {
      const owner = ownerOf(id);
      totals[owner] += profile.timeDeltas[i] ?? 0;
    });
    const busy = totals.awsSdk + totals.tvm + totals.runtime;
    return { awsSdk: totals.awsSdk / busy, tvm: totals.tvm / busy, runtime: totals.runtime / busy };
  } finally {
    await session.post('Profiler.disable').catch(() => undefined);
    session.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
