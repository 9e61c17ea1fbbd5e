// Concurrent vends against the running stack, and what came of them: each response's status and
// latency, and the credential.issued events the audit trail holds for the run afterwards.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { percentile } from '../../../bench/stats.js';
import { warmUpVendInstances } from '../../../bench/warm-up.js';
import { api, SECURITY_GROUPS, tokenFor } from './api.js';

/**
 * Requests per principal: far below the per-principal vend quota (30 a minute), so a load run
 * measures the vend path and never the rate limiter.
 */
const VENDS_PER_PRINCIPAL = 10;

export interface VendOutcome {
  readonly principal: string;
  readonly status: number;
  readonly ms: number;
  /** Set on a 200. */
  readonly accessKeyId?: string;
  /** The error code of a non-200, for the failure message. */
  readonly code?: string;
}

export interface LoadRun {
  /** Part of every principal id of the run, so its events are told apart from any other's. */
  readonly runId: string;
  readonly startedAt: string;
  readonly outcomes: readonly VendOutcome[];
  /** Wall time from the first request sent to the last response read. */
  readonly wallMs: number;
}

interface VendBody {
  credentials?: { accessKeyId: string };
  error?: { code: string };
  errorType?: string;
}

/** serverless-offline brought to `concurrency` warm vend instances (bench/warm-up.ts says why). */
export async function warmUp(concurrency: number): Promise<void> {
  const token = await tokenFor('load-warm-up@example.com', ['engineering']);
  await warmUpVendInstances(concurrency, async () => (await api('POST', '/credentials', { token, body: {} })).status);
}

/**
 * Sends `concurrency` vends of demo-readonly at once, from fresh members of `engineering`
 * (VENDS_PER_PRINCIPAL each). Tokens are minted first so only the requests are timed.
 */
export async function vendConcurrently(concurrency: number): Promise<LoadRun> {
  const runId = randomBytes(4).toString('hex');
  const principals = Array.from({ length: Math.ceil(concurrency / VENDS_PER_PRINCIPAL) }, (_, i) => `load-${runId}-${i}@example.com`);
  const tokens = await Promise.all(principals.map((principal) => tokenFor(principal, ['engineering'])));
  // The audit query's `from` is inclusive; a second of slack covers clock rounding in event ids.
  const startedAt = new Date(Date.now() - 1_000).toISOString();
  const wallStart = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: concurrency }, async (_, i): Promise<VendOutcome> => {
      const slot = Math.floor(i / VENDS_PER_PRINCIPAL);
      const start = performance.now();
      const response = await api<VendBody>('POST', '/credentials', {
        token: tokens[slot],
        body: { profile: 'demo-readonly', durationSeconds: 900 },
      });
      const ms = performance.now() - start;
      const principal = principals[slot] as string;
      const accessKeyId = response.body?.credentials?.accessKeyId;
      // serverless-offline answers a Lambda that failed outright (a timeout) with 200 and errorType.
      const code = response.body?.error?.code ?? response.body?.errorType ?? (accessKeyId ? undefined : 'NO_CREDENTIALS');
      return { principal, status: response.status, ms, ...(accessKeyId ? { accessKeyId } : {}), ...(code ? { code } : {}) };
    }),
  );
  return { runId, startedAt, outcomes, wallMs: performance.now() - wallStart };
}

interface IssuedEvent {
  readonly type: string;
  readonly principal: string;
  readonly accessKeyId?: string;
}

/** Every credential.issued event since the run started whose principal belongs to the run (all pages). */
export async function issuedEventsOf(run: LoadRun): Promise<IssuedEvent[]> {
  const token = await tokenFor('security@example.com', SECURITY_GROUPS);
  const events: IssuedEvent[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ type: 'credential.issued', from: run.startedAt, limit: '100', ...(cursor ? { cursor } : {}) });
    const page = await api<{ events: IssuedEvent[]; nextCursor?: string }>('GET', `/audit/events?${query}`, { token });
    if (page.status !== 200) throw new Error(`GET /audit/events answered ${page.status}: ${page.text}`);
    events.push(...page.body.events);
    cursor = page.body.nextCursor;
  } while (cursor);
  return events.filter((event) => event.principal.includes(`load-${run.runId}-`));
}

export interface LatencyReport {
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requestsPerSecond: number;
}

/** Nearest-rank percentiles of the run's latencies, and its throughput. */
export function latencyOf(run: LoadRun): LatencyReport {
  const sorted = run.outcomes.map((outcome) => outcome.ms).sort((a, b) => a - b);
  const rank = (p: number) => percentile(sorted, p);
  return {
    requests: sorted.length,
    p50Ms: Math.round(rank(50)),
    p99Ms: Math.round(rank(99)),
    maxMs: Math.round(sorted[sorted.length - 1] ?? NaN),
    requestsPerSecond: Math.round((sorted.length / run.wallMs) * 1000 * 10) / 10,
  };
}

/** Statuses and codes of the run, counted: `{ "200": 48, "503 AUDIT_UNAVAILABLE": 2 }`. */
export function statusesOf(run: LoadRun): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status, code } of run.outcomes) {
    const key = code ? `${status} ${code}` : String(status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The load test, at any size: `concurrency` vends at once all succeed, and every credential handed
 * out has exactly one credential.issued event (none issued unrecorded, none recorded twice).
 */
export function describeLoad(concurrency: number, timeoutMs: number): void {
  describe(`${concurrency} concurrent vends`, () => {
    it('all succeed, each with exactly one credential.issued event', async () => {
      // Prepare
      await warmUp(concurrency);

      // Act
      const run = await vendConcurrently(concurrency);
      const issued = await issuedEventsOf(run);

      // Assess
      console.log(`load: ${concurrency} concurrent vends`, JSON.stringify({ ...latencyOf(run), statuses: statusesOf(run) }));
      expect(statusesOf(run)).toEqual({ '200': concurrency });
      const vendedKeys = run.outcomes.map((outcome) => outcome.accessKeyId).sort();
      expect(new Set(vendedKeys).size).toBe(concurrency);
      expect(issued.map((event) => event.accessKeyId).sort()).toEqual(vendedKeys);
    }, timeoutMs);
  });
}
