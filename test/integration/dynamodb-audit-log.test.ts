// DynamoDbAuditLog against the real DynamoDB Local, through the real SDK clients: the append-only
// transaction with its hash chain (links, head races between processes, once-markers), what verify
// catches when items are edited, deleted or forged behind tvm's back, the index keys every item
// carries, reverse-ordered Queries over the most selective key with from/to as a key range, filters
// applied after Limit, cursor pagination, and the walk over the sharded time and type indexes.
// Every test gets fresh tables.
import { TransactionCanceledException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { GENESIS_HASH, hashItem, linkItem } from '../../shared/adapters/audit-chain.js';
import {
  auditItem,
  BY_ACCESS_KEY_INDEX,
  BY_PROFILE_INDEX,
  BY_TIME_INDEX,
  BY_TYPE_INDEX,
  DEFAULT_USE_SHARDS,
  principalPk,
} from '../../shared/adapters/audit-keys.js';
import { DynamoDbAuditLog, MAX_PARTITION_READS_PER_QUERY, type DynamoDbAuditLogOptions } from '../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import {
  adminEvent,
  eventBase,
  type AuditEvent,
  type AuditEventType,
  type CredentialIssuedEvent,
} from '../../shared/domain/audit.js';
import { AuditUnavailableError, StoreUnavailableError, ValidationError } from '../../shared/domain/errors.js';
import { auditCursorSchema } from '../../shared/domain/schemas.js';
import type { IssuedCredentials } from '../../shared/domain/model.js';
import type { AuditQuery } from '../../shared/domain/ports.js';
import { vendCredentials, type VendDeps } from '../../shared/domain/vend-credentials.js';
import { aGrant, aPrincipal, aProfile, DEFAULT_PRINCIPAL_ID, FIXED_NOW } from '../fixtures/builders.js';
import { anAlert, anIssuance, aSessionRevoked, aUse, ROLE_ARN } from '../fixtures/key-events.js';
import {
  captureError,
  getRawItem,
  putRawItems,
  queryRawPartition,
  scanRawTable,
  useDynamoDbLocal,
  type TestTables,
} from './support/dynamodb.js';
import { countingClient } from './support/read-cost.js';
import { jest } from '@jest/globals';
import { logger } from '../../shared/logger.js';

const SHARDS = 4;
const MINUTE = 60_000;
const DAY = 86_400_000;
const TODAY = '2026-06-01';
const BOB = 'bob@example.com';

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let log: DynamoDbAuditLog;

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
  log = newLog();
});

function newLog(options: Partial<DynamoDbAuditLogOptions> = {}): DynamoDbAuditLog {
  return new DynamoDbAuditLog(dynamodb().documentClient, {
    tableName: tables.audit,
    shards: SHARDS,
    // These tests look at the legacy layout's items (PRINCIPAL# keys, CHAIN# heads); the
    // chain-keyed layout's are in chain-keyed-audit.test.ts.
    layout: 'legacy',
    now: () => FIXED_NOW,
    ...options,
  });
}

/** An event `minutesBefore` FIXED_NOW; the unique part of the id is derived from the inputs. */
function anEvent(
  minutesBefore: number,
  overrides: { principal?: string; type?: AuditEventType; profile?: string | null; accessKeyId?: string } = {},
): AuditEvent {
  const at = new Date(FIXED_NOW.getTime() - minutesBefore * MINUTE);
  const principal = aPrincipal({ id: overrides.principal ?? DEFAULT_PRINCIPAL_ID });
  const unique = `e${minutesBefore}-${principal.id.replace(/\W/g, '')}`;
  const base = eventBase(at, unique, principal, { requestId: `req-${unique}` });
  const profile = overrides.profile === null ? {} : { profile: overrides.profile ?? 'dev-readonly' };
  const accessKeyId = overrides.accessKeyId ? { accessKeyId: overrides.accessKeyId } : {};
  const type = overrides.type ?? 'profile.put';
  if (type === 'credential.denied') {
    return { ...base, type, profile: profile.profile ?? 'dev-readonly', code: 'NO_GRANT', message: 'no grant' };
  }
  if (type === 'credential.issued' || type === 'credential.used' || type === 'alert.raised') {
    throw new Error('use the builders in test/fixtures/key-events.ts');
  }
  return { ...base, type, ...profile, ...accessKeyId };
}

/** What STS hands back: the secret parts must never reach the audit table. */
const ISSUED: IssuedCredentials = {
  accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDEXAMPLE',
  expiration: '2026-06-01T13:00:00.000Z',
  assumedRoleArn: 'arn:aws:sts::123456789012:assumed-role/dev-readonly/alice',
};

/** A credential.issued event with every optional field, built the way vend-credentials builds it. */
function aCredentialIssuedEvent(credentials: IssuedCredentials = ISSUED): CredentialIssuedEvent {
  const principal = aPrincipal();
  const profile = aProfile();
  const grant = aGrant();
  return {
    ...eventBase(FIXED_NOW, 'issued1', principal, { requestId: 'req-1', sourceIp: '203.0.113.7', userAgent: 'tvm-cli/1.0' }),
    type: 'credential.issued',
    profile: profile.name,
    roleArn: profile.roleArn,
    grantId: grant.id,
    accessKeyId: credentials.accessKeyId,
    expiration: credentials.expiration,
    sessionName: 'alice',
    sourceIdentity: 'alice',
    assumedRoleArn: credentials.assumedRoleArn,
    durationSeconds: 3600,
    groups: principal.groups,
    policyHash: 'a'.repeat(64),
    reason: 'incident 42',
  };
}

/** What every event item carries besides the event: its keys and its link in the hash chain. */
const INDEX_AND_CHAIN_ATTRIBUTES = ['PK', 'SK', 'GSI3PK', 'GSI4PK', 'chainSeq', 'prevHash', 'hash'];

/** Every attribute a credential.issued item may have: keys, chain link and the event's public fields. */
const CREDENTIAL_ISSUED_ATTRIBUTES = [
  ...INDEX_AND_CHAIN_ATTRIBUTES,
  // By key, by profile, and live sessions by role and expiry.
  ...['GSI1PK', 'GSI2PK', 'GSI5PK', 'GSI5SK'],
  ...['id', 'type', 'at', 'principal', 'requestId', 'sourceIp', 'userAgent', 'profile', 'roleArn', 'grantId'],
  ...['accessKeyId', 'expiration', 'sessionName', 'sourceIdentity', 'assumedRoleArn', 'durationSeconds'],
  ...['policyHash', 'reason', 'groups'],
].sort();

async function appendAll(events: AuditEvent[], auditLog = log): Promise<void> {
  // In a shuffled order, so the order a query returns comes from the keys, not from insertion.
  const shuffled = events
    .map((event, i) => ({ event, key: (i * 7919) % 101 }))
    .sort((a, b) => a.key - b.key)
    .map(({ event }) => event);
  for (let i = 0; i < shuffled.length; i += 25) {
    await Promise.all(shuffled.slice(i, i + 25).map((event) => auditLog.append(event)));
  }
}

/** Follows nextCursor to the end; fails rather than loop forever. */
async function readAllPages(auditLog: DynamoDbAuditLog, query: Omit<AuditQuery, 'cursor'>) {
  const pages: AuditEvent[][] = [];
  let cursor: string | undefined;
  do {
    const page = await auditLog.query({ ...query, ...(cursor ? { cursor } : {}) });
    pages.push(page.events);
    if (page.nextCursor !== undefined && page.nextCursor === cursor) throw new Error(`the cursor did not move from ${cursor}`);
    cursor = page.nextCursor;
    // Every cursor must be one the API takes back (GET /audit/events?cursor=…).
    if (cursor !== undefined) auditCursorSchema.parse(cursor);
    if (pages.length > 50) throw new Error('pagination does not end');
  } while (cursor);
  return { sizes: pages.map((page) => page.length), ids: pages.flat().map((event) => event.id) };
}

const newestFirst = (events: AuditEvent[]) => events.map((event) => event.id).sort().reverse();
const ids = (events: AuditEvent[]) => events.map((event) => event.id);
const minutesAgo = (minutes: number) => new Date(FIXED_NOW.getTime() - minutes * MINUTE).toISOString();

/** The raw event items of the table (heads and once-markers left out). */
async function eventItems(): Promise<Record<string, unknown>[]> {
  const items = await scanRawTable(dynamodb().documentClient, tables.audit);
  return items.filter((item) => String(item.PK).startsWith('PRINCIPAL#'));
}

/** One chain's raw items in chain order, and its head (`u<n>`: a chain of the uses set). */
async function chainOf(shard: number | string, day = TODAY) {
  const items = await queryRawPartition(dynamodb().documentClient, tables.audit, `TIME#${day}#${shard}`, BY_TIME_INDEX);
  const head = await getRawItem(dynamodb().documentClient, tables.audit, { PK: `CHAIN#${day}#${shard}`, SK: 'HEAD' });
  return { items: items.sort((a, b) => Number(a.chainSeq) - Number(b.chainSeq)), head };
}

/** Asserts that `items` form one unbroken chain from the genesis hash to `head`. */
function expectLinked(items: Record<string, unknown>[], head: Record<string, unknown> | undefined): void {
  let prevHash = GENESIS_HASH;
  items.forEach((item, i) => {
    expect(item).toMatchObject({ chainSeq: i + 1, prevHash, hash: hashItem(item) });
    prevHash = String(item.hash);
  });
  expect(head).toMatchObject({ seq: items.length, hash: prevHash });
}

const auditKey = (event: AuditEvent) => ({ PK: principalPk(event.principal), SK: event.id });

describe('DynamoDbAuditLog', () => {
  describe('append', () => {
    it('stores the event under its principal with its index keys, as the first link of its chain, and moves the head', async () => {
      // Prepare
      const oneShard = newLog({ shards: 1 });
      const event = anEvent(0, { profile: 'prod-admin' });

      // Act
      const result = await oneShard.append(event);

      // Assess
      expect(result).toBe('appended');
      const item = await getRawItem(dynamodb().documentClient, tables.audit, auditKey(event));
      const unlinked = {
        ...event,
        PK: `PRINCIPAL#${DEFAULT_PRINCIPAL_ID}`,
        SK: event.id,
        GSI2PK: 'PROFILE#prod-admin',
        GSI3PK: `TIME#${TODAY}#0`,
        GSI4PK: `TYPE#profile.put#${TODAY}#0`,
        chainSeq: 1,
        prevHash: GENESIS_HASH,
      };
      expect(item).toEqual({ ...unlinked, hash: hashItem(unlinked) });
      expect(await getRawItem(dynamodb().documentClient, tables.audit, { PK: `CHAIN#${TODAY}#0`, SK: 'HEAD' })).toEqual({
        PK: `CHAIN#${TODAY}#0`,
        SK: 'HEAD',
        seq: 1,
        hash: hashItem(unlinked),
        // When the head was written (the writer's clock, not the injected one).
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        // The event it names: where an anchor of this head must still find it.
        eventId: event.id,
      });
    });

    it('gives an event without a profile or key no profile or key index key', async () => {
      // Prepare
      const event = anEvent(0, { profile: null });

      // Act
      await log.append(event);

      // Assess
      const [item, ...others] = await eventItems();
      expect(others).toEqual([]);
      expect(Object.keys(item ?? {}).sort()).toEqual(
        [...INDEX_AND_CHAIN_ATTRIBUTES, 'at', 'id', 'principal', 'requestId', 'type'].sort(),
      );
    });

    it('stores a credential.issued event with exactly its public fields, findable by access key and profile', async () => {
      // Prepare
      const event = aCredentialIssuedEvent();

      // Act
      await log.append(event);

      // Assess
      const [item, ...others] = await eventItems();
      expect(others).toEqual([]);
      expect(Object.keys(item ?? {}).sort()).toEqual(CREDENTIAL_ISSUED_ATTRIBUTES);
      expect(item).toMatchObject({ GSI1PK: `KEY#${ISSUED.accessKeyId}`, GSI2PK: 'PROFILE#dev-readonly' });
      const stored = JSON.stringify(await scanRawTable(dynamodb().documentClient, tables.audit));
      expect(stored).not.toContain(ISSUED.secretAccessKey);
      expect(stored).not.toContain(ISSUED.sessionToken);
      const byKey = await queryRawPartition(dynamodb().documentClient, tables.audit, `KEY#${ISSUED.accessKeyId}`, BY_ACCESS_KEY_INDEX);
      const byProfile = await queryRawPartition(dynamodb().documentClient, tables.audit, 'PROFILE#dev-readonly', BY_PROFILE_INDEX);
      expect(byKey.map((found) => found.id)).toEqual([event.id]);
      expect(byProfile.map((found) => found.id)).toEqual([event.id]);
    });

    it('indexes every event that names an access key under that key: its uses apart from the rest', async () => {
      // Prepare
      const issuance = anIssuance();
      const uses = [aUse(issuance), aUse(null, { eventTime: '2026-06-01T11:41:00Z' })];
      const others = [issuance, aSessionRevoked(issuance), anAlert()];

      // Act
      await appendAll([...uses, ...others]);

      // Assess
      const byKey = await queryRawPartition(dynamodb().documentClient, tables.audit, `KEY#${issuance.accessKeyId}`, BY_ACCESS_KEY_INDEX);
      const usesOfKey = await queryRawPartition(dynamodb().documentClient, tables.audit, `KEYUSE#${issuance.accessKeyId}`, BY_ACCESS_KEY_INDEX);
      expect(byKey.map((item) => item.id)).toEqual(ids(others).sort());
      expect(usesOfKey.map((item) => item.id)).toEqual(ids(uses).sort());
    });

    it('indexes the uses of a profile apart from its other events, so vends and cut-offs never read or share their partition', async () => {
      // Prepare
      const issuance = anIssuance();
      const uses = [aUse(issuance), aUse(issuance, { eventTime: '2026-06-01T11:41:00Z' })];
      const others = [issuance, aSessionRevoked(issuance), anEvent(5, { profile: issuance.profile })];

      // Act
      await appendAll([...uses, ...others]);

      // Assess
      const byProfile = await queryRawPartition(dynamodb().documentClient, tables.audit, `PROFILE#${issuance.profile}`, BY_PROFILE_INDEX);
      const usesOfProfile = await queryRawPartition(dynamodb().documentClient, tables.audit, `PROFILEUSE#${issuance.profile}`, BY_PROFILE_INDEX);
      expect(byProfile.map((item) => item.id)).toEqual(ids(others).sort());
      expect(usesOfProfile.map((item) => item.id)).toEqual(ids(uses).sort());
      expect(await log.liveIssuancesForProfile(issuance.profile, new Date('2026-06-01T12:00:00.000Z'))).toEqual([issuance]);
    });

    it('stores what vendCredentials records for an issuance: public fields only, never the secret or token', async () => {
      // Prepare
      const store = new DynamoDbDelegationStore(dynamodb().documentClient, {
        tableName: tables.delegations,
        auditTableName: tables.audit,
        auditShards: SHARDS,
        auditLayout: 'legacy',
      });
      const admin = aPrincipal({ id: 'admin@example.com' });
      const setup = (type: 'profile.put' | 'grant.created', unique: string) =>
        adminEvent(FIXED_NOW, unique, type, admin, { requestId: unique }, { profile: 'dev-readonly' });
      await store.putProfile(aProfile({ scope: { actions: ['s3:GetObject'], resources: ['*'] } }), setup('profile.put', 'setup1'));
      await store.createGrant(aGrant(), setup('grant.created', 'setup2'));
      let id = 0;
      const deps: VendDeps = {
        store,
        lockdown: { getLockdownAndCutOffs: async () => ({ lockdown: undefined, cutOffEpoch: 0, recentCutOffs: [] }) },
        issuer: { assumeRole: () => Promise.resolve(ISSUED) },
        audit: log,
        limiter: { take: async () => ({ allowed: true }) },
        clock: { now: () => FIXED_NOW },
        ids: { next: () => `id${++id}` },
        warn: () => undefined,
      };

      // Act
      await vendCredentials(deps, aPrincipal(), { profile: 'dev-readonly', durationSeconds: 900, reason: 'incident 42' }, {
        requestId: 'req-vend',
        sourceIp: '203.0.113.7',
        userAgent: 'tvm-cli/1.0',
      });

      // Assess
      const [item, ...others] = await queryRawPartition(dynamodb().documentClient, tables.audit, `KEY#${ISSUED.accessKeyId}`, BY_ACCESS_KEY_INDEX);
      expect(others).toEqual([]);
      expect(Object.keys(item ?? {}).sort()).toEqual(CREDENTIAL_ISSUED_ATTRIBUTES);
      expect(item).toMatchObject({ type: 'credential.issued', principal: DEFAULT_PRINCIPAL_ID, accessKeyId: ISSUED.accessKeyId });
      const stored = JSON.stringify(await scanRawTable(dynamodb().documentClient, tables.audit));
      expect(stored).not.toContain(ISSUED.secretAccessKey);
      expect(stored).not.toContain(ISSUED.sessionToken);
    });

    it('spreads concurrent writes over several time shards, and only over those, typed in the same shard', async () => {
      // Prepare
      const events = Array.from({ length: 40 }, (_, i) => anEvent(i));

      // Act
      await appendAll(events);

      // Assess
      const items = await eventItems();
      expect(items).toHaveLength(40);
      // A process leases at most shards − 1 chains at once, picked at random: which ones varies.
      const timeKeys = [...new Set(items.map((item) => String(item.GSI3PK)))];
      const allShards = [0, 1, 2, 3].map((shard) => `TIME#${TODAY}#${shard}`);
      expect(timeKeys.length).toBeGreaterThanOrEqual(2);
      for (const key of timeKeys) expect(allShards).toContain(key);
      for (const item of items) expect(item.GSI4PK).toBe(`TYPE#profile.put#${String(item.GSI3PK).slice('TIME#'.length)}`);
      for (let shard = 0; shard < SHARDS; shard++) {
        const byTime = await queryRawPartition(dynamodb().documentClient, tables.audit, `TIME#${TODAY}#${shard}`, BY_TIME_INDEX);
        const byType = await queryRawPartition(dynamodb().documentClient, tables.audit, `TYPE#profile.put#${TODAY}#${shard}`, BY_TYPE_INDEX);
        expect(byType.map((item) => item.id)).toEqual(byTime.map((item) => item.id));
      }
    });

    it('never overwrites: a second event with the same id throws AuditUnavailableError and changes nothing', async () => {
      // Prepare
      const first = anEvent(0, { type: 'profile.put' });
      await log.append(first);
      const before = await scanRawTable(dynamodb().documentClient, tables.audit);
      const impostor: AuditEvent = { ...first, type: 'profile.deleted', requestId: 'req-other' };

      // Act
      const error = await captureError(log.append(impostor));

      // Assess
      expect(error).toBeInstanceOf(AuditUnavailableError);
      expect(error.cause).toBeInstanceOf(TransactionCanceledException);
      expect(await scanRawTable(dynamodb().documentClient, tables.audit)).toEqual(before);
    });

    it('treats finding its own identical write (a retry after a lost response) as success', async () => {
      // Prepare: the first attempt landed, its response was lost
      const event = aCredentialIssuedEvent();
      await log.append(event);

      // Act
      const result = await log.append(event);

      // Assess
      expect(result).toBe('appended');
      const page = await log.query({ principal: event.principal, limit: 10 });
      expect(page.events).toEqual([event]);
      expect((await log.verify(FIXED_NOW, FIXED_NOW)).checked).toBe(1);
    });

    it("records an event once per onceKey: a second append with the key is 'duplicate' and writes nothing", async () => {
      // Prepare
      const issuance = anIssuance();
      const fromEventBridge = aUse(issuance, { via: 'eventbridge' });
      const fromTrail = { ...aUse(issuance, { via: 'trail' }), id: `${fromEventBridge.at}#other-unique` };
      const onceKey = `cloudtrail#${fromEventBridge.cloudTrailEventId}`;

      // Act
      const first = await log.append(fromEventBridge, { onceKey });
      const afterFirst = await scanRawTable(dynamodb().documentClient, tables.audit);
      const second = await log.append(fromTrail, { onceKey });

      // Assess
      expect([first, second]).toEqual(['appended', 'duplicate']);
      expect(await scanRawTable(dynamodb().documentClient, tables.audit)).toEqual(afterFirst);
      expect((await eventItems()).map((item) => item.id)).toEqual([fromEventBridge.id]);
      expect(await getRawItem(dynamodb().documentClient, tables.audit, { PK: `ONCE#${onceKey}`, SK: 'ONCE' })).toEqual({
        PK: `ONCE#${onceKey}`,
        SK: 'ONCE',
        eventId: fromEventBridge.id,
      });
    });
  });

  describe('hash chain', () => {
    it('links consecutive appends of one day and shard, each to the one before', async () => {
      // Prepare
      const oneShard = newLog({ shards: 1 });
      const events = Array.from({ length: 5 }, (_, i) => anEvent(10 - i));

      // Act
      for (const event of events) await oneShard.append(event);

      // Assess
      const { items, head } = await chainOf(0);
      expect(items.map((item) => item.id)).toEqual(ids(events));
      expectLinked(items, head);
    });

    it('links the events of store transactions and of appends into the same chain', async () => {
      // Prepare
      const store = new DynamoDbDelegationStore(dynamodb().documentClient, {
        tableName: tables.delegations,
        auditTableName: tables.audit,
        auditShards: 1,
        auditLayout: 'legacy',
      });
      const oneShard = newLog({ shards: 1 });
      const admin = aPrincipal({ id: 'admin@example.com' });
      const change = (minutes: number, type: 'profile.put' | 'grant.created') =>
        adminEvent(new Date(FIXED_NOW.getTime() - minutes * MINUTE), `c${minutes}`, type, admin, { requestId: `r${minutes}` }, { profile: 'dev-readonly' });

      // Act
      await store.putProfile(aProfile(), change(5, 'profile.put'));
      await oneShard.append(anEvent(4, { type: 'credential.denied' }));
      await store.createGrant(aGrant(), change(3, 'grant.created'));
      await oneShard.append(anEvent(2));

      // Assess
      const { items, head } = await chainOf(0);
      expect(items.map((item) => item.type)).toEqual(['profile.put', 'credential.denied', 'grant.created', 'profile.put']);
      expectLinked(items, head);
      expect(await oneShard.verify(FIXED_NOW, FIXED_NOW)).toEqual({ ok: true, checked: 4, broken: [] });
    });

    it('keeps uses in a chain set of their own, which every reader and verify walk besides issuance’s', async () => {
      // Prepare: one chain per set
      const oneEach = newLog({ shards: 1, useShards: 1 });
      const issuance = anIssuance();
      const uses = [aUse(issuance), aUse(issuance, { eventTime: '2026-06-01T11:41:00Z' }), aUse(null, { eventTime: '2026-06-01T11:42:00Z' })];

      // Act
      for (const event of [issuance, ...uses]) await oneEach.append(event);

      // Assess: two chains, each linked to its own head
      const events = await chainOf(0);
      const useChain = await chainOf('u0');
      expect(events.items.map((item) => item.id)).toEqual([issuance.id]);
      expect(useChain.items.map((item) => item.id)).toEqual(ids(uses));
      expectLinked(events.items, events.head);
      expectLinked(useChain.items, useChain.head);
      for (const item of useChain.items) expect(item.GSI4PK).toBe(`TYPE#credential.used#${TODAY}#u0`);
      // Readers find both sets: the time index unfiltered, the type index by type
      expect(ids((await oneEach.query({ limit: 10 })).events)).toEqual(newestFirst([issuance, ...uses]));
      expect(ids((await oneEach.query({ type: 'credential.used', limit: 10 })).events)).toEqual(newestFirst(uses));
      expect(ids((await oneEach.query({ type: 'credential.issued', limit: 10 })).events)).toEqual([issuance.id]);
      expect(await oneEach.verify(FIXED_NOW, FIXED_NOW)).toEqual({ ok: true, checked: 4, broken: [] });
    });

    it('catches an edited use in the chains of uses', async () => {
      // Prepare
      const oneEach = newLog({ shards: 1, useShards: 1 });
      const issuance = anIssuance();
      const use = aUse(issuance);
      await oneEach.append(issuance);
      await oneEach.append(use);
      await dynamodb().documentClient.send(
        new UpdateCommand({
          TableName: tables.audit,
          Key: auditKey(use),
          UpdateExpression: 'SET sourceIPAddress = :elsewhere',
          ExpressionAttributeValues: { ':elsewhere': '198.51.100.1' },
        }),
      );

      // Act
      const report = await oneEach.verify(FIXED_NOW, FIXED_NOW);

      // Assess
      expect(report).toEqual({ ok: false, checked: 2, broken: [{ id: use.id, reason: 'hash-mismatch' }] });
    });

    it('starts a new chain each UTC day', async () => {
      // Prepare
      const oneShard = newLog({ shards: 1 });
      const yesterday = anEvent(24 * 60);
      const today = anEvent(0);

      // Act
      await oneShard.append(yesterday);
      await oneShard.append(today);

      // Assess
      expect((await chainOf(0, '2026-05-31')).items.map((item) => [item.id, item.chainSeq])).toEqual([[yesterday.id, 1]]);
      expect((await chainOf(0)).items.map((item) => [item.id, item.chainSeq])).toEqual([[today.id, 1]]);
    });

    it('lands 50 concurrent appends of one process, every chain intact', async () => {
      // Prepare
      const events = Array.from({ length: 50 }, (_, i) => anEvent(i));

      // Act
      const results = await Promise.all(events.map((event) => log.append(event)));

      // Assess
      expect(results).toEqual(events.map(() => 'appended'));
      expect((await eventItems()).map((item) => item.id).sort()).toEqual(ids(events).sort());
      for (let shard = 0; shard < SHARDS; shard++) {
        const { items, head } = await chainOf(shard);
        if (items.length > 0) expectLinked(items, head);
      }
      expect(await log.verify(FIXED_NOW, FIXED_NOW)).toEqual({ ok: true, checked: 50, broken: [] });
    });

    it('lands 50 concurrent appends of two processes racing for the same heads, every chain intact', async () => {
      // Prepare: two logs with their own head caches and shard leases, like two Lambda instances
      const instances = [newLog({ chains: new AuditChains() }), newLog({ chains: new AuditChains() })];
      const events = Array.from({ length: 50 }, (_, i) => anEvent(i, { principal: i % 2 ? BOB : DEFAULT_PRINCIPAL_ID }));

      // Act
      const results = await Promise.all(events.map((event, i) => instances[i % 2]?.append(event)));

      // Assess
      expect(results).toEqual(events.map(() => 'appended'));
      expect((await eventItems()).map((item) => item.id).sort()).toEqual(ids(events).sort());
      for (let shard = 0; shard < SHARDS; shard++) {
        const { items, head } = await chainOf(shard);
        if (items.length > 0) expectLinked(items, head);
      }
      expect(await log.verify(FIXED_NOW, FIXED_NOW)).toEqual({ ok: true, checked: 50, broken: [] });
    }, 30_000);

    it('relinks after another process moved the head, and keeps the chain whole', async () => {
      // Prepare: both instances know the head at seq 1; the second one then moves it twice
      const [first, second] = [newLog({ shards: 1, chains: new AuditChains() }), newLog({ shards: 1, chains: new AuditChains() })];
      await first.append(anEvent(10));
      await second.append(anEvent(9));
      await second.append(anEvent(8));

      // Act: the first instance's cached head is two links behind
      await first.append(anEvent(7));

      // Assess
      const { items, head } = await chainOf(0);
      expect(items.map((item) => item.id)).toEqual(ids([anEvent(10), anEvent(9), anEvent(8), anEvent(7)]));
      expectLinked(items, head);
    });
    it('never links to a hash the head does not hold, even when a cached head has the right seq', async () => {
      // Prepare: the process believes head seq 1 has another hash than the one stored, as after
      // reading a head another transaction wrote and then rolled back
      const chains = new AuditChains();
      const writer = newLog({ shards: 1, chains });
      await writer.append(anEvent(10));
      const stored = chains.head('2026-06-01#0');
      chains.remember('2026-06-01#0', { seq: 1, hash: 'f'.repeat(64), at: stored?.at ?? FIXED_NOW.toISOString() });

      // Act
      await writer.append(anEvent(5));

      // Assess: relinked to the stored head, not to the hash it guessed
      const { items, head } = await chainOf(0);
      expect(items.map((item) => item.id)).toEqual(ids([anEvent(10), anEvent(5)]));
      expectLinked(items, head);
      expect(await log.verify(FIXED_NOW, FIXED_NOW)).toMatchObject({ ok: true, broken: [] });
    });

    it('starts the chain afresh when its head is gone under a running process (a table recreated)', async () => {
      // Prepare: the process has cached head seq 3 of chain 2026-06-01#0; then the table is new
      const chains = new AuditChains();
      const before = newLog({ shards: 1, chains });
      for (const minutes of [30, 20, 10]) await before.append(anEvent(minutes));
      tables = await dynamodb().createTestTables();
      const after = newLog({ shards: 1, chains });

      // Act
      await after.append(anEvent(5));

      // Assess
      const { items, head } = await chainOf(0);
      expect(items.map((item) => item.chainSeq)).toEqual([1]);
      expectLinked(items, head);
    });
  });

  describe('verify', () => {
    /** Three events in one chain (shard 0 of today), appended in order. */
    async function aChainOfThree(): Promise<AuditEvent[]> {
      const oneShard = newLog({ shards: 1 });
      const events = [anEvent(30), anEvent(20), anEvent(10)];
      for (const event of events) await oneShard.append(event);
      return events;
    }

    /** Its waits for a lagging index, recorded instead of slept (onWait runs at each). */
    let waits: number[];
    let onWait: (() => Promise<void>) | undefined;
    beforeEach(() => {
      waits = [];
      onWait = undefined;
    });
    const verifyToday = () =>
      newLog({
        shards: 1,
        pause: async (milliseconds) => {
          waits.push(milliseconds);
          await onWait?.();
        },
      }).verify(FIXED_NOW, FIXED_NOW);

    it('finds an untouched trail intact, counting every event', async () => {
      // Prepare
      await appendAll(Array.from({ length: 12 }, (_, i) => anEvent(i * 60)));

      // Act
      const report = await log.verify(new Date(FIXED_NOW.getTime() - DAY), FIXED_NOW);

      // Assess
      expect(report).toEqual({ ok: true, checked: 12, broken: [] });
    });

    it('catches an event edited directly in the table', async () => {
      // Prepare
      const events = await aChainOfThree();
      const edited = events[1] as AuditEvent;
      await dynamodb().documentClient.send(
        new UpdateCommand({
          TableName: tables.audit,
          Key: auditKey(edited),
          UpdateExpression: 'SET #type = :type',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':type': 'profile.deleted' },
        }),
      );

      // Act
      const report = await verifyToday();

      // Assess
      expect(report).toEqual({ ok: false, checked: 3, broken: [{ id: edited.id, reason: 'hash-mismatch' }] });
      // No index lag explains an edit: reported without waiting.
      expect(waits).toEqual([]);
    });

    it('catches a deleted event, at the event after it', async () => {
      // Prepare
      const events = await aChainOfThree();
      await dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: auditKey(events[1] as AuditEvent) }));

      // Act
      const report = await verifyToday();

      // Assess
      expect(report).toEqual({ ok: false, checked: 2, broken: [{ id: events[2]?.id, reason: 'missing-before' }] });
      // First given the index time to show it, as if it lagged: 3.1 s in all.
      expect(waits).toEqual([100, 200, 400, 800, 1600]);
    });

    it('reports nothing missing once a lagging index shows the event, after waiting only as long as that took', async () => {
      // Prepare: the index does not show the middle event at first; it does after the second wait.
      const events = await aChainOfThree();
      const middle = await getRawItem(dynamodb().documentClient, tables.audit, auditKey(events[1] as AuditEvent));
      await dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: auditKey(events[1] as AuditEvent) }));
      onWait = async () => {
        if (waits.length === 2) await dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: middle }));
      };

      // Act
      const report = await verifyToday();

      // Assess
      expect(report).toEqual({ ok: true, checked: 3, broken: [] });
      expect(waits).toEqual([100, 200]);
    });

    it('reports at once an event missing from a chain last written more than a minute ago', async () => {
      // Prepare
      const events = await aChainOfThree();
      const head = await getRawItem(dynamodb().documentClient, tables.audit, { PK: `CHAIN#${TODAY}#0`, SK: 'HEAD' });
      await dynamodb().documentClient.send(
        new PutCommand({ TableName: tables.audit, Item: { ...head, at: new Date(Date.now() - 2 * MINUTE).toISOString() } }),
      );
      await dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: auditKey(events[1] as AuditEvent) }));

      // Act
      const report = await verifyToday();

      // Assess
      expect(report.broken).toEqual([{ id: events[2]?.id, reason: 'missing-before' }]);
      expect(waits).toEqual([]);
    });

    it('catches a deleted newest event, naming the chain whose head disagrees', async () => {
      // Prepare
      const events = await aChainOfThree();
      await dynamodb().documentClient.send(new DeleteCommand({ TableName: tables.audit, Key: auditKey(events[2] as AuditEvent) }));

      // Act
      const report = await verifyToday();

      // Assess
      expect(report).toEqual({ ok: false, checked: 2, broken: [{ id: `chain:${TODAY}#0`, reason: 'head-mismatch' }] });
    });

    it('catches forged events slipped into a chain, with or without chain fields', async () => {
      // Prepare
      const events = await aChainOfThree();
      const plain = anEvent(15, { type: 'grant.created' });
      const [first] = (await chainOf(0)).items;
      const linked = linkItem(auditItem(anEvent(16, { type: 'grant.revoked' }), 0), { seq: 1, hash: String(first?.hash) });
      for (const item of [auditItem(plain, 0), linked]) {
        await dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: item }));
      }

      // Act
      const report = await verifyToday();

      // Assess
      expect(report.ok).toBe(false);
      expect(report.broken).toEqual(
        expect.arrayContaining([
          { id: plain.id, reason: 'not-chained' },
          { id: linked.id, reason: 'duplicate-seq' },
        ]),
      );
      expect(report.broken).toHaveLength(2);
      expect(events).toHaveLength(3);
    });

    it('checks only the days asked for', async () => {
      // Prepare
      const oneShard = newLog({ shards: 1 });
      const yesterday = anEvent(24 * 60);
      await oneShard.append(yesterday);
      await oneShard.append(anEvent(0));
      await dynamodb().documentClient.send(
        new UpdateCommand({
          TableName: tables.audit,
          Key: auditKey(yesterday),
          UpdateExpression: 'SET principal = :other',
          ExpressionAttributeValues: { ':other': BOB },
        }),
      );

      // Act
      const today = await verifyToday();
      const both = await oneShard.verify(new Date(FIXED_NOW.getTime() - DAY), FIXED_NOW);

      // Assess
      expect(today).toEqual({ ok: true, checked: 1, broken: [] });
      expect(both).toEqual({ ok: false, checked: 2, broken: [{ id: yesterday.id, reason: 'hash-mismatch' }] });
    });
  });

  describe('query by principal', () => {
    it('returns the principal’s events newest first, exactly as appended', async () => {
      // Prepare
      const mine = [anEvent(3), aCredentialIssuedEvent(), anEvent(1, { type: 'credential.denied' })];
      await appendAll([...mine, anEvent(2, { principal: BOB })]);

      // Act
      const page = await log.query({ principal: DEFAULT_PRINCIPAL_ID, limit: 10 });

      // Assess
      expect(page).toEqual({ events: [...mine].sort((a, b) => b.id.localeCompare(a.id)) });
    });

    it('pages 23 events as 10, 10 and 3 without duplicates or gaps', async () => {
      // Prepare
      const mine = Array.from({ length: 23 }, (_, i) => anEvent(i));
      await appendAll([...mine, ...Array.from({ length: 5 }, (_, i) => anEvent(i, { principal: BOB }))]);

      // Act
      const pages = await readAllPages(log, { principal: DEFAULT_PRINCIPAL_ID, limit: 10 });

      // Assess
      expect(pages.sizes).toEqual([10, 10, 3]);
      expect(pages.ids).toEqual(newestFirst(mine));
    });

    it('gives no cursor when the last page is exactly full', async () => {
      // Prepare
      await appendAll(Array.from({ length: 10 }, (_, i) => anEvent(i)));

      // Act
      const page = await log.query({ principal: DEFAULT_PRINCIPAL_ID, limit: 10 });

      // Assess
      expect(page.events).toHaveLength(10);
      expect(page.nextCursor).toBeUndefined();
    });

    it('filters by type and still fills every page', async () => {
      // Prepare
      const events = Array.from({ length: 30 }, (_, i) => anEvent(i, { type: i % 3 === 0 ? 'credential.denied' : 'profile.put' }));
      await appendAll(events);
      const denied = events.filter((event) => event.type === 'credential.denied');

      // Act
      const pages = await readAllPages(log, { principal: DEFAULT_PRINCIPAL_ID, type: 'credential.denied', limit: 4 });

      // Assess
      expect(pages.sizes).toEqual([4, 4, 2]);
      expect(pages.ids).toEqual(newestFirst(denied));
    });

    it('finds a matching event behind many newer ones of another type', async () => {
      // Prepare
      const match = anEvent(100, { type: 'credential.denied' });
      await appendAll([match, ...Array.from({ length: 60 }, (_, i) => anEvent(i))]);

      // Act
      const pages = await readAllPages(log, { principal: DEFAULT_PRINCIPAL_ID, type: 'credential.denied', limit: 2 });

      // Assess
      expect(pages.ids).toEqual([match.id]);
    });
  });

  describe('query without a principal (the sharded time index)', () => {
    it('walks every shard of every day back from now, newest first, paging without duplicates or gaps', async () => {
      // Prepare
      const minutesBack = (days: number, minutes = 0) => days * 24 * 60 + minutes;
      const inWindow = [
        ...Array.from({ length: 9 }, (_, i) => anEvent(i * 7, { principal: i % 2 ? BOB : DEFAULT_PRINCIPAL_ID })),
        ...Array.from({ length: 5 }, (_, i) => anEvent(minutesBack(1, i * 30))),
        ...Array.from({ length: 4 }, (_, i) => anEvent(minutesBack(4, i), { principal: BOB })),
        anEvent(minutesBack(29)),
      ];
      const tooOld = anEvent(minutesBack(30, 720));
      await appendAll([...inWindow, tooOld]);
      const partitions = new Set((await scanRawTable(dynamodb().documentClient, tables.audit)).map((item) => item.GSI3PK));

      // Act
      const pages = await readAllPages(log, { limit: 5 });

      // Assess
      expect(partitions.size).toBeGreaterThan(SHARDS);
      // Pages are full until the walk reaches the days one query may read (MAX_PARTITION_READS_PER_QUERY).
      expect(pages.sizes.slice(0, 3)).toEqual([5, 5, 5]);
      expect(pages.sizes.every((size) => size <= 5)).toBe(true);
      expect(pages.ids).toEqual(newestFirst(inWindow));
    });

    it('filters by type across shards and days', async () => {
      // Prepare
      const events = Array.from({ length: 24 }, (_, i) =>
        anEvent(i * 240, { type: i % 4 === 0 ? 'credential.denied' : 'profile.put' }),
      );
      await appendAll(events);

      // Act
      const pages = await readAllPages(log, { type: 'credential.denied', limit: 2 });

      // Assess
      expect(pages.sizes).toEqual([2, 2, 2]);
      expect(pages.ids).toEqual(newestFirst(events.filter((event) => event.type === 'credential.denied')));
    });

    it('leaves no gap when a filtered day holds more non-matching events than one request reads', async () => {
      // Prepare
      const oneShard = newLog({ shards: 1 });
      const todaysMatch = anEvent(600, { type: 'credential.denied' });
      const yesterdaysMatch = anEvent(24 * 60, { type: 'credential.denied' });
      const noise = Array.from({ length: 60 }, (_, i) => anEvent(i));
      await appendAll([todaysMatch, yesterdaysMatch, ...noise], oneShard);

      // Act
      const pages = await readAllPages(oneShard, { type: 'credential.denied', limit: 2 });

      // Assess
      expect(pages.ids).toEqual([todaysMatch.id, yesterdaysMatch.id]);
    });

    it('pages the same events whatever the page size: the window stays anchored to now', async () => {
      // Prepare
      const events = Array.from({ length: 12 }, (_, i) => anEvent(i * 24 * 60));
      await appendAll(events);
      const weekLog = newLog({ lookbackDays: 7 });

      // Act
      const small = await readAllPages(weekLog, { limit: 2 });
      const large = await readAllPages(weekLog, { limit: 100 });

      // Assess
      expect(large.ids).toEqual(newestFirst(events.slice(0, 7)));
      expect(small.ids).toEqual(large.ids);
    });

    // Past 31 days a cursor must still be one the API accepts, or `tvm audit events --all` would
    // stop there.
    it('pages past the days one request walks with cursors the API accepts, reaching every event', async () => {
      // Prepare: events 45 and 70 days back, nothing between
      const events = [anEvent(0), anEvent(45 * 24 * 60), anEvent(70 * 24 * 60)];
      await appendAll(events);
      const quarterLog = newLog({ lookbackDays: 90 });

      // Act
      const pages = await readAllPages(quarterLog, { limit: 10 });

      // Assess
      expect(pages.ids).toEqual(newestFirst(events));
      expect(pages.sizes.length).toBeGreaterThan(1);
    });

    it('starts from the injected clock and looks back only lookbackDays', async () => {
      // Prepare
      const events = [anEvent(0), anEvent(2 * 24 * 60), anEvent(3 * 24 * 60)];
      await appendAll(events);
      const twoDayLog = newLog({ lookbackDays: 2, now: () => new Date(FIXED_NOW.getTime() - DAY) });

      // Act
      const page = await twoDayLog.query({ limit: 10 });

      // Assess
      expect(page.events.map((event) => event.id)).toEqual([events[1]?.id]);
    });
  });

  describe('query by the most selective key, with from/to and the other filters', () => {
    // Alice and Bob on two profiles; key K1 issued to Bob, used by him, then cut off by Alice.
    const K1 = 'ASIAK1EXAMPLE0000001';
    const issued = anIssuance({ principal: BOB, accessKeyId: K1, at: minutesAgo(60), profile: 'dev-readonly' });
    const named = {
      issued,
      alicePut50: anEvent(50),
      aliceDenied45: anEvent(45, { type: 'credential.denied' }),
      alicePut40: anEvent(40),
      bobUse35: aUse(issued, { eventTime: minutesAgo(35).replace('.000Z', 'Z') }),
      aliceRevoked30: anEvent(30, { type: 'session.revoked', profile: 'prod-admin', accessKeyId: K1 }),
      bobUse25: aUse(issued, { eventTime: minutesAgo(25).replace('.000Z', 'Z') }),
      bobPut20: anEvent(20, { principal: BOB, profile: 'prod-admin' }),
    };
    type Name = keyof typeof named;
    const idsOf = (...names: Name[]) => names.map((name) => named[name].id);

    beforeEach(async () => {
      await appendAll(Object.values(named));
    });

    it.each<[string, Omit<AuditQuery, 'limit'>, Name[]]>([
      ['an access key', { accessKeyId: K1 }, ['bobUse25', 'aliceRevoked30', 'bobUse35', 'issued']],
      ['an access key and a type', { accessKeyId: K1, type: 'credential.used' }, ['bobUse25', 'bobUse35']],
      ['an access key and a principal', { accessKeyId: K1, principal: DEFAULT_PRINCIPAL_ID }, ['aliceRevoked30']],
      ['an access key and a profile', { accessKeyId: K1, profile: 'dev-readonly' }, ['bobUse25', 'bobUse35', 'issued']],
      ['a principal and a profile', { principal: DEFAULT_PRINCIPAL_ID, profile: 'dev-readonly' }, ['alicePut40', 'aliceDenied45', 'alicePut50']],
      ['a principal, a profile and a type', { principal: DEFAULT_PRINCIPAL_ID, profile: 'dev-readonly', type: 'profile.put' }, ['alicePut40', 'alicePut50']],
      ['a profile', { profile: 'prod-admin' }, ['bobPut20', 'aliceRevoked30']],
      ['a profile, its uses among its other events', { profile: 'dev-readonly' }, ['bobUse25', 'bobUse35', 'alicePut40', 'aliceDenied45', 'alicePut50', 'issued']],
      ['a profile and the type of uses', { profile: 'dev-readonly', type: 'credential.used' }, ['bobUse25', 'bobUse35']],
      ['a profile and a type', { profile: 'dev-readonly', type: 'credential.denied' }, ['aliceDenied45']],
      ['a type', { type: 'credential.used' }, ['bobUse25', 'bobUse35']],
      ['a type, from and to (both inclusive)', { type: 'profile.put', from: minutesAgo(50), to: minutesAgo(40) }, ['alicePut40', 'alicePut50']],
      ['from and to only', { from: minutesAgo(45), to: minutesAgo(30) }, ['aliceRevoked30', 'bobUse35', 'alicePut40', 'aliceDenied45']],
      ['a principal and from', { principal: BOB, from: minutesAgo(35) }, ['bobPut20', 'bobUse25', 'bobUse35']],
      ['a principal and to', { principal: BOB, to: minutesAgo(25) }, ['bobUse25', 'bobUse35', 'issued']],
      ['an access key, from and to', { accessKeyId: K1, from: minutesAgo(59), to: minutesAgo(26) }, ['aliceRevoked30', 'bobUse35']],
      ['a profile and to', { profile: 'prod-admin', to: minutesAgo(21) }, ['aliceRevoked30']],
      ['from later than to', { principal: BOB, from: minutesAgo(10), to: minutesAgo(30) }, []],
    ])('by %s: newest first, exactly the matches', async (_, query, expected) => {
      // Act
      const page = await log.query({ ...query, limit: 20 });

      // Assess
      expect(ids(page.events)).toEqual(idsOf(...expected));
      expect(page.nextCursor).toBeUndefined();
    });

    it('returns the events exactly as appended', async () => {
      // Act
      const page = await log.query({ accessKeyId: K1, limit: 20 });

      // Assess
      // Uses come back stamped with when they were recorded (the writer's clock).
      const recorded = { recordedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) };
      expect(page.events).toEqual([{ ...named.bobUse25, ...recorded }, named.aliceRevoked30, { ...named.bobUse35, ...recorded }, named.issued]);
    });

    it('accepts times without milliseconds or in another offset, as the same instants', async () => {
      // Prepare
      const from = minutesAgo(50).replace('.000Z', 'Z');
      const to = new Date(FIXED_NOW.getTime() - 40 * MINUTE).toISOString().replace('T11:20:00.000Z', 'T13:20:00+02:00');

      // Act
      const page = await log.query({ type: 'profile.put', from, to, limit: 20 });

      // Assess
      expect(ids(page.events)).toEqual(idsOf('alicePut40', 'alicePut50'));
    });

    it('refuses a bound that is not a time with ValidationError', async () => {
      // Act
      const error = await captureError(log.query({ from: 'yesterday', limit: 20 }));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    });
  });

  describe('events about several profiles', () => {
    const SEC = aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] });
    const about = (minutes: number, type: 'lockdown.activated' | 'lockdown.lifted' | 'engagement.created', profiles: string[]) =>
      adminEvent(new Date(FIXED_NOW.getTime() - minutes * MINUTE), `multi${minutes}`, type, SEC, { requestId: `r${minutes}` }, { profiles });

    it('are found by a query for any one of their profiles, a lockdown of every profile by any profile', async () => {
      // Prepare
      const lockdown = about(30, 'lockdown.activated', ['dev-readonly', 'prod-admin']);
      const engagement = about(20, 'engagement.created', ['prod-admin', 'billing']);
      const everything = about(10, 'lockdown.activated', ['*']);
      const singles = [anEvent(40, { profile: 'prod-admin' }), anEvent(5, { profile: 'dev-readonly' })];
      await appendAll([lockdown, engagement, everything, ...singles]);

      // Act
      const [devReadonly, prodAdmin, billing, unrelated, lockdowns] = await Promise.all([
        log.query({ profile: 'dev-readonly', limit: 20 }),
        log.query({ profile: 'prod-admin', limit: 20 }),
        log.query({ profile: 'billing', limit: 20 }),
        log.query({ profile: 'payroll', limit: 20 }),
        log.query({ profile: 'billing', type: 'lockdown.activated', limit: 20 }),
      ]);

      // Assess
      expect(ids(devReadonly.events)).toEqual(ids([singles[1] as AuditEvent, everything, lockdown]));
      expect(ids(prodAdmin.events)).toEqual(ids([everything, engagement, lockdown, singles[0] as AuditEvent]));
      expect(ids(billing.events)).toEqual(ids([everything, engagement]));
      expect(ids(unrelated.events)).toEqual([everything.id]);
      expect(ids(lockdowns.events)).toEqual([everything.id]);
      expect(devReadonly.events[1]).toEqual(everything);
      expect(everything).toMatchObject({ profiles: ['*'] });
      expect(everything).not.toHaveProperty('profile');
    });

    it('stay one partition of the profile index, read by key, and page without gaps', async () => {
      // Prepare: many lockdowns of other profiles between the ones that concern this one
      const concerning = Array.from({ length: 6 }, (_, i) => about(100 - i * 10, 'lockdown.lifted', ['dev-readonly', `other-${i}`]));
      const others = Array.from({ length: 30 }, (_, i) => about(99 - i * 2, 'lockdown.lifted', [`other-${i}`]));
      await appendAll([...concerning, ...others]);

      // Act
      const pages = await readAllPages(log, { profile: 'dev-readonly', limit: 2 });

      // Assess
      expect(pages.ids).toEqual(newestFirst(concerning));
      const partition = await queryRawPartition(dynamodb().documentClient, tables.audit, 'PROFILES', BY_PROFILE_INDEX);
      expect(partition).toHaveLength(concerning.length + others.length);
    });
  });

  describe('paging with from/to', () => {
    it('pages a principal inside from/to without duplicates, gaps or events outside the range', async () => {
      // Prepare
      const events = Array.from({ length: 40 }, (_, i) => anEvent(i));
      await appendAll(events);
      const inRange = events.filter((_, i) => i >= 5 && i <= 27);

      // Act
      const pages = await readAllPages(log, { principal: DEFAULT_PRINCIPAL_ID, from: minutesAgo(27), to: minutesAgo(5), limit: 10 });

      // Assess
      expect(pages.sizes).toEqual([10, 10, 3]);
      expect(pages.ids).toEqual(newestFirst(inRange));
    });

    it('pages a type across shards and the days of from/to only', async () => {
      // Prepare
      const events = Array.from({ length: 24 }, (_, i) => anEvent(i * 240, { type: i % 2 === 0 ? 'credential.denied' : 'profile.put' }));
      await appendAll(events);
      const from = minutesAgo(20 * 240);
      const to = minutesAgo(4 * 240);
      const expected = events.filter((event, i) => event.type === 'credential.denied' && i >= 4 && i <= 20);

      // Act
      const pages = await readAllPages(log, { type: 'credential.denied', from, to, limit: 3 });

      // Assess
      expect(pages.ids).toEqual(newestFirst(expected));
      expect(pages.sizes).toEqual([3, 3, 3]);
    });

    it('below a cursor, stops reading at `from` even when a filter holds back everything past it', async () => {
      // Prepare: two denials after `from`, then 60 other events of the principal before it
      const denials = [5, 10].map((minutes) => anEvent(minutes, { type: 'credential.denied' }));
      await appendAll([...denials, ...Array.from({ length: 60 }, (_, i) => anEvent(100 + i))]);
      const endpoint = await dynamodb().client.config.endpoint?.();
      const counted = countingClient(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`);
      const reader = new DynamoDbAuditLog(counted.documentClient, { tableName: tables.audit, shards: SHARDS, layout: 'legacy', now: () => FIXED_NOW });
      const first = await reader.query({ principal: DEFAULT_PRINCIPAL_ID, type: 'credential.denied', from: minutesAgo(50), limit: 1 });
      counted.take();

      // Act
      const second = await reader.query({ principal: DEFAULT_PRINCIPAL_ID, type: 'credential.denied', from: minutesAgo(50), limit: 1, cursor: first.nextCursor as string });
      const cost = counted.take();

      // Assess
      expect([ids(first.events), ids(second.events), second.nextCursor]).toEqual([[denials[0]?.id], [denials[1]?.id], undefined]);
      // One request of limit + 1 items: the read ended at the first item it saw before `from`.
      expect(cost).toMatchObject({ requests: 1, itemsRead: 2 });
    });

    it('reaches far back in steps: a long from/to returns a cursor after the days one query may read', async () => {
      // Prepare
      const recent = anEvent(0);
      const old = anEvent(45 * 24 * 60);
      await appendAll([recent, old]);

      // Act
      const pages = await readAllPages(log, { from: minutesAgo(60 * 24 * 60), limit: 10 });

      // Assess
      expect(pages.ids).toEqual([recent.id, old.id]);
      const daysPerQuery = Math.min(31, Math.floor(MAX_PARTITION_READS_PER_QUERY / (SHARDS + DEFAULT_USE_SHARDS)));
      expect(pages.sizes).toHaveLength(Math.ceil(46 / daysPerQuery));
    });
  });

  describe("a key's record and its uses", () => {
    it("reads a key's record complete and oldest first, without its uses or anything of other keys", async () => {
      // Prepare
      const issuance = anIssuance();
      const record = [issuance, aSessionRevoked(issuance), anAlert()];
      const other = anIssuance({ accessKeyId: 'ASIAOTHERKEY00000001', at: '2026-06-01T11:31:00.000Z' });
      await appendAll([...record, aUse(issuance), aUse(issuance, { eventTime: '2026-06-01T11:52:00Z' }), other, aUse(other, { eventTime: '2026-06-01T11:45:00Z' })]);

      // Act
      const events = await log.controlEventsForKey(issuance.accessKeyId);

      // Assess
      expect(events).toEqual(record);
    });

    it("pages a key's uses newest first, or oldest first, each page continuing where the last stopped", async () => {
      // Prepare
      const issuance = anIssuance();
      const uses = Array.from({ length: 25 }, (_, i) => aUse(issuance, { eventTime: new Date(Date.parse('2026-06-01T11:31:00Z') + i * 1000).toISOString() }));
      await appendAll([issuance, ...uses, aUse(anIssuance({ accessKeyId: 'ASIAOTHERKEY00000001' }), { eventTime: '2026-06-01T11:40:00Z' })]);
      const readAll = async (oldestFirst: boolean) => {
        const pages: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await log.usesOfKey({ accessKeyId: issuance.accessKeyId, oldestFirst, limit: 10, ...(cursor ? { cursor } : {}) });
          pages.push(ids(page.uses));
          cursor = page.nextCursor;
        } while (cursor && pages.length < 10);
        return pages;
      };

      // Act
      const newestFirst = await readAll(false);
      const oldestFirst = await readAll(true);

      // Assess
      expect(newestFirst.map((page) => page.length)).toEqual([10, 10, 5]);
      expect(newestFirst.flat()).toEqual(ids(uses).reverse());
      expect(oldestFirst.flat()).toEqual(ids(uses));
    });

    it('hands its cursor on to query: the pages of a key used 150 times', async () => {
      // Prepare: the key's newest 150 calls come from the laptop; one before them from elsewhere.
      const issuance = anIssuance();
      const at = (i: number) => new Date(Date.parse('2026-06-01T11:31:00Z') + i * 1000).toISOString();
      const elsewhere = aUse(issuance, { eventTime: at(0), sourceIPAddress: '203.0.113.34' });
      const laptop = Array.from({ length: 150 }, (_, i) => aUse(issuance, { eventTime: at(i + 1), sourceIPAddress: '198.51.100.7' }));
      await appendAll([issuance, elsewhere, ...laptop]);

      // Act
      const newest = await log.usesOfKey({ accessKeyId: issuance.accessKeyId, limit: 100 });
      const rest = await log.query({ accessKeyId: issuance.accessKeyId, type: 'credential.used', limit: 100, cursor: newest.nextCursor });

      // Assess
      expect(ids(newest.uses)).toEqual(ids(laptop).reverse().slice(0, 100));
      expect(ids(rest.events)).toEqual([...ids(laptop).reverse().slice(100), elsewhere.id]);
    });

    it('finds the issuance of a key, behind uses stamped in the same second', async () => {
      // Prepare
      const issuance = anIssuance({ at: '2026-06-01T11:30:00.450Z', id: '2026-06-01T11:30:00.450Z#issued' });
      const sameSecond = aUse(issuance, { eventTime: '2026-06-01T11:30:00Z' });
      await appendAll([sameSecond, issuance, aUse(issuance)]);

      // Act
      const found = await log.findIssuance(issuance.accessKeyId);

      // Assess
      expect(sameSecond.id < issuance.id).toBe(true);
      expect(found).toEqual(issuance);
    });

    it('finds no issuance for a key tvm did not issue, nor for an unknown one', async () => {
      // Prepare
      await log.append(aUse(null));

      // Act
      const found = await Promise.all([log.findIssuance(anIssuance().accessKeyId), log.findIssuance('ASIANEVERSEEN0000001')]);

      // Assess
      expect(found).toEqual([undefined, undefined]);
    });

    it('tells whether an append with a onceKey was recorded, from the table itself', async () => {
      // Prepare
      await log.append(anAlert(), { onceKey: 'alert:use-after-revocation#ASIAFAKEACCESSKEY001' });

      // Act
      const answers = await Promise.all([
        log.isRecordedOnce('alert:use-after-revocation#ASIAFAKEACCESSKEY001'),
        log.isRecordedOnce('alert:source-ip-change#ASIAFAKEACCESSKEY001'),
      ]);

      // Assess
      expect(answers).toEqual([true, false]);
    });

    it("keeps a key's first counted use in the use's own write, and never replaces it", async () => {
      // Prepare: a use from AWS (not counted), the first counted one, then another counted one
      const issuance = anIssuance();
      const at = (minute: number) => `2026-06-01T11:${minute}:00Z`;
      await log.append(issuance);
      await log.append(aUse(issuance, { eventTime: at(31), sourceIPAddress: 'AWS Internal' }));
      const before = await log.firstCountedUse(issuance.accessKeyId);
      const first = aUse(issuance, { eventTime: at(32), sourceIPAddress: '198.51.100.7' });
      await log.append(first, { firstCountedUse: true });

      // Act
      await log.append(aUse(issuance, { eventTime: at(33), sourceIPAddress: '203.0.113.34' }), { firstCountedUse: true });
      const found = await Promise.all([log.firstCountedUse(issuance.accessKeyId), log.firstCountedUse('ASIANEVERSEEN0000001')]);

      // Assess: every use is recorded, the first counted one named
      expect(before).toBeUndefined();
      expect(found).toEqual([{ ...first, recordedAt: expect.any(String) }, undefined]);
      expect((await log.usesOfKey({ accessKeyId: issuance.accessKeyId, limit: 10 })).uses).toHaveLength(3);
    });
  });

  // The alert schedule re-checks uses by when tvm recorded them, so a call
  // delivered hours late is judged again; and a window with more than one run can take says so.
  describe('uses by when they were recorded', () => {
    const issuance = anIssuance();
    /** A use made at `eventTime`, recorded by tvm at `recordedAt`. */
    const aLateUse = (eventTime: string, recordedAt: string, unique: string) =>
      aUse(issuance, { eventTime, cloudTrailEventId: `ct-${unique}`, id: `${new Date(eventTime).toISOString()}#ct-${unique}`, recordedAt });

    it('finds the uses recorded in the window, oldest recorded first, across every shard and both days, whenever the calls were made', async () => {
      // Prepare: calls made yesterday and today, recorded around midnight, spread over the shards
      const made = ['2026-05-31T09:00:00Z', '2026-06-01T00:01:00Z', '2026-05-30T23:00:00Z', '2026-06-01T00:04:00Z'];
      const recordedAt = ['2026-05-31T23:58:00.000Z', '2026-06-01T00:02:00.000Z', '2026-06-01T00:05:00.000Z', '2026-06-01T00:20:00.000Z'];
      const uses = made.map((eventTime, i) => aLateUse(eventTime, recordedAt[i] as string, `late-${i}`));
      for (const use of [...uses].reverse()) await log.append(use);
      await log.append(aLateUse('2026-06-01T00:00:00Z', '2026-05-31T23:50:00.000Z', 'before'));

      // Act
      const found = await log.usesRecordedBetween('2026-05-31T23:55:00.000Z', '2026-06-01T00:20:00.000Z', 100);

      // Assess
      expect(found).toEqual({ uses: uses, truncated: false });
      const shards = new Set((await scanRawTable(dynamodb().documentClient, tables.audit)).filter((item) => item.type === 'credential.used').map((item) => item.GSI5PK));
      expect(shards.size).toBeGreaterThan(1);
    });

    it('stamps a use with the time it is written, hashed with it', async () => {
      // Prepare
      const use = aUse(issuance, { eventTime: '2026-05-31T09:00:00Z' });
      const before = new Date().toISOString();

      // Act
      await log.append(use);
      const [stored] = (await scanRawTable(dynamodb().documentClient, tables.audit)).filter((item) => item.type === 'credential.used');

      // Assess
      expect(String(stored?.recordedAt) >= before && String(stored?.recordedAt) <= new Date().toISOString()).toBe(true);
      expect(stored?.GSI5SK).toBe(`${String(stored?.recordedAt)}#${use.id}`);
      expect((await log.verify(new Date('2026-05-31T00:00:00Z'), new Date('2026-05-31T00:00:00Z'))).ok).toBe(true);
    });

    it('reads no more than asked and says there is more, without holding every use in memory', async () => {
      // Prepare
      const uses = Array.from({ length: 30 }, (_, i) => aLateUse(`2026-06-01T10:${String(i).padStart(2, '0')}:00Z`, `2026-06-01T11:${String(i).padStart(2, '0')}:00.000Z`, `many-${i}`));
      for (const use of uses) await log.append(use);

      // Act
      const page = await log.usesRecordedBetween('2026-06-01T11:00:00.000Z', '2026-06-01T11:59:00.000Z', 12);
      const all = await log.usesRecordedBetween('2026-06-01T11:00:00.000Z', '2026-06-01T11:59:00.000Z', 30);

      // Assess
      expect(page).toEqual({ uses: uses.slice(0, 12), truncated: true });
      expect(all).toEqual({ uses, truncated: false });
    });

    it('indexes only a recording time in the writer\'s own form, so no other can sort a use out of every window', async () => {
      // Act
      const keysOf = (recordedAt: string) => auditItem(aLateUse('2026-06-01T10:00:00Z', recordedAt, 'odd'), 0);

      // Assess
      expect(keysOf('2026-06-01T11:00:00.000Z')).toMatchObject({ GSI5PK: 'RECORDED#2026-06-01#u0' });
      for (const odd of ['Mon, 01 Jun 2026 11:00:00 GMT', '2026-06-01T16:00:00+05:00', 'yesterday']) expect(keysOf(odd).GSI5PK).toBeUndefined();
    });

    it('leaves out a use whose record was changed after it was written', async () => {
      // Prepare: someone moves a recorded use out of the window by editing its recording time
      const use = aLateUse('2026-06-01T10:00:00Z', '2026-06-01T11:00:00.000Z', 'edited');
      await log.append(use);
      await dynamodb().documentClient.send(
        new UpdateCommand({ TableName: tables.audit, Key: { PK: principalPk(use.principal), SK: use.id }, UpdateExpression: 'SET recordedAt = :t', ExpressionAttributeValues: { ':t': '2026-06-01T11:01:00.000Z' } }),
      );

      // Act
      const found = await log.usesRecordedBetween('2026-06-01T10:30:00.000Z', '2026-06-01T11:30:00.000Z', 10);

      // Assess
      expect(found).toEqual({ uses: [], truncated: false });
    });
  });

  describe("items put into the table behind tvm's back", () => {
    // Someone with write access to the table tries to pin an unknown session on an innocent principal.
    const INNOCENT = 'innocent@example.com';
    const UNKNOWN_KEY = 'ASIAUNKNOWNSESSION01';
    const forgedIssuance = () =>
      anIssuance({ accessKeyId: UNKNOWN_KEY, principal: INNOCENT, at: '2026-06-01T11:29:00.000Z', id: '2026-06-01T11:29:00.000Z#forged' });
    const put = (item: Record<string, unknown>) => dynamodb().documentClient.send(new PutCommand({ TableName: tables.audit, Item: item }));

    // The last column: whether verify of today finds it (an item filed under another day's chain is
    // found by verify of that day, not by today's).
    it.each<[string, () => Record<string, unknown>, boolean]>([
      ['without chain fields', () => auditItem(forgedIssuance(), 0), true],
      ['with chain fields whose hash does not recompute', () => ({ ...linkItem(auditItem(forgedIssuance(), 0), undefined), grantId: 'grant-9999' }), true],
      ['hashed right but filed under the chain of another day', () => linkItem({ ...auditItem(forgedIssuance(), 0), GSI3PK: 'TIME#2020-01-01#0' }, undefined), false],
      [
        'hashed right but filed under a chain of uses',
        () => linkItem({ ...auditItem(forgedIssuance(), 0), GSI3PK: `TIME#${TODAY}#u0`, GSI4PK: `TYPE#credential.issued#${TODAY}#u0` }, undefined),
        true,
      ],
    ])('ignores a forged credential.issued %s, with a warning', async (_, forged, verifiedToday) => {
      // Prepare
      const warnings: Record<string, unknown>[] = [];
      const reader = newLog({ warn: (_message, data) => warnings.push(data) });
      const item = forged();
      await put(item);

      // Act
      const [issuance, record, live, page] = await Promise.all([
        reader.findIssuance(UNKNOWN_KEY),
        reader.controlEventsForKey(UNKNOWN_KEY),
        reader.liveIssuancesOnRole(ROLE_ARN, FIXED_NOW),
        reader.query({ accessKeyId: UNKNOWN_KEY, limit: 10 }),
      ]);
      const report = await newLog({ shards: 1 }).verify(FIXED_NOW, FIXED_NOW);

      // Assess
      expect([issuance, record, live.filter((event) => event.accessKeyId === UNKNOWN_KEY), page.events]).toEqual([undefined, [], [], []]);
      expect(warnings).toContainEqual(expect.objectContaining({ id: item.id, GSI1PK: `KEY#${UNKNOWN_KEY}` }));
      // Reported by its id, or as a chain with no head (a first link nobody chained it to).
      expect(report.broken.some((link) => link.id === item.id || link.id === `chain:${TODAY}#u0`)).toBe(verifiedToday);
    });

    it('ignores a use hashed right but filed under a chain of issuance, with a warning', async () => {
      // Prepare
      const warnings: Record<string, unknown>[] = [];
      const reader = newLog({ warn: (_message, data) => warnings.push(data) });
      const forged = aUse(anIssuance({ accessKeyId: UNKNOWN_KEY }));
      const item = linkItem({ ...auditItem(forged, 0), GSI3PK: `TIME#${TODAY}#0`, GSI4PK: `TYPE#credential.used#${TODAY}#0` }, undefined);
      await put(item);

      // Act
      const uses = await reader.usesOfKey({ accessKeyId: UNKNOWN_KEY, limit: 10 });

      // Assess
      expect(uses.uses).toEqual([]);
      expect(warnings).toContainEqual(expect.objectContaining({ id: item.id, GSI3PK: `TIME#${TODAY}#0` }));
    });

    /**
     * Puts `count` copies of the stored item of event `id` beside it, under other base keys. Where
     * the genuine item falls in the run of its index key is DynamoDB's choice (not the base keys'
     * order); with these keys it is past the first requests of a page, which is what the tests need.
     */
    async function padWithCopies(id: string | undefined, count: number, change: (i: number) => Record<string, unknown> = () => ({})): Promise<void> {
      const item = (await scanRawTable(dynamodb().documentClient, tables.audit)).find((candidate) => candidate.id === id);
      if (!item) throw new Error(`no stored item ${id}`);
      const copies = Array.from({ length: count }, (_, i) => ({ ...item, PK: `${String(item.PK)}#copy-${i}`, ...change(i) }));
      await putRawItems(dynamodb().documentClient, tables.audit, copies);
    }

    /** Three denials a few minutes apart, in one shard, written by a process of `layout`. */
    async function threeDenials(layout: 'legacy' | 'chain-keyed' = 'legacy'): Promise<AuditEvent[]> {
      const events = [10, 20, 30].map((minutes) => anEvent(minutes, { type: 'credential.denied' }));
      await appendAll(events, newLog({ layout, shards: 1 }));
      return events;
    }

    const padding = () => jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const PADDING_REPORT = 'audit index partition padded with items tvm did not write';

    afterEach(() => jest.restoreAllMocks());

    it.each(['legacy', 'chain-keyed'] as const)(
      'pages past an index partition padded with copies of one event id (%s layout): every cursor moves, every event is reached once',
      async (layout) => {
        // Prepare: 200 copies of the middle denial
        const events = await threeDenials(layout);
        await padWithCopies(events[1]?.id, 200);

        // Act
        const pages = await readAllPages(newLog({ layout, shards: 1, warn: () => undefined }), { type: 'credential.denied', from: minutesAgo(60), limit: 1 });

        // Assess
        expect(pages.ids).toEqual(newestFirst(events));
      },
      30_000,
    );

    it.each([false, true])("pages a key's uses past copies of one use's id padded into its partition (oldest first: %s)", async (oldestFirst) => {
      // Prepare: three uses of a key; 200 copies of the middle one
      const issuance = anIssuance();
      const uses = ['11:31', '11:32', '11:33'].map((time) => aUse(issuance, { eventTime: `2026-06-01T${time}:00Z` }));
      await appendAll([issuance, ...uses], newLog({ layout: 'chain-keyed', shards: 1 }));
      await padWithCopies(uses[1]?.id, 200);
      const reader = newLog({ layout: 'chain-keyed', shards: 1, warn: () => undefined });

      // Act
      const cursors: string[] = [];
      const found: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await reader.usesOfKey({ accessKeyId: issuance.accessKeyId, oldestFirst, limit: 1, ...(cursor ? { cursor } : {}) });
        found.push(...ids(page.uses));
        cursor = page.nextCursor;
        if (cursor) cursors.push(cursor);
      } while (cursor && cursors.length < 20);

      // Assess: the walk ended, its cursors all differ, and each use came once
      expect(cursor).toBeUndefined();
      expect(new Set(cursors).size).toBe(cursors.length);
      expect(found).toEqual(oldestFirst ? ids(uses) : ids(uses).reverse());
    }, 30_000);

    it.each([1, 2, 3])('never ends a page inside a run of intact copies of one id, which the next page would skip (limit %i)', async (limit) => {
      // Prepare: three forged copies of the middle denial, hashed right, under other principals
      const events = await threeDenials();
      const shard = 0;
      const forged = ['mallory', 'trudy', 'eve'].map((name) => ({ ...(events[1] as AuditEvent), principal: `${name}@example.com` }));
      await Promise.all(forged.map((event) => put(linkItem(auditItem(event, shard), undefined))));

      // Act
      const pages = await readAllPages(newLog({ shards: 1, warn: () => undefined }), { type: 'credential.denied', from: minutesAgo(60), limit });

      // Assess: the genuine event and every copy, each once
      expect(pages.ids).toEqual([events[0]?.id, ...Array(4).fill(events[1]?.id), events[2]?.id]);
    });

    it.each(['2000-01-01T00:00:00.000Z#junk', '2099-01-01T00:00:00.000Z#junk'])(
      "walks on to older days past items of another date padded into a day's partition (%s…)",
      async (junkKey) => {
        // Prepare: a denial today and one yesterday; 30 items in today's partition keyed as if of another date
        const events = [10, 24 * 60 + 10].map((minutes) => anEvent(minutes, { type: 'credential.denied' }));
        await appendAll(events, newLog({ shards: 1 }));
        await padWithCopies(events[0]?.id, 30, (i) => ({ SK: `${junkKey}${String(i).padStart(2, '0')}` }));

        // Act
        const pages = await readAllPages(newLog({ shards: 1, warn: () => undefined }), { type: 'credential.denied', limit: 1 });

        // Assess
        expect(pages.ids).toEqual(newestFirst(events));
      },
    );

    it('reports a run of copies longer than a page may read, and pages on past it', async () => {
      // Prepare: 1,100 copies of the middle denial (more than 10 requests of 100 read)
      const events = await threeDenials('chain-keyed');
      await padWithCopies(events[1]?.id, 1_100);
      const reported = padding();

      // Act
      const pages = await readAllPages(newLog({ layout: 'chain-keyed', shards: 1, warn: () => undefined }), { type: 'credential.denied', from: minutesAgo(60), limit: 5 });

      // Assess: the newest and the oldest are reached, each once; the run is reported
      expect(pages.ids.filter((id) => id !== events[1]?.id)).toEqual([events[0]?.id, events[2]?.id]);
      expect(reported).toHaveBeenCalledWith(PADDING_REPORT, expect.objectContaining({ key: events[1]?.id }));
    }, 30_000);

    it.each(['legacy', 'chain-keyed'] as const)(
      'goes on past items whose key no event has, padded into a partition, with cursors the API takes back, and reports them (%s layout)',
      async (layout) => {
        // Prepare: between the first two denials, 30 items whose sort key is no event id (a space in it)
        const events = await threeDenials(layout);
        const sortKey = layout === 'legacy' ? 'SK' : 'id';
        await padWithCopies(events[1]?.id, 30, (i) => ({ [sortKey]: `${minutesAgo(15)}#a b${String(i).padStart(2, '0')}` }));
        const reported = padding();

        // Act
        const pages = await readAllPages(newLog({ layout, shards: 1, warn: () => undefined }), { type: 'credential.denied', from: minutesAgo(60), limit: 1 });

        // Assess
        expect(pages.ids).toEqual(newestFirst(events));
        expect(reported).toHaveBeenCalledWith(PADDING_REPORT, expect.objectContaining({ key: expect.stringContaining('#a b') }));
      },
    );

    it('still finds the genuine issuance when a forged one claims the same key', async () => {
      // Prepare
      const genuine = anIssuance({ accessKeyId: UNKNOWN_KEY, at: '2026-06-01T11:30:00.000Z' });
      await log.append(genuine);
      await put(auditItem(forgedIssuance(), 0));

      // Act
      const found = await newLog({ warn: () => undefined }).findIssuance(UNKNOWN_KEY);

      // Assess
      expect(found).toEqual(genuine);
    });
  });

  describe('when the table is missing', () => {
    it('throws AuditUnavailableError from append, with the SDK error as cause', async () => {
      // Prepare
      const missing = newLog({ tableName: 'tvm-no-such-stage-audit' });

      // Act
      const error = await captureError(missing.append(anEvent(0)));

      // Assess
      expect(error).toBeInstanceOf(AuditUnavailableError);
      expect(error.cause).toBeInstanceOf(ResourceNotFoundException);
    });

    it('throws StoreUnavailableError from every read, with the SDK error as cause', async () => {
      // Prepare
      const missing = newLog({ tableName: 'tvm-no-such-stage-audit' });

      // Act
      const errors = await Promise.all([
        captureError(missing.query({ principal: DEFAULT_PRINCIPAL_ID, limit: 10 })),
        captureError(missing.controlEventsForKey('ASIAIOSFODNN7EXAMPLE')),
        captureError(missing.usesOfKey({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE', limit: 10 })),
        captureError(missing.findIssuance('ASIAIOSFODNN7EXAMPLE')),
        captureError(missing.isRecordedOnce('alert:x')),
        captureError(missing.verify(FIXED_NOW, FIXED_NOW)),
      ]);

      // Assess
      for (const error of errors) {
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(error.cause).toBeInstanceOf(ResourceNotFoundException);
      }
    });
  });
});
