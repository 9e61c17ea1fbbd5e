// The long run of test/unit/hostile-input.test.ts: TVM_HOSTILE_RUNS (default 1,000) generated
// requests per route, same properties.
import { jest } from '@jest/globals';
import '../fixtures/handler-harness.js';
import { describeHostileInput } from '../fixtures/hostile-requests.js';

const runs = Number(process.env.TVM_HOSTILE_RUNS ?? 1000);

jest.setTimeout(600_000);

beforeEach(() => {
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describeHostileInput(Number.isInteger(runs) && runs > 0 ? runs : 1000);
