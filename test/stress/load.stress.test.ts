// Load, full run (`npm run test:stress`): TVM_LOAD_CONCURRENCY concurrent vends (default 200) against
// the local stack, with the same promises as the always-on slice in test/e2e/load.test.ts.
import { describeLoad } from '../e2e/support/vend-load.js';

describeLoad(Number(process.env.TVM_LOAD_CONCURRENCY ?? 200), 300_000);
