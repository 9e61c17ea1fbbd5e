// The delegation quota against DynamoDB Local, through the real adapters and SDK clients: the
// delegator's quota record is written in the grant's own transaction, only over the version read,
// so two delegations racing for the last place (two Lambda instances, each its own client) cannot
// both get it; revoked grants are found by key and free their place.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { delegatorQuotaKey } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbEngagementStore } from '../../shared/adapters/dynamodb-engagement-store.js';
import { adminEvent } from '../../shared/domain/audit.js';
import { ConflictError, DelegationQuotaExceededError } from '../../shared/domain/errors.js';
import { createEngagement } from '../../shared/domain/manage-engagements.js';
import { createGrant, revokeGrant, type GrantDeps, type RevokeGrantDeps } from '../../shared/domain/manage-grants.js';
import type { Grant, Principal } from '../../shared/domain/model.js';
import type { GrantInput } from '../../shared/domain/schemas.js';
import { aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { InMemoryAuditLog, inMemoryCutOff } from '../fixtures/in-memory.js';
import { InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';
import { captureError, getRawItem, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

const QUOTA = 3;
const PROFILE = 'quota-profile';
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const RACES = 5;

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
/** What one Lambda instance would have: its own client and store. */
let instances: { client: DynamoDBDocumentClient; store: DynamoDbDelegationStore }[];

const unique = () => randomBytes(4).toString('hex');
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const meta = () => ({ requestId: `req-${unique()}` });

function depsOf(store: DynamoDbDelegationStore): GrantDeps & RevokeGrantDeps {
  const clock = { now: () => new Date() };
  const ids = { next: () => `id-${unique()}-${unique()}` };
  // The lockdown and the sessions' cut-off are not what this file tests: in memory.
  const audit = new InMemoryAuditLog();
  return {
    ...inMemoryCutOff(audit, clock, ids),
    lockdown: new InMemoryLockdownStore(audit),
    store,
    clock,
    ids,
    adminGroup: 'tvm-admin',
    delegationQuota: QUOTA,
  };
}

const delegation = (to: string): GrantInput => ({
  profile: PROFILE,
  subject: { type: 'user', id: to },
  validUntil: inDays(1),
  canDelegate: false,
});

/** A delegator of its own, holding an admin's delegable grant on the profile. */
async function aDelegator(): Promise<Principal> {
  const lead = aPrincipal({ id: `lead-${unique()}@example.com`, groups: [] });
  await createGrant(
    depsOf(instances[0]!.store),
    ADMIN,
    { profile: PROFILE, subject: { type: 'user', id: lead.id }, validUntil: inDays(7), canDelegate: true },
    meta(),
  );
  return lead;
}

beforeAll(async () => {
  tables = await dynamodb().createTestTables();
  const endpoint = await dynamodb().client.config.endpoint?.();
  if (!endpoint) throw new Error('DynamoDB Local has no endpoint');
  instances = [0, 1].map(() => {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    return {
      client,
      store: new DynamoDbDelegationStore(client, { tableName: tables.delegations, auditTableName: tables.audit, auditShards: 4 }),
    };
  });
  await instances[0]!.store.putProfile(
    aProfile({ name: PROFILE }),
    adminEvent(new Date(), `evt-${unique()}`, 'profile.put', ADMIN, meta(), { profile: PROFILE }),
  );
});

afterAll(() => {
  for (const { client } of instances ?? []) client.destroy();
});

describe('the delegation quota on DynamoDB', () => {
  it(`gives the last place to exactly one of two concurrent delegations, ${RACES} races out of ${RACES}`, async () => {
    for (let race = 0; race < RACES; race++) {
      // Prepare: a delegator one place short of the quota
      const lead = await aDelegator();
      for (let i = 0; i < QUOTA - 1; i++) await createGrant(depsOf(instances[0]!.store), lead, delegation(`u${i}-${unique()}@example.com`), meta());

      // Act: two requests at once, each through its own instance
      const outcomes = await Promise.allSettled(
        instances.map(({ store }) => createGrant(depsOf(store), lead, delegation(`racer-${unique()}@example.com`), meta())),
      );

      // Assess: one created, the other refused as over the quota; the record lists exactly the quota
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(refused?.reason).toBeInstanceOf(DelegationQuotaExceededError);
      const record = await getRawItem(dynamodb().documentClient, tables.delegations, delegatorQuotaKey(lead.id));
      expect(record).toMatchObject({ delegator: lead.id, version: QUOTA });
      expect((record?.grants as unknown[]).length).toBe(QUOTA);
      const made = (await instances[0]!.store.listGrants({ profile: PROFILE })).filter((g) => g.createdBy === lead.id);
      expect(made).toHaveLength(QUOTA);
    }
  }, 120_000);

  it('frees a place when one of the delegated grants is revoked, found revoked by key', async () => {
    // Prepare: the quota used up
    const lead = await aDelegator();
    const made: Grant[] = [];
    for (let i = 0; i < QUOTA; i++) made.push(await createGrant(depsOf(instances[0]!.store), lead, delegation(`u${i}-${unique()}@example.com`), meta()));
    const full = await captureError(createGrant(depsOf(instances[0]!.store), lead, delegation(`x-${unique()}@example.com`), meta()));

    // Act
    await revokeGrant(depsOf(instances[1]!.store), lead, made[0]!.id, meta());
    const freed = await createGrant(depsOf(instances[1]!.store), lead, delegation(`y-${unique()}@example.com`), meta());

    // Assess: the revoked grant left the record when the new one took its place
    expect(full).toBeInstanceOf(DelegationQuotaExceededError);
    expect(freed.createdBy).toBe(lead.id);
    const record = await instances[0]!.store.getDelegatorQuota(lead.id);
    expect(record.grants.map((entry) => entry.id).sort()).toEqual([made[1]!.id, made[2]!.id, freed.id].sort());
    expect(await instances[0]!.store.activeGrantIds(record.grants)).toEqual(new Set(record.grants.map((entry) => entry.id)));
  });

  it('reads only grants that are active at the key the record names', async () => {
    // Prepare
    const store = instances[0]!.store;
    const lead = await aDelegator();
    const kept = await createGrant(depsOf(store), lead, delegation(`u-${unique()}@example.com`), meta());
    const revoked = await createGrant(depsOf(store), lead, delegation(`v-${unique()}@example.com`), meta());
    await revokeGrant(depsOf(store), lead, revoked.id, meta());

    // Act
    const active = await store.activeGrantIds([
      { id: kept.id, profile: PROFILE, subject: kept.subject, validUntil: kept.validUntil },
      { id: revoked.id, profile: PROFILE, subject: revoked.subject, validUntil: revoked.validUntil },
      // The right id at another subject's key: no such item
      { id: kept.id, profile: PROFILE, subject: { type: 'user', id: 'someone-else@example.com' }, validUntil: kept.validUntil },
      { id: 'no-such-grant', profile: PROFILE, subject: kept.subject, validUntil: kept.validUntil },
    ]);

    // Assess
    expect(active).toEqual(new Set([kept.id]));
  });

  it('writes nothing when the record moved on since it was read', async () => {
    // Prepare: a record at version 1, and a write still expecting none
    const store = instances[0]!.store;
    const lead = await aDelegator();
    const first = await createGrant(depsOf(store), lead, delegation(`u-${unique()}@example.com`), meta());
    const [parent] = (await store.listGrants({ profile: PROFILE })).filter((g) => g.subject.id === lead.id);
    const late = aGrant({
      id: `late-${unique()}`,
      profile: PROFILE,
      subject: { type: 'user', id: `late-${unique()}@example.com` },
      parentGrantId: parent!.id,
      depth: 1,
      createdBy: lead.id,
    });

    // Act
    const error = await captureError(
      store.createGrant(
        late,
        adminEvent(new Date(), `evt-${unique()}`, 'grant.created', lead, meta(), { profile: PROFILE }),
        parent,
        { delegator: lead.id, expectedVersion: 0, grants: [] },
      ),
    );

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(await store.getGrant(late.id)).toBeUndefined();
    expect((await store.getDelegatorQuota(lead.id)).grants.map((entry) => entry.id)).toEqual([first.id]);
  });

  it("counts an owner's engagement grants in the same transaction as the engagement", async () => {
    // Prepare: one place left
    const store = instances[0]!.store;
    const engagements = new DynamoDbEngagementStore(instances[0]!.client, {
      tableName: tables.delegations,
      auditTableName: tables.audit,
      auditShards: 4,
    });
    const owner = await aDelegator();
    for (let i = 0; i < QUOTA - 1; i++) await createGrant(depsOf(store), owner, delegation(`u${i}-${unique()}@example.com`), meta());
    const deps = { ...depsOf(store), engagements, securityGroup: 'tvm-security' };
    const input = (contractors: string[]) => ({
      name: 'rebuild',
      owner: owner.id,
      contractors,
      profiles: [{ profile: PROFILE }],
      validUntil: inDays(1),
    });

    // Act
    const tooMany = await captureError(createEngagement(deps, owner, input([`c1-${unique()}@x.example`, `c2-${unique()}@x.example`]), meta()));
    const fits = await createEngagement(deps, owner, input([`c3-${unique()}@x.example`]), meta());

    // Assess
    expect(tooMany).toBeInstanceOf(DelegationQuotaExceededError);
    expect((await store.getDelegatorQuota(owner.id)).grants.map((entry) => entry.id)).toContain(fits.grants[0]?.id);
    expect((await store.getDelegatorQuota(owner.id)).version).toBe(QUOTA);
  });
});
