// Load, full run (`npm run test:stress`): TVM_LOAD_CONCURRENCY concurrent vends (default 200) against
// the local stack, with the same promises as the always-on slice in test/e2e/load.test.ts.
import { issuedEventsOf, latencyOf, statusesOf, vendConcurrently, warmUp } from '../e2e/support/vend-load.js';

const CONCURRENCY = Number(process.env.TVM_LOAD_CONCURRENCY ?? 200);

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
  }, 300_000);
});
