// The flood attack on a vend's reads: other people's
// grants, and the caller's own revoked and expired ones, piled onto a profile must not make the
// caller's vend read more. Measured from DynamoDB Local's own answers (items each Query examined,
// items each GetItem/BatchGetItem returned, pages) through the real adapters and SDK client.
import { randomUUID } from 'node:crypto';
import { grantItem } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbLockdownStore } from '../../shared/adapters/dynamodb-lockdown-store.js';
import { DynamoDbProfileReader } from '../../shared/adapters/dynamodb-profile-reader.js';
import { adminEvent } from '../../shared/domain/audit.js';
import { EngagementHandedOverError, GrantExpiredError } from '../../shared/domain/errors.js';
import type { Grant, Principal } from '../../shared/domain/model.js';
import { vendCredentials, type VendDeps } from '../../shared/domain/vend-credentials.js';
import { aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { FakeCredentialIssuer, InMemoryAuditLog, InMemoryRateLimiter, sequentialIds } from '../fixtures/in-memory.js';
import { putRawItems, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';
import { countingClient, type ReadCost } from './support/read-cost.js';

const PROFILE = 'flooded';
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const CALLER = aPrincipal({ id: 'alice@example.com', groups: ['developers', 'oncall'] });
const OTHER_PEOPLES_GRANTS = 3_000;
const CALLERS_REVOKED_GRANTS = 150;
const CALLERS_EXPIRED_GRANTS = 150;
/** The caller's grants that can vend: one of its own, one of a group's. */
const CALLERS_ACTIVE_GRANTS = 2;
/** Writing thousands of items into DynamoDB Local takes a few seconds, more on a busy machine. */
const SEEDING_TIMEOUT_MS = 120_000;

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let store: DynamoDbDelegationStore;
let counted: ReturnType<typeof countingClient>;
let deps: VendDeps;
let events = 0;

const audit = (type: 'grant.created' | 'grant.revoked' | 'profile.put') =>
  adminEvent(new Date(), `seed-${++events}-${randomUUID()}`, type, ADMIN, { requestId: `seed-${events}` }, { profile: PROFILE });

/** Many grants at once, stored exactly as the store writes them (grantItem), without audit events. */
async function putGrants(grants: readonly Grant[]): Promise<void> {
  await putRawItems(dynamodb().documentClient, tables.delegations, grants.map(grantItem));
}

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();

function aCallerGrant(id: string, overrides: Partial<Grant> = {}): Grant {
  return aGrant({
    id,
    profile: PROFILE,
    subject: { type: 'user', id: CALLER.id },
    validFrom: hoursFromNow(-48),
    validUntil: hoursFromNow(24),
    ...overrides,
  });
}

async function vend(principal: Principal) {
  counted.take();
  const outcome = await vendCredentials(deps, principal, { profile: PROFILE, durationSeconds: 900 }, { requestId: randomUUID() }).then(
    (result) => ({ grantId: result.grantId }),
    (error: unknown) => ({ error }),
  );
  return { outcome, cost: counted.take() };
}

beforeAll(async () => {
  tables = await dynamodb().createTestTables();
  store = new DynamoDbDelegationStore(dynamodb().documentClient, {
    tableName: tables.delegations,
    auditTableName: tables.audit,
    auditShards: 4,
  });
  const endpoint = await dynamodb().client.config.endpoint?.();
  if (!endpoint) throw new Error('DynamoDB Local has no endpoint');
  counted = countingClient(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`);
  const auditLog = new InMemoryAuditLog();
  deps = {
    store: new DynamoDbProfileReader(counted.documentClient, { tableName: tables.delegations }),
    lockdown: new DynamoDbLockdownStore(counted.documentClient, {
      tableName: tables.delegations,
      auditTableName: tables.audit,
      auditShards: 4,
    }),
    issuer: new FakeCredentialIssuer(),
    audit: auditLog,
    limiter: new InMemoryRateLimiter(10_000),
    clock: { now: () => new Date() },
    ids: sequentialIds('evt'),
    warn: () => undefined,
  };
  await store.putProfile(aProfile({ name: PROFILE }), audit('profile.put'));
  await putGrants([
    aCallerGrant('alice-active'),
    aCallerGrant('developers-active', { subject: { type: 'group', id: 'developers' } }),
  ]);
  // A revocation before the baseline, as the flood's revocations: both vends then find the cut-off
  // epoch beside the lockdown.
  const unrelated = aCallerGrant('someone-else-revoked', { subject: { type: 'user', id: 'someone-else@example.com' } });
  await putGrants([unrelated]);
  await store.revokeGrants([unrelated], ADMIN.id, new Date().toISOString(), audit('grant.revoked'));
}, SEEDING_TIMEOUT_MS);

afterAll(() => {
  counted?.documentClient.destroy();
});

describe("a vend's reads under a flood of grants", () => {
  let baseline: ReadCost;

  beforeAll(async () => {
    const { outcome, cost } = await vend(CALLER);
    expect(outcome).toEqual({ grantId: expect.any(String) });
    baseline = cost;
  });

  it("cost no more with thousands of other people's grants and the caller's own revoked and expired ones", async () => {
    // Prepare: other users and groups (some with names that begin like the caller's), the
    // caller's revoked grants (revoked as DELETE /grants revokes), and the caller's expired grants
    const others = Array.from({ length: OTHER_PEOPLES_GRANTS }, (_, i) =>
      aCallerGrant(`other-${i}`, {
        subject: i % 3 === 0 ? { type: 'group', id: `team-${i}` } : { type: 'user', id: `${CALLER.id}${i % 2 === 0 ? '#' : '.'}${i}` },
      }),
    );
    const revoked = Array.from({ length: CALLERS_REVOKED_GRANTS }, (_, i) => aCallerGrant(`alice-revoked-${i}`));
    const expired = Array.from({ length: CALLERS_EXPIRED_GRANTS }, (_, i) =>
      aCallerGrant(`alice-expired-${i}`, {
        ...(i % 2 === 0 ? { subject: { type: 'group', id: 'oncall' } } : {}),
        validFrom: hoursFromNow(-72),
        validUntil: hoursFromNow(-1 - i / 100),
      }),
    );
    await putGrants([...others, ...revoked, ...expired]);
    for (let i = 0; i < revoked.length; i += 90) {
      expect(await store.revokeGrants(revoked.slice(i, i + 90), ADMIN.id, new Date().toISOString(), audit('grant.revoked'))).toBe(true);
    }

    // Act
    const { outcome, cost } = await vend(CALLER);

    // Assess: the same grant, for the same reads as before the flood: the caller's active grants,
    // the profile and the lockdown's partition (its record, the cut-off epoch), nothing else; a
    // request per subject, the profile and the lockdown's partition, in one round trip
    expect(outcome).toEqual({ grantId: expect.stringMatching(/^(alice|developers)-active$/) });
    expect(cost).toEqual(baseline);
    expect(cost.itemsRead).toBeLessThanOrEqual(CALLERS_ACTIVE_GRANTS + 3);
    expect(cost.requests).toBe(2 + 1 + CALLER.groups.length);
  }, SEEDING_TIMEOUT_MS);

  it('explains an expired grant at a bounded extra cost, however many expired grants the caller has', async () => {
    // Prepare: bob's grants all expired, the latest an hour ago; thousands of others' meanwhile
    const bob = aPrincipal({ id: 'bob@example.com', groups: ['interns'] });
    await putGrants(
      Array.from({ length: 300 }, (_, i) =>
        aCallerGrant(`bob-expired-${i}`, {
          subject: i % 2 === 0 ? { type: 'user', id: bob.id } : { type: 'group', id: 'interns' },
          validFrom: hoursFromNow(-72),
          validUntil: hoursFromNow(-1 - i),
        }),
      ),
    );

    // Act
    const { outcome, cost } = await vend(bob);

    // Assess: one item per subject and kind of refusal at most, beyond the profile and the lockdown
    expect('error' in outcome && outcome.error).toBeInstanceOf(GrantExpiredError);
    const subjects = 1 + bob.groups.length;
    expect(cost.itemsRead).toBeLessThanOrEqual(2 + 2 * subjects);
  }, SEEDING_TIMEOUT_MS);

  it('still explains a handover (ENGAGEMENT_HANDED_OVER) to a contractor, at a bounded cost', async () => {
    // Prepare: carla's engagement grant, handed over, beside many of her grants revoked before
    const carla = aPrincipal({ id: 'carla@contractor.example', groups: [] });
    const handedOver = aCallerGrant('carla-engagement', { subject: { type: 'user', id: carla.id }, engagementId: 'eng-1' });
    const revoked = Array.from({ length: 90 }, (_, i) => aCallerGrant(`carla-revoked-${i}`, { subject: { type: 'user', id: carla.id } }));
    await putGrants([handedOver, ...revoked]);
    expect(await store.revokeGrants(revoked, ADMIN.id, new Date().toISOString(), audit('grant.revoked'))).toBe(true);
    const engagements = await import('../../shared/adapters/dynamodb-engagement-store.js');
    const engagementStore = new engagements.DynamoDbEngagementStore(dynamodb().documentClient, {
      tableName: tables.delegations,
      auditTableName: tables.audit,
      auditShards: 4,
    });
    const engagement = {
      id: 'eng-1',
      name: 'rebuild',
      owner: 'owner@example.com',
      contractors: [carla.id],
      profiles: [{ profile: PROFILE }],
      validUntil: handedOver.validUntil,
      status: 'active' as const,
      createdBy: ADMIN.id,
      createdAt: new Date().toISOString(),
      version: 1,
    };
    await engagementStore.createEngagement(engagement, [], audit('grant.created'), []);
    const handedOverAt = new Date().toISOString();
    expect(
      await engagementStore.handOver(
        {
          ...engagement,
          status: 'handed-over',
          version: 2,
          handover: { at: handedOverAt, by: ADMIN.id, to: [engagement.owner], revokedGrants: [handedOver.id], newGrants: [] },
        },
        1,
        [handedOver],
        [],
        audit('grant.revoked'),
        {
          id: `order-${engagement.id}`,
          cause: 'engagement-handed-over',
          decidedAt: handedOverAt,
          decidedBy: ADMIN.id,
          requestId: 'req-handover',
          revocations: [],
          roles: [],
          attempts: 0,
          context: { engagementId: engagement.id },
        },
        [],
      ),
    ).toBe(true);

    // Act
    const { outcome, cost } = await vend(carla);

    // Assess
    expect('error' in outcome && outcome.error).toBeInstanceOf(EngagementHandedOverError);
    expect(cost.itemsRead).toBeLessThanOrEqual(2 + 2 * 1);
  }, SEEDING_TIMEOUT_MS);
});
