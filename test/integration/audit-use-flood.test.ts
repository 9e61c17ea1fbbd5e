// The use-flood attack: one vended key, a cheap AWS call in a loop, and every call becomes a
// `credential.used` event. Against DynamoDB Local, through the real SDK clients: several "processes"
// (separate chain states, as Lambda instances of recordUse and ingestTrailLogs are) append uses as
// fast as they can while vend-like processes append `credential.issued`, each within a race budget.
// No issuance may fail or run out of its budget, however many uses are being recorded.
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import { FIXED_NOW } from '../fixtures/builders.js';
import { anIssuance, aUse } from '../fixtures/key-events.js';
import { useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

/** Few chains, so the flood reaches every one of them. */
const SHARDS = 2;
const FLOOD_PROCESSES = 4;
const FLOOD_CONCURRENCY = 8;
/** How long the flood runs; vends go on for as long. */
const FLOOD_MS = 6_000;
const VEND_PROCESSES = 2;
/** Between the vends of one process: a steady stream of callers, not a flood of its own. */
const VEND_EVERY_MS = 200;
/** A vend's time for losing head races (production: 10 s); a vend that needs longer has starved. */
const VEND_RACE_BUDGET_MS = 2_000;

const dynamodb = useDynamoDbLocal();
let tables: TestTables;

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
});

/** A Lambda instance: its own chain state of each set, on the table every instance shares. */
function aProcess(raceBudgetMs?: number): DynamoDbAuditLog {
  const budget = raceBudgetMs === undefined ? {} : { raceBudgetMs };
  return new DynamoDbAuditLog(dynamodb().documentClient, {
    tableName: tables.audit,
    shards: SHARDS,
    useShards: SHARDS,
    chains: new AuditChains(budget),
    useChains: new AuditChains(budget),
    now: () => FIXED_NOW,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a flood of recorded uses', () => {
  it('never makes an issuance fail or exceed its race budget', async () => {
    // Prepare: the attacker's key, used in a loop from several processes
    const issuance = anIssuance({ at: '2026-06-01T11:00:00.000Z', accessKeyId: 'ASIAFLOODFLOODFLOOD1' });
    await aProcess().append(issuance);
    const floodEndsAt = Date.now() + FLOOD_MS;
    let attempted = 0;
    let recorded = 0;
    const floodLane = async (process: DynamoDbAuditLog) => {
      while (Date.now() < floodEndsAt) {
        const n = attempted++;
        const eventTime = new Date(Date.parse('2026-06-01T11:00:00Z') + n * 1000).toISOString().replace('.000', '');
        // A use that lost its own races is retried by the platform later: the loop goes on.
        const appended = await process.append(aUse(issuance, { eventTime, cloudTrailEventId: `flood-${n}` })).catch(() => undefined);
        if (appended) recorded++;
      }
    };
    const flood = Array.from({ length: FLOOD_PROCESSES }, () => aProcess()).flatMap((process) =>
      Array.from({ length: FLOOD_CONCURRENCY }, () => floodLane(process)),
    );

    // Act: vends in each vend process, one every VEND_EVERY_MS, for as long as the flood runs
    const outcomes: { ms: number; error?: unknown }[] = [];
    const vendProcess = async (p: number) => {
      const process = aProcess(VEND_RACE_BUDGET_MS);
      for (let i = 0; Date.now() < floodEndsAt; i++) {
        const started = Date.now();
        const at = new Date(Date.parse('2026-06-01T11:59:00Z') + p * 10_000 + i).toISOString();
        try {
          await process.append(anIssuance({ at, accessKeyId: `ASIAVEND${p}X${String(i).padStart(10, '0')}` }));
          outcomes.push({ ms: Date.now() - started });
        } catch (error) {
          outcomes.push({ ms: Date.now() - started, error });
        }
        await sleep(VEND_EVERY_MS);
      }
    };
    try {
      // The flood has the chains to itself for a moment first, as an attacker's loop would.
      await sleep(500);
      await Promise.all(Array.from({ length: VEND_PROCESSES }, (_, p) => vendProcess(p)));
    } finally {
      await Promise.all(flood);
    }

    // Assess
    const failed = outcomes.filter((outcome) => outcome.error !== undefined);
    const slowest = Math.max(...outcomes.map((outcome) => outcome.ms));
    console.log('use flood', JSON.stringify({ usesRecorded: recorded, vends: outcomes.length, failed: failed.length, slowestVendMs: slowest }));
    for (const { error } of failed) expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(failed).toHaveLength(0);
    expect(slowest).toBeLessThan(VEND_RACE_BUDGET_MS);
    // It was a flood: more uses landed meanwhile than issuances.
    expect(recorded).toBeGreaterThan(outcomes.length);
  }, 120_000);
});
