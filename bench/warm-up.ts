// Warming serverless-offline's vend function before a burst of concurrent vends: the load tests
// (test/e2e/support/vend-load.ts) and the benchmark's 200 at once (bench/run.ts) both need it.

/** How many more vend function instances each warm-up wave may start at once. */
const WARM_UP_STEP = 10;

/**
 * Brings serverless-offline up to `concurrency` warm instances of the vend function, a few at a
 * time: each instance is a worker thread that loads the whole function on its first request, and
 * serverless-offline counts that load against the function's 25 s timeout, so a burst of cold
 * starts on a small machine times out (and a timed-out instance never answers again until it is
 * reaped). On AWS each instance starts on its own; a load run measures the vend path, not how
 * many bundles two CPUs can load at once. `postEmptyVend` sends an authenticated POST /credentials
 * with an empty body (so the instance fetches the issuer's JWKS now, not during the run) and
 * returns its status: refused with 400 before the use case, so it leaves no state and no audit event.
 */
export async function warmUpVendInstances(concurrency: number, postEmptyVend: () => Promise<number>): Promise<void> {
  for (let wave = Math.min(WARM_UP_STEP, concurrency); ; wave = Math.min(wave + WARM_UP_STEP, concurrency)) {
    const statuses = await Promise.all(Array.from({ length: wave }, postEmptyVend));
    if (statuses.some((status) => status !== 400)) throw new Error(`warming up ${wave} vend instances: ${JSON.stringify(statuses)}`);
    if (wave === concurrency) return;
  }
}
