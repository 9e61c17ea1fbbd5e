// Load, always-on slice: 50 concurrent vends against the local stack. Every one succeeds and every
// credential handed out has exactly one credential.issued event (none issued unrecorded, none
// recorded twice). The 200-vend run is test/stress/load.stress.test.ts.
import { describeLoad } from './support/vend-load.js';

describeLoad(50, 60_000);
