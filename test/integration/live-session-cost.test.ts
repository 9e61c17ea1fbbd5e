// The padding attack on a cut-off: a contractor loops a cheap call
// (`aws sts get-caller-identity`) so that every use is recorded, hoping that finding their live
// sessions at a handover or lockdown reads all of it and times out before the cut-off. Live
// sessions are found from an index of issuances by role (and a profile's partition, which holds no
// uses): what they cost is measured from DynamoDB Local's own answers, before and after the flood.
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import type { CredentialIssuedEvent } from '../../shared/domain/audit.js';
import { aUse, anIssuance, ROLE_ARN } from '../fixtures/key-events.js';
import { useDynamoDbLocal, type TestTables } from './support/dynamodb.js';
import { countingClient, type ReadCost } from './support/read-cost.js';

const CONTRACTOR = 'contractor@example.com';
const COLLEAGUE = 'colleague@example.com';
const PROFILE = 'vendor-deploy';
const RECORDED_USES = 300;
/** Writing hundreds of chained events into DynamoDB Local takes a few seconds, more on a busy machine. */
const SEEDING_TIMEOUT_MS = 120_000;

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let counted: ReturnType<typeof countingClient>;
let log: DynamoDbAuditLog;

beforeAll(async () => {
  tables = await dynamodb().createTestTables();
  const endpoint = await dynamodb().client.config.endpoint?.();
  if (!endpoint) throw new Error('DynamoDB Local has no endpoint');
  counted = countingClient(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`);
  log = new DynamoDbAuditLog(counted.documentClient, { tableName: tables.audit, shards: 4, useShards: 4 });
});

function liveIssuance(principal: string, accessKeyId: string, now: Date): CredentialIssuedEvent {
  const at = new Date(now.getTime() - 5 * 60_000).toISOString();
  return anIssuance({ at, principal, accessKeyId, profile: PROFILE, expiration: new Date(now.getTime() + 55 * 60_000).toISOString() });
}

/** What finding the live sessions costs, by role (every cut-off) and by profile (GET /audit/access). */
async function findingCost(now: Date): Promise<{ role: ReadCost; profile: ReadCost; found: number[] }> {
  counted.take();
  const onRole = await log.liveIssuancesOnRole(ROLE_ARN, now);
  const role = counted.take();
  const onProfile = await log.liveIssuancesForProfile(PROFILE, now);
  const profile = counted.take();
  return { role, profile, found: [onRole.length, onProfile.length] };
}

it(
  `finding live sessions reads as much after ${RECORDED_USES} recorded uses of a contractor's key as before`,
  async () => {
    // Prepare: the contractor's session and a colleague's, both live on the role
    const now = new Date();
    const contractors = liveIssuance(CONTRACTOR, 'ASIACONTRACTOR000001', now);
    await log.append(contractors);
    await log.append(liveIssuance(COLLEAGUE, 'ASIACOLLEAGUE0000001', now));
    const before = await findingCost(now);

    // Act: the contractor loops a cheap call, and every call is recorded
    for (let i = 0; i < RECORDED_USES; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, RECORDED_USES - i) }, (_, j) => {
          const eventTime = new Date(now.getTime() - 4 * 60_000 + (i + j) * 100).toISOString().replace(/\.\d{3}Z$/, 'Z');
          return log.append(aUse(contractors, { eventTime, at: new Date(now.getTime() - 4 * 60_000 + (i + j) * 100).toISOString(), cloudTrailEventId: `ct-flood-${i + j}` }));
        }),
      );
    }
    const after = await findingCost(now);

    // Assess: both sessions found, at the same cost as before the flood
    expect(before.found).toEqual([2, 2]);
    expect(after.found).toEqual([2, 2]);
    expect({ role: after.role.itemsRead, profile: after.profile.itemsRead }).toEqual({ role: before.role.itemsRead, profile: before.profile.itemsRead });
    // A profile's partition is read in both audit layouts (the legacy index and its chain-keyed twin):
    // one request each.
    expect({ role: after.role.requests, profile: after.profile.requests }).toEqual({ role: 1, profile: 2 });
    expect(after.role.itemsRead).toBe(2);
  },
  SEEDING_TIMEOUT_MS,
);
