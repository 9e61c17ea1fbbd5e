// DynamoDbEngagementStore against the real DynamoDB Local, through the real SDK clients: the
// engagement, its grants and its audit event in one transaction; grants the vend's own read finds;
// grants read back by key in their current state (BatchGetItem, more than 100 of them); and a
// handover that is all or nothing — a failed condition anywhere writes nothing at all.
import { principalPk } from '../../shared/adapters/audit-keys.js';
import { CUTOFF_EPOCH_KEY, grantKey, recentCutOffKey } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbEngagementStore } from '../../shared/adapters/dynamodb-engagement-store.js';
import { adminEvent, type AdminAuditEvent } from '../../shared/domain/audit.js';
import { ConflictError } from '../../shared/domain/errors.js';
import type { CutOffOrder, Engagement, Grant } from '../../shared/domain/model.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { captureError, getRawItem, scanRawTable, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

const AUDIT_SHARDS = 4;
const OWNER = aPrincipal({ id: 'owner@example.com', groups: [] });
const HANDOVER_AT = '2026-06-02T09:00:00.000Z';

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let engagements: DynamoDbEngagementStore;
let delegations: DynamoDbDelegationStore;
let eventCounter = 0;

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
  const options = { tableName: tables.delegations, auditTableName: tables.audit, auditShards: AUDIT_SHARDS, auditLayout: 'legacy' as const };
  engagements = new DynamoDbEngagementStore(dynamodb().documentClient, options);
  delegations = new DynamoDbDelegationStore(dynamodb().documentClient, options);
  await delegations.putProfile(aProfile(), anAuditEvent('profile.put'));
});

function anAuditEvent(type: AdminAuditEvent['type']): AdminAuditEvent {
  eventCounter += 1;
  const at = new Date(FIXED_NOW.getTime() + eventCounter * 1000);
  return adminEvent(at, `evt${eventCounter}`, type, OWNER, { requestId: `req-${eventCounter}` }, { profile: 'dev-readonly' });
}

function anEngagement(overrides: Partial<Engagement> = {}): Engagement {
  return {
    id: 'eng-00000001',
    name: 'Checkout rewrite',
    owner: OWNER.id,
    contractors: ['carla@contractor.example', 'carl@contractor.example'],
    profiles: [{ profile: 'dev-readonly', scope: { actions: ['s3:GetObject'] }, maxSessionSeconds: 1800 }],
    validUntil: '2026-07-01T00:00:00.000Z',
    status: 'active',
    createdBy: 'admin@example.com',
    createdAt: FIXED_NOW.toISOString(),
    version: 1,
    ...overrides,
  };
}

function contractorGrants(engagement: Engagement): Grant[] {
  return engagement.contractors.map((contractor, i) =>
    aGrant({ id: `${engagement.id}-c${i}`, subject: { type: 'user', id: contractor }, engagementId: engagement.id, validUntil: engagement.validUntil }),
  );
}

function handedOver(engagement: Engagement, revoke: readonly Grant[], create: readonly Grant[]): Engagement {
  return {
    ...engagement,
    status: 'handed-over',
    version: engagement.version + 1,
    handover: {
      at: HANDOVER_AT,
      by: OWNER.id,
      to: [OWNER.id],
      note: 'shipped',
      revokedGrants: revoke.map((g) => g.id),
      newGrants: create.map((g) => g.id),
      cutOffOrder: `order-${engagement.id}`,
    },
  };
}

let orders = 0;
/** A cut-off order of the contractors' sessions, as the handover writes one. */
const anOrder = (engagement: Engagement): CutOffOrder => ({
  id: `order-${engagement.id}-${++orders}`,
  cause: 'engagement-handed-over',
  decidedAt: HANDOVER_AT,
  decidedBy: OWNER.id,
  requestId: 'req-handover',
  revocations: engagement.contractors.map((contractor) => ({ kind: 'person', sourceIdentity: contractor, before: HANDOVER_AT })),
  roles: ['arn:aws:iam::123456789012:role/tvm-dev-readonly'],
  attempts: 0,
  context: { engagementId: engagement.id },
});

const ownerGrant = (id: string) => aGrant({ id, subject: { type: 'user', id: OWNER.id }, canDelegate: true, engagementId: 'eng-00000001' });

const storedAuditEvent = (event: AdminAuditEvent) =>
  getRawItem(dynamodb().documentClient, tables.audit, { PK: principalPk(event.principal), SK: event.id });

/** Every item of both tables: what "nothing was written" compares. */
async function everything() {
  const documentClient = dynamodb().documentClient;
  const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    `${String(a.PK)}${String(a.SK)}`.localeCompare(`${String(b.PK)}${String(b.SK)}`);
  return {
    delegations: (await scanRawTable(documentClient, tables.delegations)).sort(byKey),
    audit: (await scanRawTable(documentClient, tables.audit)).sort(byKey),
  };
}

describe('DynamoDbEngagementStore', () => {
  describe('createEngagement', () => {
    it('writes the engagement, its grants and its audit event together, and reads them back exactly', async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      const event = anAuditEvent('engagement.created');

      // Act
      await engagements.createEngagement(engagement, grants, event, []);

      // Assess
      expect(await engagements.getEngagement(engagement.id)).toEqual(engagement);
      expect(await engagements.getEngagementWithGrants(engagement.id)).toEqual({ engagement, grants });
      expect(await getRawItem(dynamodb().documentClient, tables.delegations, { PK: `ENGAGEMENT#${engagement.id}`, SK: '#ENGAGEMENT' })).toEqual({
        ...engagement,
        PK: 'ENGAGEMENT#eng-00000001',
        SK: '#ENGAGEMENT',
        GSI1PK: 'ENGAGEMENTS',
        GSI1SK: `${engagement.createdAt}#${engagement.id}`,
        entity: 'engagement',
        grantKeys: grants.map(grantKey),
      });
      expect(await storedAuditEvent(event)).toMatchObject({ type: 'engagement.created' });
    });

    it("writes grants the vend's own consistent read finds, engagementId and all", async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);

      // Act
      await engagements.createEngagement(engagement, grants, anAuditEvent('engagement.created'), []);

      // Assess
      const read = await delegations.getProfileWithGrants('dev-readonly', [{ type: 'user', id: 'carla@contractor.example' }], FIXED_NOW);
      expect(read.grants).toEqual([grants[0]]);
      expect(await delegations.getGrant(`${engagement.id}-c1`)).toEqual(grants[1]);
    });

    it('refuses an engagement id that exists with ConflictError, writing nothing', async () => {
      // Prepare
      const engagement = anEngagement();
      await engagements.createEngagement(engagement, contractorGrants(engagement), anAuditEvent('engagement.created'), []);
      const before = await everything();
      const again = anEngagement({ name: 'Impostor', contractors: ['eve@example.com'] });

      // Act
      const error = await captureError(
        engagements.createEngagement(again, [aGrant({ id: 'fresh-grant-1', engagementId: again.id })], anAuditEvent('engagement.created'), []),
      );

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(await everything()).toEqual(before);
    });

    it('lists every engagement, oldest first, as it stands after a handover, and nothing else of the table', async () => {
      // Prepare
      const later = anEngagement({ id: 'eng-00000002', createdAt: '2026-06-02T00:00:00.000Z' });
      const earlier = anEngagement({ id: 'eng-00000003', createdAt: '2026-06-01T00:00:00.000Z' });
      for (const engagement of [later, earlier]) {
        await engagements.createEngagement(engagement, contractorGrants(engagement), anAuditEvent('engagement.created'), []);
      }
      const revoke = contractorGrants(later);
      const next = handedOver(later, revoke, []);
      await engagements.handOver(next, later.version, revoke, [], anAuditEvent('handover.completed'), anOrder(later), []);

      // Act
      const listed = await engagements.listEngagements();

      // Assess
      expect(listed).toEqual([earlier, next]);
    });

    it('reads nothing for an unknown engagement', async () => {
      // Act + Assess
      expect(await engagements.getEngagement('no-such-engagement')).toBeUndefined();
      expect(await engagements.getEngagementWithGrants('no-such-engagement')).toBeUndefined();
    });
  });

  it('refuses an engagement whose grants are delegated from a grant revoked meanwhile, writing nothing', async () => {
    // Prepare
    const parent = aGrant({ id: 'leads-grant', subject: { type: 'user', id: OWNER.id }, canDelegate: true });
    await delegations.createGrant(parent, anAuditEvent('grant.created'));
    await delegations.revokeGrants([parent], 'admin@example.com', HANDOVER_AT, anAuditEvent('grant.revoked'));
    const engagement = anEngagement({ id: 'eng-orphan' });
    const grants = contractorGrants(engagement).map((grant) => ({ ...grant, parentGrantId: parent.id }));
    const before = await everything();

    // Act
    const error = await captureError(engagements.createEngagement(engagement, grants, anAuditEvent('engagement.created'), [parent]));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(await everything()).toEqual(before);
  });

  describe('handOver', () => {
    it('writes the handed-over engagement, the revocations, the new grants, the event and the cut-off epoch’s rise in one transaction', async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      await engagements.createEngagement(engagement, grants, anAuditEvent('engagement.created'), []);
      const create = [ownerGrant('owner-new-1')];
      const next = handedOver(engagement, grants, create);
      const event = anAuditEvent('handover.completed');

      // Act
      const order = anOrder(engagement);
      const written = await engagements.handOver(next, 1, grants, create, event, order, []);

      // Assess
      expect(written).toBe(true);
      const revoked = grants.map((g) => ({
        ...g,
        status: 'revoked',
        revokedAt: HANDOVER_AT,
        revokedBy: OWNER.id,
        revokedReason: 'engagement-handed-over',
        version: (g.version ?? 0) + 1,
      }));
      expect(await engagements.getEngagementWithGrants(engagement.id)).toEqual({ engagement: next, grants: [...revoked, ...create] });
      expect(await delegations.getGrant('owner-new-1')).toEqual(create[0]);
      expect(await storedAuditEvent(event)).toMatchObject({ type: 'handover.completed' });
      expect(await getRawItem(dynamodb().documentClient, tables.delegations, { PK: 'CUTOFF', SK: order.id })).toMatchObject({ ...order });
      expect(await getRawItem(dynamodb().documentClient, tables.delegations, CUTOFF_EPOCH_KEY)).toMatchObject({ epoch: 1 });
      expect(await getRawItem(dynamodb().documentClient, tables.delegations, recentCutOffKey(order, order.id))).toMatchObject({
        roles: order.roles,
        revocations: order.revocations,
      });
    });

    it("takes the contractors' grants off the vend's read, and keeps them where a refused vend looks for why", async () => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      await engagements.createEngagement(engagement, grants, anAuditEvent('engagement.created'), []);
      const carla = { type: 'user', id: 'carla@contractor.example' } as const;

      // Act
      await engagements.handOver(handedOver(engagement, grants, []), 1, grants, [], anAuditEvent('handover.completed'), anOrder(engagement), []);

      // Assess: until the grant's end; after it, not even there
      expect((await delegations.getProfileWithGrants('dev-readonly', [carla], FIXED_NOW)).grants).toEqual([]);
      expect(await delegations.getEndedGrants('dev-readonly', [carla], FIXED_NOW)).toEqual([
        expect.objectContaining({ id: grants[0]?.id, status: 'revoked', revokedReason: 'engagement-handed-over' }),
      ]);
      expect(await delegations.getEndedGrants('dev-readonly', [carla], new Date(Date.parse(engagement.validUntil) + 1))).toEqual([]);
    });

    it.each([
      ['the engagement moved on (a stale version)', { expectedVersion: 2 }],
      ['one of the grants was revoked meanwhile', { revokedMeanwhile: true }],
      ['a new grant id exists', { existingNewGrant: true }],
      ['the engagement was handed over already', { handedOverFirst: true }],
      ['the grant a new grant is delegated from was revoked meanwhile', { parentRevoked: true }],
    ])('writes nothing at all (not even its cut-off order), and returns false, when %s', async (_label, scenario) => {
      // Prepare
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      await engagements.createEngagement(engagement, grants, anAuditEvent('engagement.created'), []);
      let expectedVersion = 'expectedVersion' in scenario ? scenario.expectedVersion : 1;
      if ('revokedMeanwhile' in scenario) {
        await delegations.revokeGrants([grants[1] as Grant], 'admin@example.com', HANDOVER_AT, anAuditEvent('grant.revoked'));
      }
      if ('existingNewGrant' in scenario) {
        await delegations.createGrant(ownerGrant('owner-new-1'), anAuditEvent('grant.created'));
      }
      if ('handedOverFirst' in scenario) {
        await engagements.handOver(handedOver(engagement, [], []), 1, [], [], anAuditEvent('handover.completed'), anOrder(engagement), []);
        expectedVersion = 2;
      }
      const parent = aGrant({ id: 'owners-own-grant', subject: { type: 'user', id: OWNER.id }, canDelegate: true });
      await delegations.createGrant(parent, anAuditEvent('grant.created'));
      const parents = [parent];
      if ('parentRevoked' in scenario) {
        await delegations.revokeGrants([parent], 'admin@example.com', HANDOVER_AT, anAuditEvent('grant.revoked'));
      }
      const before = await everything();
      const create = [ownerGrant('owner-new-1'), ownerGrant('owner-new-2')];
      const event = anAuditEvent('handover.completed');

      // Act
      const written = await engagements.handOver(handedOver(engagement, grants, create), expectedVersion, grants, create, event, anOrder(engagement), parents);

      // Assess
      expect(written).toBe(false);
      expect(await everything()).toEqual(before);
      expect(await storedAuditEvent(event)).toBeUndefined();
    });

    it("writes the owner's quota record with the handover, and nothing at all when it moved on meanwhile", async () => {
      // Prepare: the owner's record at version 1, listing the contractors' grants
      const engagement = anEngagement();
      const grants = contractorGrants(engagement);
      const entries = grants.map((g) => ({ id: g.id, profile: g.profile, subject: g.subject, validUntil: g.validUntil }));
      await engagements.createEngagement(engagement, grants, anAuditEvent('engagement.created'), [], {
        delegator: OWNER.id,
        expectedVersion: 0,
        grants: entries,
      });
      const create = [ownerGrant('owner-new-1')];
      const newEntry = { id: 'owner-new-1', profile: 'dev-readonly', subject: create[0]!.subject, validUntil: create[0]!.validUntil };
      const before = await everything();

      // Act: a stale handover (expecting no record yet), then one at the version read
      const stale = await engagements.handOver(handedOver(engagement, grants, create), 1, grants, create, anAuditEvent('handover.completed'), anOrder(engagement), [], {
        delegator: OWNER.id,
        expectedVersion: 0,
        grants: [newEntry],
      });
      const afterStale = await everything();
      const written = await engagements.handOver(handedOver(engagement, grants, create), 1, grants, create, anAuditEvent('handover.completed'), anOrder(engagement), [], {
        delegator: OWNER.id,
        expectedVersion: 1,
        grants: [newEntry],
      });

      // Assess
      expect([stale, written]).toEqual([false, true]);
      expect(afterStale).toEqual(before);
      expect(await delegations.getDelegatorQuota(OWNER.id)).toEqual({ delegator: OWNER.id, version: 2, grants: [newEntry] });
    });

    it('reads more grants than one BatchGetItem takes, in the order they were made', async () => {
      // Prepare: 60 contractor grants, then 60 for new owners
      const engagement = anEngagement({ contractors: Array.from({ length: 60 }, (_, i) => `c${String(i).padStart(2, '0')}@contractor.example`) });
      const grants = contractorGrants(engagement);
      await engagements.createEngagement(engagement, grants, anAuditEvent('engagement.created'), []);
      const create = Array.from({ length: 60 }, (_, i) => ownerGrant(`owner-new-${String(i).padStart(2, '0')}`));

      // Act
      const written = await engagements.handOver(handedOver(engagement, [], create), 1, [], create, anAuditEvent('handover.completed'), anOrder(engagement), []);
      const read = await engagements.getEngagementWithGrants(engagement.id);

      // Assess
      expect(written).toBe(true);
      expect(read?.grants.map((g) => g.id)).toEqual([...grants, ...create].map((g) => g.id));
    });

    it('refuses a transaction of more than 100 actions before sending it', async () => {
      // Prepare
      const engagement = anEngagement();
      const create = Array.from({ length: 99 }, (_, i) => ownerGrant(`owner-new-${i}`));

      // Act
      const error = await captureError(
        engagements.handOver(handedOver(engagement, [], create), 1, [], create, anAuditEvent('handover.completed'), anOrder(engagement), []),
      );

      // Assess
      expect(error).toBeInstanceOf(RangeError);
    });
  });
});
