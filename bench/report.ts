// What `npm run bench` reports: the JSON (exactly that shape: tools read it), the targets it
// sets, and a table for people.
import type { BundleMeasurement } from './bundles.js';
import type { CliStartup } from './cli-startup.js';
import type { CpuShares } from './measure.js';
import { round, type LatencySummary } from './stats.js';

/** `--json` output and bench/results.json; milliseconds throughout. */
export interface BenchResults {
  readonly floor: { readonly p50Ms: number; readonly p99Ms: number };
  /** (e): one round trip of consistent reads of the rules, AssumeRole, one PutItem. */
  readonly floorIrreducible: { readonly p50Ms: number; readonly p99Ms: number };
  readonly inProcess: { readonly p50Ms: number; readonly p99Ms: number };
  /** null with `addedLatencyMs`: serverless-offline's calls would bypass the delaying proxies. */
  readonly http: { readonly p50Ms: number; readonly p99Ms: number } | null;
  /** (d): the vend's own AWS calls by a plain SDK script. */
  readonly vendCalls: { readonly p50Ms: number; readonly p99Ms: number };
  /**
   * inProcess and http against floor; vsIrreducible: inProcess against floorIrreducible; vsVendCalls:
   * inProcess against vendCalls (tvm's own work), and vendCalls against floorIrreducible (the calls' cost).
   */
  readonly ratios: {
    readonly inProcessP50: number;
    readonly inProcessP99: number;
    readonly httpP50: number | null;
    readonly vsIrreducibleP50: number;
    readonly vsIrreducibleP99: number;
    readonly vsVendCallsP50: number;
    readonly vsVendCallsP99: number;
    readonly vendCallsVsIrreducibleP50: number;
  };
  readonly handlerCpuMs: number;
  /** tvm's own code and libraries in handlerCpuMs (the profiler's share), without the SDK and the runtime. */
  readonly tvmCpuMs: number;
  readonly awsCallsPerVend: { readonly sts: number; readonly dynamodbReads: number; readonly dynamodbWrites: number };
  /** The write capacity units of a vend's DynamoDB writes, by DynamoDB's rules, from the requests. */
  readonly writeUnitsPerVend: number;
  readonly bundles: Record<string, { readonly bytes: number; readonly coldInitMs: number }>;
  readonly concurrent: { readonly requests: number; readonly errors: number; readonly rps: number };
  /** The web console's built JavaScript, all of it. */
  readonly console: { readonly jsBytes: number; readonly jsGzipBytes: number };
  /**
   * A cached `credential_process` call of the packed CLI against `node -e 0`, and what its check for
   * cut-offs since the vend costs against the local stack (bench/cli-startup.ts).
   */
  readonly cli: { readonly cachedMs: number; readonly nodeMs: number; readonly ratio: number; readonly cachedWithStackMs: number; readonly cutOffCheckMs: number };
  readonly machine: string;
  /** What `--added-latency` held back on each answer of (a), (b), (d) and (e); null without it. */
  readonly addedLatencyMs: AddedLatency | null;
}

/** Milliseconds added to every DynamoDB and every STS answer (`--added-latency`). */
export interface AddedLatency {
  readonly dynamodb: number;
  readonly sts: number;
}

/** `--added-latency 3,15`: milliseconds per DynamoDB answer, then per STS answer; undefined when malformed. */
export function parseAddedLatency(value: string): AddedLatency | undefined {
  const parts = value.split(',');
  if (parts.length !== 2 || !parts.every((part) => /^\s*\d{1,4}\s*$/.test(part))) return undefined;
  const [dynamodb, sts] = parts.map(Number) as [number, number];
  return dynamodb <= 1_000 && sts <= 1_000 ? { dynamodb, sts } : undefined;
}

/** Everything measured, of which BenchResults is the published part. */
export interface Measurements {
  readonly floor: LatencySummary;
  readonly inProcess: LatencySummary;
  readonly http: LatencySummary | null;
  /** The vend's own AWS calls, made by a plain SDK script (bench/plain-sdk-operations.ts sameCallsOperation). */
  readonly sameCalls: LatencySummary;
  /** (e): what any correct vend must do, made by a plain SDK script (bench/plain-sdk-operations.ts irreducibleOperation). */
  readonly floorIrreducible: LatencySummary;
  /** CPU (user + system) per vend in-process, per floor operation, per run of the vend's calls and per (e). */
  readonly handlerCpuMs: number;
  readonly floorCpuMs: number;
  readonly sameCallsCpuMs: number;
  readonly irreducibleCpuMs: number;
  readonly handlerCpuShares: CpuShares;
  readonly awsCallsPerVend: { readonly sts: number; readonly dynamodbReads: number; readonly dynamodbWrites: number; readonly auditWrites: number };
  /** Write units per vend, in all and by operation (bench/write-units.ts, counted by the call counter). */
  readonly writeUnitsPerVend: number;
  readonly writeUnitsByOperation: Record<string, number>;
  readonly bundles: Record<string, BundleMeasurement>;
  readonly concurrent: { readonly requests: number; readonly errors: number; readonly rps: number; readonly p50Ms: number; readonly p99Ms: number; readonly statuses: Record<string, number> };
  readonly console: { readonly jsBytes: number; readonly jsGzipBytes: number };
  readonly cli: CliStartup;
  readonly machine: string;
  readonly addedLatencyMs: AddedLatency | null;
}

export const VEND_FUNCTION = 'vendCredentials';

export const TARGETS = {
  inProcessP50Ratio: 1.25,
  inProcessP99Ratio: 1.5,
  irreducibleP50Ratio: 1.25,
  irreducibleP99Ratio: 1.5,
  handlerCpuMs: 2,
  tvmCpuMs: 1,
  // One PutItem of an audit record up to 1 KB, and the vend quota's counter.
  writeUnitsPerVend: 2,
  vendBundleBytes: 400_000,
  coldInitMs: 150,
  stsCalls: 1,
  auditWrites: 1,
  // 3 + G for a caller in G groups (the profile, the lockdown, each subject's own grants); the
  // bench's caller is in one group.
  dynamodbReads: 4,
  concurrentErrors: 0,
  consoleJsGzipBytes: 60_000,
  cliCachedRatio: 1.5,
} as const;

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

export function toResults(m: Measurements): BenchResults {
  const pick = (s: LatencySummary) => ({ p50Ms: s.p50Ms, p99Ms: s.p99Ms });
  return {
    floor: pick(m.floor),
    floorIrreducible: pick(m.floorIrreducible),
    inProcess: pick(m.inProcess),
    http: m.http && pick(m.http),
    vendCalls: pick(m.sameCalls),
    ratios: {
      inProcessP50: ratio(m.inProcess.p50Ms, m.floor.p50Ms),
      inProcessP99: ratio(m.inProcess.p99Ms, m.floor.p99Ms),
      httpP50: m.http && ratio(m.http.p50Ms, m.floor.p50Ms),
      vsIrreducibleP50: ratio(m.inProcess.p50Ms, m.floorIrreducible.p50Ms),
      vsIrreducibleP99: ratio(m.inProcess.p99Ms, m.floorIrreducible.p99Ms),
      vsVendCallsP50: ratio(m.inProcess.p50Ms, m.sameCalls.p50Ms),
      vsVendCallsP99: ratio(m.inProcess.p99Ms, m.sameCalls.p99Ms),
      vendCallsVsIrreducibleP50: ratio(m.sameCalls.p50Ms, m.floorIrreducible.p50Ms),
    },
    handlerCpuMs: round(m.handlerCpuMs),
    tvmCpuMs: round(m.handlerCpuMs * m.handlerCpuShares.tvm),
    awsCallsPerVend: { sts: m.awsCallsPerVend.sts, dynamodbReads: m.awsCallsPerVend.dynamodbReads, dynamodbWrites: m.awsCallsPerVend.dynamodbWrites },
    writeUnitsPerVend: round(m.writeUnitsPerVend),
    bundles: Object.fromEntries(Object.entries(m.bundles).map(([name, b]) => [name, { bytes: b.bytes, coldInitMs: b.coldInitMs }])),
    concurrent: { requests: m.concurrent.requests, errors: m.concurrent.errors, rps: m.concurrent.rps },
    console: { jsBytes: m.console.jsBytes, jsGzipBytes: m.console.jsGzipBytes },
    cli: { cachedMs: m.cli.cachedMs, nodeMs: m.cli.nodeMs, ratio: m.cli.ratio, cachedWithStackMs: m.cli.cachedWithStackMs, cutOffCheckMs: m.cli.cutOffCheckMs },
    machine: m.machine,
    addedLatencyMs: m.addedLatencyMs,
  };
}

export function checkTargets(m: Measurements): TargetCheck[] {
  const r = toResults(m);
  const vend = m.bundles[VEND_FUNCTION];
  const slowest = Object.entries(m.bundles).sort(([, a], [, b]) => b.coldInitMs - a.coldInitMs)[0];
  const calls = m.awsCallsPerVend;
  return [
    { target: `in-process p50 ≤ ${TARGETS.inProcessP50Ratio} × floor p50`, measured: `${r.ratios.inProcessP50} ×`, met: r.ratios.inProcessP50 <= TARGETS.inProcessP50Ratio },
    { target: `in-process p99 ≤ ${TARGETS.inProcessP99Ratio} × floor p99`, measured: `${r.ratios.inProcessP99} ×`, met: r.ratios.inProcessP99 <= TARGETS.inProcessP99Ratio },
    {
      target: `in-process p50 ≤ ${TARGETS.irreducibleP50Ratio} × irreducible floor p50`,
      measured: `${r.ratios.vsIrreducibleP50} ×`,
      met: r.ratios.vsIrreducibleP50 <= TARGETS.irreducibleP50Ratio,
    },
    {
      target: `in-process p99 ≤ ${TARGETS.irreducibleP99Ratio} × irreducible floor p99`,
      measured: `${r.ratios.vsIrreducibleP99} ×`,
      met: r.ratios.vsIrreducibleP99 <= TARGETS.irreducibleP99Ratio,
    },
    { target: `handler CPU per vend ≤ ${TARGETS.handlerCpuMs} ms`, measured: `${r.handlerCpuMs} ms`, met: r.handlerCpuMs <= TARGETS.handlerCpuMs },
    { target: `tvm's own CPU per vend ≤ ${TARGETS.tvmCpuMs} ms`, measured: `${r.tvmCpuMs} ms`, met: r.tvmCpuMs <= TARGETS.tvmCpuMs },
    {
      target: `DynamoDB write units per vend ≤ ${TARGETS.writeUnitsPerVend}`,
      measured: `${r.writeUnitsPerVend} (${formatByOperation(m.writeUnitsByOperation)})`,
      met: r.writeUnitsPerVend <= TARGETS.writeUnitsPerVend,
    },
    {
      target: `vend bundle ≤ ${TARGETS.vendBundleBytes / 1000} kB`,
      measured: vend ? `${kB(vend.bytes)} kB` : 'not packaged',
      met: vend !== undefined && vend.bytes <= TARGETS.vendBundleBytes,
    },
    {
      target: `cold init ≤ ${TARGETS.coldInitMs} ms (every bundle)`,
      measured: slowest ? `${slowest[1].coldInitMs} ms (slowest: ${slowest[0]})` : 'not measured',
      met: slowest !== undefined && slowest[1].coldInitMs <= TARGETS.coldInitMs,
    },
    {
      target: `AWS calls per vend: ≤ ${TARGETS.stsCalls} STS, ≤ ${TARGETS.auditWrites} audit write, ≤ ${TARGETS.dynamodbReads} DynamoDB reads`,
      measured: `${calls.sts} STS, ${calls.auditWrites} audit write, ${calls.dynamodbReads} reads`,
      met: calls.sts <= TARGETS.stsCalls && calls.auditWrites <= TARGETS.auditWrites && calls.dynamodbReads <= TARGETS.dynamodbReads,
    },
    {
      target: `${m.concurrent.requests} concurrent vends: ${TARGETS.concurrentErrors} errors`,
      measured: `${m.concurrent.errors} errors`,
      met: m.concurrent.errors <= TARGETS.concurrentErrors,
    },
    {
      target: `console JavaScript ≤ ${TARGETS.consoleJsGzipBytes / 1000} kB gzipped`,
      measured: `${kB(m.console.jsGzipBytes)} kB`,
      met: m.console.jsGzipBytes <= TARGETS.consoleJsGzipBytes,
    },
    {
      target: `cached credential_process ≤ ${TARGETS.cliCachedRatio} × node -e 0`,
      measured: `${m.cli.ratio} × (${m.cli.cachedMs} ms, node ${m.cli.nodeMs} ms)`,
      met: m.cli.ratio <= TARGETS.cliCachedRatio,
    },
  ];
}

export function formatReport(m: Measurements, checks: readonly TargetCheck[]): string {
  const r = toResults(m);
  const lines: string[] = [];
  lines.push(`tvm benchmark — ${m.machine}`, '');
  if (m.addedLatencyMs) {
    lines.push(
      `Added latency: every answer to (a), (b), (d) and (e) held back ${m.addedLatencyMs.dynamodb} ms from DynamoDB, ${m.addedLatencyMs.sts} ms from STS ((c) not measured)`,
      '',
    );
  }
  lines.push(
    table(
      ['latency', 'samples', 'p50 ms', 'p90 ms', 'p99 ms', 'p50 / floor', 'p99 / floor'],
      [
        row('(a) floor: AssumeRole + PutItem', m.floor, m.floor),
        row('(b) tvm vend, handler in-process', m.inProcess, m.floor),
        m.http ? row('(c) tvm vend over HTTP (serverless-offline)', m.http, m.floor) : ['(c) tvm vend over HTTP (serverless-offline)', '–', '–', '–', '–', '–', '–'],
        row('(d) the vend\'s AWS calls, plain SDK script', m.sameCalls, m.floor),
        row('(e) irreducible floor: reads ‖, AssumeRole, PutItem', m.floorIrreducible, m.floor),
      ],
    ),
  );
  const calls = m.awsCallsPerVend;
  lines.push(
    '',
    `(b) / (d): ${ratio(m.inProcess.p50Ms, m.sameCalls.p50Ms)} at p50, ${ratio(m.inProcess.p99Ms, m.sameCalls.p99Ms)} at p99: tvm's own work on top of the calls it makes`,
    `(b) / (e): ${r.ratios.vsIrreducibleP50} at p50, ${r.ratios.vsIrreducibleP99} at p99: the vend against what any correct vend must do`,
    `CPU per operation (user + system, over a batch): (b) tvm vend ${r.handlerCpuMs} ms, (a) floor ${round(m.floorCpuMs)} ms, ` +
      `(d) the vend's calls ${round(m.sameCallsCpuMs)} ms, (e) irreducible floor ${round(m.irreducibleCpuMs)} ms`,
    `  the vend's, by who asked for it: AWS SDK ${share(m, 'awsSdk')}, tvm and its libraries ${share(m, 'tvm')}, ` +
      `runtime (GC) ${share(m, 'runtime')}`,
    `AWS calls per vend: ${calls.sts} STS, ${calls.dynamodbReads} DynamoDB reads, ${calls.dynamodbWrites} DynamoDB writes ` +
      `(${calls.auditWrites} to the audit table, ${round(calls.dynamodbWrites - calls.auditWrites)} vend-quota counter), ` +
      `costing ${r.writeUnitsPerVend} write units (${formatByOperation(m.writeUnitsByOperation)}; base tables, from the requests)`,
    `Concurrency: ${m.concurrent.requests} vends at once over HTTP: ${m.concurrent.errors} errors, ${m.concurrent.rps} requests/s, ` +
      `p50 ${m.concurrent.p50Ms} ms, p99 ${m.concurrent.p99Ms} ms ${JSON.stringify(m.concurrent.statuses)}`,
    `CLI (packed), medians of ${m.cli.runs} interleaved runs: cached credential_process ${m.cli.cachedMs} ms (its cut-off check answered at once), ` +
      `node -e 0 ${m.cli.nodeMs} ms (${m.cli.ratio} ×); against the stack ${m.cli.cachedWithStackMs} ms, the cut-off check costing ${m.cli.cutOffCheckMs} ms; ` +
      `uncached (--no-cache, one vend over HTTP) ${m.cli.uncachedMs} ms`,
    '',
  );
  lines.push(
    table(
      ['bundle', 'kB (.mjs)', 'source map kB', 'cold init ms (median)'],
      Object.entries(m.bundles).map(([name, b]) => [name, String(kB(b.bytes)), String(kB(b.sourceMapBytes)), String(b.coldInitMs)]),
    ),
    '',
  );
  lines.push(table(['target', 'measured', ''], checks.map((c) => [c.target, c.measured, c.met ? 'met' : 'MISSED'])));
  return lines.join('\n');
}

function formatByOperation(units: Record<string, number>): string {
  const parts = Object.entries(units).map(([operation, n]) => `${operation} ${round(n)}`);
  return parts.length > 0 ? parts.join(', ') : 'no writes';
}

function share(m: Measurements, part: keyof CpuShares): string {
  const fraction = m.handlerCpuShares[part];
  return `${round(m.handlerCpuMs * fraction)} ms (${Math.round(fraction * 100)} %)`;
}

function row(label: string, s: LatencySummary, floor: LatencySummary): string[] {
  return [label, String(s.samples), String(s.p50Ms), String(s.p90Ms), String(s.p99Ms), String(ratio(s.p50Ms, floor.p50Ms)), String(ratio(s.p99Ms, floor.p99Ms))];
}

function ratio(value: number, floor: number): number {
  return round(value / floor);
}

const kB = (bytes: number) => round(bytes / 1000, 1);

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
