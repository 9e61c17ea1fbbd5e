// Load, always-on slice: 50 concurrent vends against the local stack. Every one succeeds and every
// credential handed out has exactly one credential.issued event (none issued unrecorded, none
// recorded twice). The 200-vend run is test/stress/load.stress.test.ts.
import { issuedEventsOf, latencyOf, statusesOf, vendConcurrently, warmUp } from './support/vend-load.js';

const CONCURRENCY = 50;

describe(`${CONCURRENCY} concurrent vends`, () => {
  it('all succeed, each with exactly one credential.issued event', async () => {
    // Prepare
    await warmUp(CONCURRENCY);

    // Act
    const run = await vendConcurrently(CONCURRENCY);
    const issued = await issuedEventsOf(run);

    // Assess
    console.log(`load: ${CONCURRENCY} concurrent vends`, JSON.stringify({ ...latencyOf(run), statuses: statusesOf(run) }));
    expect(statusesOf(run)).toEqual({ '200': CONCURRENCY });
    const vendedKeys = run.outcomes.map((outcome) => outcome.accessKeyId).sort();
    expect(new Set(vendedKeys).size).toBe(CONCURRENCY);
    expect(issued.map((event) => event.accessKeyId).sort()).toEqual(vendedKeys);
  }, 60_000);
});
