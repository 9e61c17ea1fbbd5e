// DynamoDbAuditLog against the real DynamoDB Local, through the real SDK clients: the append-only
// condition, the index keys every item carries, reverse-ordered Queries, filters applied after
// Limit, cursor pagination, and the walk over the sharded time index. Every test gets fresh tables.
import { ConditionalCheckFailedException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { BY_ACCESS_KEY_INDEX, BY_PROFILE_INDEX, principalPk, shardOf } from '../../shared/adapters/audit-keys.js';
import { DynamoDbAuditLog, type DynamoDbAuditLogOptions } from '../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import {
  adminEvent,
  eventBase,
  type AuditEvent,
  type AuditEventType,
  type CredentialIssuedEvent,
} from '../../shared/domain/audit.js';
import { AuditUnavailableError, StoreUnavailableError } from '../../shared/domain/errors.js';
import type { IssuedCredentials } from '../../shared/domain/model.js';
import type { AuditQuery } from '../../shared/domain/ports.js';
import { vendCredentials, type VendDeps } from '../../shared/domain/vend-credentials.js';
import { aGrant, aPrincipal, aProfile, DEFAULT_PRINCIPAL_ID, FIXED_NOW } from '../fixtures/builders.js';
import {
  captureError,
  getRawItem,
  queryRawPartition,
  scanRawTable,
  useDynamoDbLocal,
  type TestTables,
} from './support/dynamodb.js';

const SHARDS = 4;
const MINUTE = 60_000;
const DAY = 86_400_000;
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
    now: () => FIXED_NOW,
    ...options,
  });
}

/** An admin event `minutesBefore` FIXED_NOW; the unique part of the id is derived from the inputs. */
function anEvent(
  minutesBefore: number,
  overrides: { principal?: string; type?: AuditEventType; profile?: string | null } = {},
): AuditEvent {
  const at = new Date(FIXED_NOW.getTime() - minutesBefore * MINUTE);
  const principal = aPrincipal({ id: overrides.principal ?? DEFAULT_PRINCIPAL_ID });
  const unique = `e${minutesBefore}-${principal.id.replace(/\W/g, '')}`;
  const base = eventBase(at, unique, principal, { requestId: `req-${unique}` });
  const profile = overrides.profile === null ? {} : { profile: overrides.profile ?? 'dev-readonly' };
  const type = overrides.type ?? 'profile.put';
  if (type === 'credential.denied') {
    return { ...base, type, profile: profile.profile ?? 'dev-readonly', code: 'NO_GRANT', message: 'no grant' };
  }
  if (type === 'credential.issued') throw new Error('use aCredentialIssuedEvent()');
  return { ...base, type, ...profile };
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

/** Every attribute a credential.issued item may have: the index keys and the event's public fields. */
const CREDENTIAL_ISSUED_ATTRIBUTES = [
  ...['PK', 'SK', 'GSI1PK', 'GSI2PK', 'GSI3PK'],
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
    cursor = page.nextCursor;
    if (pages.length > 50) throw new Error('pagination does not end');
  } while (cursor);
  return { sizes: pages.map((page) => page.length), ids: pages.flat().map((event) => event.id) };
}

const newestFirst = (events: AuditEvent[]) => events.map((event) => event.id).sort().reverse();

describe('DynamoDbAuditLog', () => {
  describe('append', () => {
    it('stores the event under its principal, with the profile and time index keys', async () => {
      // Prepare
      const event = anEvent(0, { profile: 'prod-admin' });

      // Act
      await log.append(event);

      // Assess
      const item = await getRawItem(dynamodb().documentClient, tables.audit, { PK: principalPk(event.principal), SK: event.id });
      expect(item).toEqual({
        ...event,
        PK: `PRINCIPAL#${DEFAULT_PRINCIPAL_ID}`,
        SK: event.id,
        GSI2PK: 'PROFILE#prod-admin',
        GSI3PK: `TIME#2026-06-01#${shardOf(event.id, SHARDS)}`,
      });
    });

    it('gives an event without a profile no profile key', async () => {
      // Prepare
      const event = anEvent(0, { profile: null });

      // Act
      await log.append(event);

      // Assess
      const [item] = await scanRawTable(dynamodb().documentClient, tables.audit);
      expect(Object.keys(item ?? {}).sort()).toEqual(['GSI3PK', 'PK', 'SK', 'at', 'id', 'principal', 'requestId', 'type']);
    });

    it('stores a credential.issued event with exactly its public fields, findable by access key and profile', async () => {
      // Prepare
      const event = aCredentialIssuedEvent();

      // Act
      await log.append(event);

      // Assess
      const [item, ...others] = await scanRawTable(dynamodb().documentClient, tables.audit);
      expect(others).toEqual([]);
      expect(Object.keys(item ?? {}).sort()).toEqual(CREDENTIAL_ISSUED_ATTRIBUTES);
      expect(item).toMatchObject({ GSI1PK: `KEY#${ISSUED.accessKeyId}`, GSI2PK: 'PROFILE#dev-readonly' });
      const stored = JSON.stringify(item);
      expect(stored).not.toContain(ISSUED.secretAccessKey);
      expect(stored).not.toContain(ISSUED.sessionToken);
      const byKey = await queryRawPartition(dynamodb().documentClient, tables.audit, `KEY#${ISSUED.accessKeyId}`, BY_ACCESS_KEY_INDEX);
      const byProfile = await queryRawPartition(dynamodb().documentClient, tables.audit, 'PROFILE#dev-readonly', BY_PROFILE_INDEX);
      expect(byKey.map((found) => found.id)).toEqual([event.id]);
      expect(byProfile.map((found) => found.id)).toEqual([event.id]);
    });

    it('stores what vendCredentials records for an issuance: public fields only, never the secret or token', async () => {
      // Prepare
      const store = new DynamoDbDelegationStore(dynamodb().documentClient, {
        tableName: tables.delegations,
        auditTableName: tables.audit,
        auditShards: SHARDS,
      });
      const admin = aPrincipal({ id: 'admin@example.com' });
      const setup = (type: 'profile.put' | 'grant.created', unique: string) =>
        adminEvent(FIXED_NOW, unique, type, admin, { requestId: unique }, { profile: 'dev-readonly' });
      await store.putProfile(aProfile({ scope: { actions: ['s3:GetObject'], resources: ['*'] } }), setup('profile.put', 'setup1'));
      await store.createGrant(aGrant(), setup('grant.created', 'setup2'));
      let id = 0;
      const deps: VendDeps = {
        store,
        lockdown: { getLockdown: async () => undefined, putLockdown: async () => false },
        issuer: { assumeRole: () => Promise.resolve(ISSUED) },
        audit: log,
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

    it('spreads one day over every time shard, and only over those', async () => {
      // Prepare
      const events = Array.from({ length: 40 }, (_, i) => anEvent(i));

      // Act
      await appendAll(events);

      // Assess
      const items = await scanRawTable(dynamodb().documentClient, tables.audit);
      const timeKeys = new Set(items.map((item) => item.GSI3PK));
      expect([...timeKeys].sort()).toEqual(['TIME#2026-06-01#0', 'TIME#2026-06-01#1', 'TIME#2026-06-01#2', 'TIME#2026-06-01#3']);
      for (const item of items) expect(item.GSI3PK).toBe(`TIME#2026-06-01#${shardOf(String(item.id), SHARDS)}`);
    });

    it('never overwrites: a second event with the same id throws AuditUnavailableError and changes nothing', async () => {
      // Prepare
      const first = anEvent(0, { type: 'profile.put' });
      await log.append(first);
      const impostor: AuditEvent = { ...first, type: 'profile.deleted', requestId: 'req-other' };

      // Act
      const error = await captureError(log.append(impostor));

      // Assess
      expect(error).toBeInstanceOf(AuditUnavailableError);
      expect(error.cause).toBeInstanceOf(ConditionalCheckFailedException);
      const item = await getRawItem(dynamodb().documentClient, tables.audit, { PK: principalPk(first.principal), SK: first.id });
      expect(item).toMatchObject({ type: 'profile.put', requestId: first.requestId });
    });

    it('treats finding its own identical write (a retry after a lost response) as success', async () => {
      // Prepare: the first attempt landed, its response was lost
      const event = aCredentialIssuedEvent();
      await log.append(event);

      // Act
      await log.append(event);

      // Assess
      const page = await log.query({ principal: event.principal, limit: 10 });
      expect(page.events).toEqual([event]);
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
      expect(pages.sizes).toEqual([5, 5, 5, 4]);
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

    it('merges shards read to different depths without gaps or duplicates', async () => {
      // Prepare: with limit 1 a request reads 2 items, so one query reads at most 20 of a partition.
      // Yesterday, shards 0 and 1 hold more non-matching events than that (shard 0 densely, so one
      // read reaches less far back than in shard 1), with a match deep in shard 0; shards 2 and 3
      // hold older matches that a single read reaches at once.
      const shardOfEvent = (event: AuditEvent) => shardOf(event.id, SHARDS);
      const yesterday = (from: number, count: number, type: AuditEventType, principal = DEFAULT_PRINCIPAL_ID) =>
        Array.from({ length: count }, (_, i) => anEvent(from + i, { type, principal }));
      const denseNoise = yesterday(1000, 400, 'profile.put', BOB).filter((event) => shardOfEvent(event) === 0).slice(0, 60);
      const sparseNoise = yesterday(1000, 439, 'profile.put', 'carol@example.com')
        .filter((event) => shardOfEvent(event) === 1)
        .filter((_, i) => i % 3 === 0);
      const deepMatch = yesterday(1200, 100, 'credential.denied').filter((event) => shardOfEvent(event) === 0).slice(0, 1);
      const olderMatches = yesterday(1400, 20, 'credential.denied').filter((event) => shardOfEvent(event) > 1).slice(0, 3);
      const todaysMatch = anEvent(30, { type: 'credential.denied' });
      const matches = [todaysMatch, ...deepMatch, ...olderMatches];
      expect(matches).toHaveLength(5);
      expect(sparseNoise.length).toBeGreaterThan(20);
      await appendAll([...denseNoise, ...sparseNoise, ...matches]);

      // Act
      const pages = await readAllPages(log, { type: 'credential.denied', limit: 1 });

      // Assess
      expect(pages.ids).toEqual(newestFirst(matches));
    }, 30_000);

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

    it('throws StoreUnavailableError from query, with the SDK error as cause', async () => {
      // Prepare
      const missing = newLog({ tableName: 'tvm-no-such-stage-audit' });

      // Act
      const error = await captureError(missing.query({ principal: DEFAULT_PRINCIPAL_ID, limit: 10 }));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.cause).toBeInstanceOf(ResourceNotFoundException);
    });
  });
});

