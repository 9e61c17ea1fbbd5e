// DynamoDbDelegationStore against the real DynamoDB Local, through the real SDK clients: what mocks
// can't prove — transactions with the audit table, conditions, GSI reads, filter expressions and
// how cancellation reasons are parsed. Every test gets its own freshly created tables.
import { jest } from '@jest/globals';
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { principalPk } from '../../shared/adapters/audit-keys.js';
import { grantKey } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { adminEvent, type AdminAuditEvent } from '../../shared/domain/audit.js';
import { ConflictError, StoreUnavailableError } from '../../shared/domain/errors.js';
import type { Grant, Subject } from '../../shared/domain/model.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import {
  captureError,
  getRawItem,
  queryRawPartition,
  scanRawTable,
  useDynamoDbLocal,
  type TestTables,
} from './support/dynamodb.js';

const AUDIT_SHARDS = 4;
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admins'] });
const ALICE: Subject = { type: 'user', id: 'alice@example.com' };
const DEVELOPERS: Subject = { type: 'group', id: 'developers' };
const OPS: Subject = { type: 'group', id: 'ops' };

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let store: DynamoDbDelegationStore;
let eventCounter = 0;

afterEach(() => {
  jest.restoreAllMocks();
});

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
  store = newStore(tables.delegations, tables.audit);
});

function newStore(tableName: string, auditTableName: string): DynamoDbDelegationStore {
  return new DynamoDbDelegationStore(dynamodb().documentClient, { tableName, auditTableName, auditShards: AUDIT_SHARDS, auditLayout: 'legacy' });
}

/** A distinct admin audit event each call, as the use cases build them. */
function anAuditEvent(
  type: AdminAuditEvent['type'],
  change: { profile: string; grantId?: string } = { profile: 'dev-readonly' },
): AdminAuditEvent {
  eventCounter += 1;
  const at = new Date(FIXED_NOW.getTime() + eventCounter * 1000);
  return adminEvent(at, `evt${eventCounter}`, type, ADMIN, { requestId: `req-${eventCounter}` }, change);
}

function storedAuditEvent(event: { principal: string; id: string }) {
  return getRawItem(dynamodb().documentClient, tables.audit, { PK: principalPk(event.principal), SK: event.id });
}

async function putProfiles(...names: string[]): Promise<void> {
  for (const name of names) await store.putProfile(aProfile({ name }), anAuditEvent('profile.put', { profile: name }));
}

async function createGrants(...grants: Grant[]): Promise<void> {
  for (const grant of grants) {
    await store.createGrant(grant, anAuditEvent('grant.created', { profile: grant.profile, grantId: grant.id }));
  }
}

const byId = (a: Grant, b: Grant) => a.id.localeCompare(b.id);

describe('DynamoDbDelegationStore', () => {
  describe('profiles', () => {
    it('reads back exactly the profile it stored, optional fields included', async () => {
      // Prepare
      const profile = aProfile({
        name: 'prod-admin',
        scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] },
        sensitivity: 'restricted',
        externalId: 'ext-123',
      });
      await store.putProfile(profile, anAuditEvent('profile.put', { profile: 'prod-admin' }));

      // Act
      const found = await store.getProfile('prod-admin');
      const missing = await store.getProfile('no-such-profile');

      // Assess
      expect(found).toEqual(profile);
      expect(missing).toBeUndefined();
    });

    it('replaces a profile that is put again', async () => {
      // Prepare
      await store.putProfile(aProfile({ maxSessionSeconds: 3600 }), anAuditEvent('profile.put'));
      const updated = aProfile({ maxSessionSeconds: 900, description: 'shorter', updatedBy: 'bob@example.com' });

      // Act
      const written = await store.putProfile(updated, anAuditEvent('profile.put'), aProfile());

      // Assess
      expect(written).toBe(true);
      expect(await store.getProfile(updated.name)).toEqual(updated);
      expect(await store.listProfiles()).toEqual([updated]);
    });

    it('refuses, writing nothing, a creation over an existing profile and a replacement of a changed one', async () => {
      // Prepare
      const original = aProfile({ generation: 'gen-1', description: 'original' });
      await store.putProfile(original, anAuditEvent('profile.put'));
      await store.deleteProfile(original.name, anAuditEvent('profile.deleted'));
      await store.putProfile(aProfile({ generation: 'gen-2', description: 're-created' }), anAuditEvent('profile.put'));

      // Act: a stale replacement (read before the delete) and a blind creation
      const staleReplace = await store.putProfile(aProfile({ generation: 'gen-1' }), anAuditEvent('profile.put'), original);
      const blindCreate = await store.putProfile(aProfile({ generation: 'gen-3' }), anAuditEvent('profile.put'));

      // Assess
      expect([staleReplace, blindCreate]).toEqual([false, false]);
      expect(await store.getProfile(original.name)).toMatchObject({ generation: 'gen-2', description: 're-created' });
    });

    it('refuses a replacement over a version changed since it was read (same generation, later updatedAt)', async () => {
      // Prepare: two admins read the same version; one writes first
      const read = aProfile({ generation: 'gen-1', updatedAt: '2026-06-01T00:00:00.000Z' });
      await store.putProfile(read, anAuditEvent('profile.put'));
      const first = aProfile({ generation: 'gen-1', updatedAt: '2026-06-01T00:00:01.000Z', roleArn: 'arn:aws:iam::123456789012:role/tvm-two' });
      expect(await store.putProfile(first, anAuditEvent('profile.put'), read)).toBe(true);

      // Act
      const second = await store.putProfile(
        aProfile({ generation: 'gen-1', updatedAt: '2026-06-01T00:00:01.000Z', roleArn: 'arn:aws:iam::123456789012:role/tvm-three' }),
        anAuditEvent('profile.put'),
        read,
      );

      // Assess
      expect(second).toBe(false);
      expect(await store.getProfile(read.name)).toEqual(first);
    });

    it('lists every profile from the bySubject index, and nothing but profiles', async () => {
      // Prepare
      const profiles = ['c-prod', 'a-dev', 'b-staging'].map((name) => aProfile({ name, roleArn: `arn:aws:iam::123456789012:role/${name}` }));
      for (const profile of profiles) await store.putProfile(profile, anAuditEvent('profile.put', { profile: profile.name }));
      await createGrants(aGrant({ id: 'g1', profile: 'a-dev' }));

      // Act
      const listed = await store.listProfiles();

      // Assess
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      expect([...listed].sort(byName)).toEqual([...profiles].sort(byName));
    });

    it('lists no profiles when there are none', async () => {
      // Act
      const listed = await store.listProfiles();

      // Assess
      expect(listed).toEqual([]);
    });

    it('writes the profile and its audit event in one transaction', async () => {
      // Prepare
      const profile = aProfile();
      const event = anAuditEvent('profile.put', { profile: profile.name });

      // Act
      await store.putProfile(profile, event);

      // Assess
      expect(await store.getProfile(profile.name)).toEqual(profile);
      expect(await storedAuditEvent(event)).toEqual({
        ...event,
        PK: `PRINCIPAL#${ADMIN.id}`,
        SK: event.id,
        GSI2PK: `PROFILE#${profile.name}`,
        GSI3PK: expect.stringMatching(new RegExp(`^TIME#${event.at.slice(0, 10)}#[0-${AUDIT_SHARDS - 1}]$`)),
        GSI4PK: expect.stringMatching(new RegExp(`^TYPE#profile\\.put#${event.at.slice(0, 10)}#[0-${AUDIT_SHARDS - 1}]$`)),
        // Linked into its time partition's hash chain (checked in dynamodb-audit-log.test.ts).
        chainSeq: expect.any(Number),
        prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('deletes an existing profile, records the deletion and returns true', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const event = anAuditEvent('profile.deleted');

      // Act
      const deleted = await store.deleteProfile('dev-readonly', event);

      // Assess
      expect(deleted).toBe(true);
      expect(await store.getProfile('dev-readonly')).toBeUndefined();
      expect(await storedAuditEvent(event)).toMatchObject({ type: 'profile.deleted', profile: 'dev-readonly' });
    });

    it('returns false for a missing profile and records nothing', async () => {
      // Prepare
      const event = anAuditEvent('profile.deleted', { profile: 'never-existed' });

      // Act
      const deleted = await store.deleteProfile('never-existed', event);

      // Assess
      expect(deleted).toBe(false);
      expect(await storedAuditEvent(event)).toBeUndefined();
      expect(await scanRawTable(dynamodb().documentClient, tables.audit)).toEqual([]);
    });
  });

  describe('transaction atomicity', () => {
    it('writes no profile when the audit event id already exists, and throws StoreUnavailableError', async () => {
      // Prepare
      const event = anAuditEvent('profile.put', { profile: 'dev-readonly' });
      await store.putProfile(aProfile({ name: 'first' }), event);
      const before = await storedAuditEvent(event);

      // Act
      const error = await captureError(store.putProfile(aProfile({ name: 'dev-readonly' }), event));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error.cause as Error).name).toBe('TransactionCanceledException');
      expect(await store.getProfile('dev-readonly')).toBeUndefined();
      expect(await storedAuditEvent(event)).toEqual(before);
    });

    it('does not revoke a grant when its audit event id already exists', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const grant = aGrant();
      const event = anAuditEvent('grant.created', { profile: grant.profile, grantId: grant.id });
      await store.createGrant(grant, event);

      // Act
      const error = await captureError(store.revokeGrants([grant], ADMIN.id, FIXED_NOW.toISOString(), event));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(await store.getGrant(grant.id)).toEqual(grant);
      expect(await storedAuditEvent(event)).toMatchObject({ type: 'grant.created' });
    });

    it('reports an unknown table as StoreUnavailableError with the SDK error as cause', async () => {
      // Prepare
      const broken = newStore('tvm-missing-delegations', tables.audit);

      // Act
      const readError = await captureError(broken.getProfile('dev-readonly'));
      const writeError = await captureError(broken.putProfile(aProfile(), anAuditEvent('profile.put')));

      // Assess
      expect(readError).toBeInstanceOf(StoreUnavailableError);
      expect(readError.cause).toBeInstanceOf(ResourceNotFoundException);
      expect(writeError).toBeInstanceOf(StoreUnavailableError);
      expect(await scanRawTable(dynamodb().documentClient, tables.audit)).toEqual([]);
    });
  });

  describe('grants', () => {
    it('creates a grant with its audit event and finds it by id through the byGrantId index', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const grant = aGrant({
        id: 'grant-full',
        maxSessionSeconds: 900,
        scope: { actions: ['s3:GetObject'] },
        canDelegate: true,
        reason: 'on call',
      });
      const event = anAuditEvent('grant.created', { profile: grant.profile, grantId: grant.id });

      // Act
      await store.createGrant(grant, event);

      // Assess
      expect(await store.getGrant('grant-full')).toEqual(grant);
      expect(await store.getGrant('grant-unknown')).toBeUndefined();
      expect(await storedAuditEvent(event)).toMatchObject({ type: 'grant.created', grantId: 'grant-full' });
    });

    it('refuses a grant on a missing profile with ConflictError and writes nothing', async () => {
      // Prepare
      const grant = aGrant({ profile: 'no-such-profile' });
      const event = anAuditEvent('grant.created', { profile: grant.profile, grantId: grant.id });

      // Act
      const error = await captureError(store.createGrant(grant, event));

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(await scanRawTable(dynamodb().documentClient, tables.delegations)).toEqual([]);
      expect(await scanRawTable(dynamodb().documentClient, tables.audit)).toEqual([]);
    });

    it('refuses a grant made for an earlier generation of a re-created profile, writing nothing', async () => {
      // Prepare
      await store.putProfile(aProfile({ generation: 'gen-2' }), anAuditEvent('profile.put'));
      const grant = aGrant({ profileGeneration: 'gen-1' });
      const event = anAuditEvent('grant.created', { profile: grant.profile, grantId: grant.id });

      // Act
      const error = await captureError(store.createGrant(grant, event));

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(await store.listGrants({})).toEqual([]);
      expect(await storedAuditEvent(event)).toBeUndefined();
    });

    it('refuses a delegated grant whose parent was revoked meanwhile, so a cascade cannot miss it', async () => {
      // Prepare: the parent is read as active, then revoked before the child is written
      await store.putProfile(aProfile(), anAuditEvent('profile.put'));
      const parent = aGrant({ id: 'grant-parent', canDelegate: true });
      await store.createGrant(parent, anAuditEvent('grant.created', { profile: parent.profile, grantId: parent.id }));
      await store.revokeGrants([parent], ADMIN.id, FIXED_NOW.toISOString(), anAuditEvent('grant.revoked'));
      const child = aGrant({ id: 'grant-child', subject: { type: 'user', id: 'bob@example.com' }, parentGrantId: parent.id, depth: 1 });
      const event = anAuditEvent('grant.created', { profile: child.profile, grantId: child.id });

      // Act
      const error = await captureError(store.createGrant(child, event, parent));

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(await store.getGrant(child.id)).toBeUndefined();
      expect(await storedAuditEvent(event)).toBeUndefined();
    });

    // A revocation cascades through the children it reads. Read from a GSI they could lag behind
    // the write that created them, and a child committed just before the revocation would be
    // missed and stay active: the children are read strongly consistently from an LSI.
    it("lists a grant's children strongly consistently, and only its own", async () => {
      // Prepare: a parent with two children, and a child of another parent
      await store.putProfile(aProfile(), anAuditEvent('profile.put'));
      const parent = aGrant({ id: 'grant-parent', canDelegate: true });
      const other = aGrant({ id: 'grant-other-parent', canDelegate: true, subject: { type: 'user', id: 'carol@example.com' } });
      for (const grant of [parent, other]) await store.createGrant(grant, anAuditEvent('grant.created', { profile: grant.profile, grantId: grant.id }));
      const child = (id: string, of: Grant) =>
        aGrant({ id, subject: { type: 'user', id: `${id}@example.com` }, parentGrantId: of.id, depth: 1 });
      for (const [grant, of] of [[child('grant-child-1', parent), parent], [child('grant-child-2', parent), parent], [child('grant-child-3', other), other]] as const) {
        await store.createGrant(grant, anAuditEvent('grant.created', { profile: grant.profile, grantId: grant.id }), of);
      }
      const send = jest.spyOn(dynamodb().documentClient, 'send');

      // Act
      const children = await store.listChildGrants(parent);

      // Assess
      expect(children.map((grant) => grant.id).sort()).toEqual(['grant-child-1', 'grant-child-2']);
      const inputs = send.mock.calls.map(([command]) => command.input as { ConsistentRead?: boolean; IndexName?: string });
      expect(inputs.map((input) => [input.IndexName, input.ConsistentRead])).toEqual([['childGrants', true]]);
    });

    it('refuses a second grant with the same id with ConflictError, keeping the first and recording nothing', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const first = aGrant({ reason: 'first' });
      await createGrants(first);
      const second = anAuditEvent('grant.created', { profile: first.profile, grantId: first.id });

      // Act
      const error = await captureError(store.createGrant({ ...first, reason: 'second' }, second));

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(await store.getGrant(first.id)).toEqual(first);
      expect(await storedAuditEvent(second)).toBeUndefined();
    });

    it('lists the grants of one profile only', async () => {
      // Prepare
      await putProfiles('dev-readonly', 'prod-admin');
      const wanted = [aGrant({ id: 'g1', subject: ALICE }), aGrant({ id: 'g2', subject: DEVELOPERS })];
      await createGrants(...wanted, aGrant({ id: 'g3', profile: 'prod-admin' }));

      // Act
      const listed = await store.listGrants({ profile: 'dev-readonly' });

      // Assess
      expect([...listed].sort(byId)).toEqual(wanted);
    });

    it('lists the grants of exactly one subject: neither `a#b` for `a` nor a group for a user of the same id', async () => {
      // Prepare
      await putProfiles('dev-readonly', 'prod-admin');
      const a: Subject = { type: 'user', id: 'a' };
      const wanted = [aGrant({ id: 'g1', subject: a }), aGrant({ id: 'g2', subject: a, profile: 'prod-admin' })];
      await createGrants(
        ...wanted,
        aGrant({ id: 'g3', subject: { type: 'user', id: 'a#b' } }),
        aGrant({ id: 'g4', subject: { type: 'group', id: 'a' } }),
        aGrant({ id: 'g5', subject: { type: 'user', id: 'ab' } }),
      );

      // Act
      const listed = await store.listGrants({ subject: a });
      const nested = await store.listGrants({ subject: { type: 'user', id: 'a#b' } });

      // Assess
      expect([...listed].sort(byId)).toEqual(wanted);
      expect(nested.map((grant) => grant.id)).toEqual(['g3']);
    });

    it('lists the grants of one subject on one profile when both filters are given', async () => {
      // Prepare
      await putProfiles('dev-readonly', 'prod-admin');
      const wanted = aGrant({ id: 'g1', subject: ALICE });
      await createGrants(
        wanted,
        aGrant({ id: 'g2', subject: ALICE, profile: 'prod-admin' }),
        aGrant({ id: 'g3', subject: DEVELOPERS }),
      );

      // Act
      const listed = await store.listGrants({ profile: 'dev-readonly', subject: ALICE });

      // Assess
      expect(listed).toEqual([wanted]);
    });

    it('lists the grants one principal created, revoked ones included, and nobody else\'s (byCreator)', async () => {
      // Prepare
      await putProfiles('dev-readonly', 'prod-admin');
      const lead = 'lead@example.com';
      const wanted = [aGrant({ id: 'g1', createdBy: lead }), aGrant({ id: 'g2', createdBy: lead, subject: OPS, profile: 'prod-admin' })];
      await createGrants(...wanted, aGrant({ id: 'g3', createdBy: `${lead}#x` }), aGrant({ id: 'g4', createdBy: 'admin@example.com' }));
      await store.revokeGrants([wanted[1]!], lead, '2026-06-01T00:00:00.000Z', anAuditEvent('grant.revoked'));

      // Act
      const listed = await store.listGrants({ createdBy: lead });
      const onOneProfile = await store.listGrants({ createdBy: lead, profile: 'dev-readonly' });

      // Assess
      expect(listed.map((grant) => [grant.id, grant.status])).toEqual([
        ['g1', 'active'],
        ['g2', 'revoked'],
      ]);
      expect(onOneProfile.map((grant) => grant.id)).toEqual(['g1']);
    });

    it('lists every grant, and no profiles, without a filter', async () => {
      // Prepare
      await putProfiles('dev-readonly', 'prod-admin');
      const grants = [
        aGrant({ id: 'g1', subject: ALICE }),
        aGrant({ id: 'g2', subject: DEVELOPERS, profile: 'prod-admin' }),
        aGrant({ id: 'g3', subject: OPS }),
      ];
      await createGrants(...grants);

      // Act
      const listed = await store.listGrants({});

      // Assess
      expect([...listed].sort(byId)).toEqual(grants);
    });

    it('lists the grants held by any of the given subjects, across profiles', async () => {
      // Prepare
      await putProfiles('dev-readonly', 'prod-admin');
      const wanted = [
        aGrant({ id: 'g1', subject: ALICE }),
        aGrant({ id: 'g2', subject: DEVELOPERS, profile: 'prod-admin' }),
        aGrant({ id: 'g3', subject: DEVELOPERS }),
      ];
      await createGrants(
        ...wanted,
        aGrant({ id: 'g4', subject: OPS }),
        aGrant({ id: 'g5', subject: { type: 'user', id: 'bob@example.com' }, profile: 'prod-admin' }),
      );

      // Act
      const listed = await store.listGrantsForSubjects([ALICE, DEVELOPERS]);

      // Assess
      expect([...listed].sort(byId)).toEqual(wanted);
    });
  });

  describe('getProfileWithGrants', () => {
    it("returns the profile and only the given subjects' active, unexpired grants on it", async () => {
      // Prepare
      await putProfiles('dev-readonly', 'prod-admin');
      const profile = await store.getProfile('dev-readonly');
      const endsNow = aGrant({ id: 'g7', subject: ALICE, validUntil: FIXED_NOW.toISOString() });
      const wanted = [aGrant({ id: 'g1', subject: ALICE }), aGrant({ id: 'g2', subject: DEVELOPERS }), endsNow];
      const revoked = aGrant({ id: 'g8', subject: ALICE });
      await createGrants(
        ...wanted,
        revoked,
        aGrant({ id: 'g3', subject: OPS }),
        aGrant({ id: 'g4', subject: { type: 'user', id: `${ALICE.id}#x` } }),
        aGrant({ id: 'g5', subject: { type: 'group', id: ALICE.id } }),
        aGrant({ id: 'g6', subject: ALICE, profile: 'prod-admin' }),
        aGrant({ id: 'g9', subject: DEVELOPERS, validUntil: new Date(FIXED_NOW.getTime() - 1).toISOString() }),
      );
      await store.revokeGrants([revoked], ADMIN.id, FIXED_NOW.toISOString(), anAuditEvent('grant.revoked'));

      // Act
      const result = await store.getProfileWithGrants('dev-readonly', [ALICE, DEVELOPERS], FIXED_NOW);

      // Assess
      expect(result.profile).toEqual(profile);
      expect([...result.grants].sort(byId)).toEqual([...wanted].sort(byId));
    });

    it('refuses the read, STORE_UNAVAILABLE, when a grant on it was written around tvm in a shape tvm never writes', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const grant = aGrant({ id: 'g1', subject: ALICE });
      await createGrants(grant);
      const key = grantKey(grant);
      const stored = await getRawItem(dynamodb().documentClient, tables.delegations, key);
      await dynamodb().documentClient.send(new PutCommand({ TableName: tables.delegations, Item: { ...stored, canDelegate: 'yes', maxSessionSeconds: '43200' } }));

      // Act
      const error = await captureError(store.getProfileWithGrants('dev-readonly', [ALICE], FIXED_NOW));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toBe('a stored grant could not be read');
    });

    it('returns no profile and no grants for an unknown profile', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      await createGrants(aGrant({ subject: ALICE }));

      // Act
      const result = await store.getProfileWithGrants('unknown', [ALICE], FIXED_NOW);

      // Assess
      expect(result).toEqual({ grants: [] });
    });

    it.each([1, 150])('reads the grants of each of %i subjects, and no one else\'s', async (count) => {
      // Prepare
      await putProfiles('dev-readonly');
      const groups: Subject[] = Array.from({ length: count - 1 }, (_, i) => ({ type: 'group', id: `team-${i}` }));
      const subjects = [ALICE, ...groups];
      const lastGroup = groups[groups.length - 1];
      const wanted = [aGrant({ id: 'g1', subject: ALICE }), ...(lastGroup ? [aGrant({ id: 'g2', subject: lastGroup })] : [])];
      await createGrants(
        ...wanted,
        aGrant({ id: 'g3', subject: { type: 'group', id: `team-${count}` } }),
        aGrant({ id: 'g4', subject: { type: 'user', id: 'team-0' } }),
      );

      // Act
      const result = await store.getProfileWithGrants('dev-readonly', subjects, FIXED_NOW);

      // Assess
      expect(result.profile).toEqual(aProfile({ name: 'dev-readonly' }));
      expect([...result.grants].sort(byId)).toEqual(wanted);
    });

    it("keeps subjects apart whose ids differ only after a '#' or in lone surrogates", async () => {
      // Prepare: ids that would share a key prefix if they were written into the key as they are
      await putProfiles('dev-readonly');
      const subjects: Subject[] = [
        { type: 'user', id: 'a' },
        { type: 'user', id: 'a#2026' },
        { type: 'user', id: 'a#~' },
        { type: 'user', id: '\ud800' },
        { type: 'user', id: '\ufffd' },
      ];
      await createGrants(...subjects.map((subject, i) => aGrant({ id: `g${i}`, subject })));

      // Act
      const read = await Promise.all(subjects.map((subject) => store.getProfileWithGrants('dev-readonly', [subject], FIXED_NOW)));

      // Assess
      expect(read.map((result) => result.grants.map((g) => g.id))).toEqual([['g0'], ['g1'], ['g2'], ['g3'], ['g4']]);
    });

    it('reads with strongly consistent requests only, the grants per subject from the activeGrants index', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      await createGrants(aGrant({ subject: ALICE }));
      const send = jest.spyOn(dynamodb().documentClient, 'send');

      // Act
      await store.getProfileWithGrants('dev-readonly', [ALICE, DEVELOPERS, DEVELOPERS], FIXED_NOW);

      // Assess: the profile by key, one query per distinct subject
      const inputs = send.mock.calls.map(([command]) => command.input as { ConsistentRead?: boolean; IndexName?: string });
      expect(inputs.map((input) => [input.IndexName, input.ConsistentRead])).toEqual([
        [undefined, true],
        ['activeGrants', true],
        ['activeGrants', true],
      ]);
    });
  });

  describe('getEndedGrants', () => {
    it("returns per subject its grant that expired last, and none of its revoked or active ones", async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const hoursAgo = (hours: number) => new Date(FIXED_NOW.getTime() - hours * 3_600_000).toISOString();
      const revoked = aGrant({ id: 'alice-revoked', subject: ALICE, validUntil: hoursAgo(1) });
      await createGrants(
        aGrant({ id: 'alice-old', subject: ALICE, validUntil: hoursAgo(48) }),
        aGrant({ id: 'alice-last', subject: ALICE, validUntil: hoursAgo(2) }),
        aGrant({ id: 'alice-active', subject: ALICE }),
        aGrant({ id: 'developers-last', subject: DEVELOPERS, validUntil: hoursAgo(5) }),
        aGrant({ id: 'ops-last', subject: OPS, validUntil: hoursAgo(1) }),
        revoked,
      );
      await store.revokeGrants([revoked], ADMIN.id, FIXED_NOW.toISOString(), anAuditEvent('grant.revoked'));

      // Act
      const ended = await store.getEndedGrants('dev-readonly', [ALICE, DEVELOPERS], FIXED_NOW);

      // Assess
      expect(ended.map((g) => g.id).sort()).toEqual(['alice-last', 'developers-last']);
    });
  });

  describe('revokeGrant', () => {
    it('marks the grant revoked with who and when, records the revocation and returns true', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const grant = aGrant();
      await createGrants(grant);
      const at = '2026-06-01T13:00:00.000Z';
      const event = anAuditEvent('grant.revoked', { profile: grant.profile, grantId: grant.id });

      // Act
      const revoked = await store.revokeGrants([grant], ADMIN.id, at, event);

      // Assess
      expect(revoked).toBe(true);
      expect(await store.getGrant(grant.id)).toEqual({ ...grant, status: 'revoked', revokedAt: at, revokedBy: ADMIN.id, version: 1 });
      expect(await storedAuditEvent(event)).toMatchObject({ type: 'grant.revoked', grantId: grant.id });
    });

    it('is seen by the very next getProfileWithGrants: the grant leaves its read, not only its answer', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const grant = aGrant({ subject: ALICE });
      await createGrants(grant);
      const before = await store.getProfileWithGrants('dev-readonly', [ALICE], FIXED_NOW);
      const send = jest.spyOn(dynamodb().documentClient, 'send');

      // Act
      await store.revokeGrants([grant], ADMIN.id, FIXED_NOW.toISOString(), anAuditEvent('grant.revoked'));
      const after = await store.getProfileWithGrants('dev-readonly', [ALICE], FIXED_NOW);

      // Assess
      expect(before.grants.map((g) => g.status)).toEqual(['active']);
      expect(after.grants).toEqual([]);
      expect((await getRawItem(dynamodb().documentClient, tables.delegations, grantKey(grant)))?.LSI1SK).toBeUndefined();
      // DynamoDB Local is always consistent; on AWS only a strongly consistent read guarantees this.
      const reads = send.mock.calls.map(([command]) => command).filter((command) => command instanceof QueryCommand);
      expect(reads.map((command) => command.input.ConsistentRead)).toEqual([true]);
    });

    it('returns false for a grant already revoked and records no second event', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const grant = aGrant();
      await createGrants(grant);
      await store.revokeGrants([grant], ADMIN.id, '2026-06-01T13:00:00.000Z', anAuditEvent('grant.revoked'));
      const second = anAuditEvent('grant.revoked', { profile: grant.profile, grantId: grant.id });

      // Act
      const revoked = await store.revokeGrants([grant], 'bob@example.com', '2026-06-01T14:00:00.000Z', second);

      // Assess
      expect(revoked).toBe(false);
      expect(await storedAuditEvent(second)).toBeUndefined();
      expect(await store.getGrant(grant.id)).toMatchObject({ revokedAt: '2026-06-01T13:00:00.000Z', revokedBy: ADMIN.id });
    });

    it('returns false for a grant that does not exist and creates no item', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const event = anAuditEvent('grant.revoked');

      // Act
      const revoked = await store.revokeGrants([aGrant({ id: 'ghost' })], ADMIN.id, FIXED_NOW.toISOString(), event);

      // Assess
      expect(revoked).toBe(false);
      expect(await store.listGrants({})).toEqual([]);
      expect(await storedAuditEvent(event)).toBeUndefined();
    });

    it('lets exactly one of two concurrent revocations win, with exactly one audit event', async () => {
      // Prepare
      await putProfiles('dev-readonly');
      const grant = aGrant();
      await createGrants(grant);
      const events = [anAuditEvent('grant.revoked'), anAuditEvent('grant.revoked')] as const;
      const revokers = ['admin@example.com', 'bob@example.com'] as const;

      // Act
      const results = await Promise.all([
        store.revokeGrants([grant], revokers[0], '2026-06-01T13:00:00.000Z', events[0]),
        store.revokeGrants([grant], revokers[1], '2026-06-01T13:00:01.000Z', events[1]),
      ]);

      // Assess
      expect([...results].sort()).toEqual([false, true]);
      const winner = results.indexOf(true);
      const loser = 1 - winner;
      expect(await store.getGrant(grant.id)).toMatchObject({ status: 'revoked', revokedBy: revokers[winner] });
      expect(await storedAuditEvent(events[winner] as AdminAuditEvent)).toBeDefined();
      expect(await storedAuditEvent(events[loser] as AdminAuditEvent)).toBeUndefined();
      const revocations = (await queryRawPartition(dynamodb().documentClient, tables.audit, principalPk(ADMIN.id))).filter(
        (item) => item.type === 'grant.revoked',
      );
      expect(revocations).toHaveLength(1);
    });
  });
});
