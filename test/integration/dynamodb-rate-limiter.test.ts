// DynamoDbRateLimiter against the real DynamoDB Local: what a mock can't prove — ADD is atomic under
// concurrency (exactly the limit allowed), two limiters (two Lambda instances, each with its own
// client) share one count, a new window starts from zero, and the counters stay out of every
// listing of the table they live in. The tables are made once (each test counts for principals of
// its own), which keeps the file fast.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbRateLimiter, RATE_COUNTER_RETENTION_SECONDS, rateLimitKey } from '../../shared/adapters/dynamodb-rate-limiter.js';
import { adminEvent } from '../../shared/domain/audit.js';
import { StoreUnavailableError } from '../../shared/domain/errors.js';
import type { RateLimitDecision } from '../../shared/domain/ports.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { captureError, getRawItem, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

const LIMIT = 30;
/** 15 s into the minute 12:00. */
const NOW = new Date(FIXED_NOW.getTime() + 15_000);
const NEXT_MINUTE = new Date(FIXED_NOW.getTime() + 60_000);

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let secondClient: DynamoDBDocumentClient | undefined;

beforeAll(async () => {
  tables = await dynamodb().createTestTables();
});

afterEach(() => {
  secondClient?.destroy();
  secondClient = undefined;
});

function aLimiter(documentClient = dynamodb().documentClient, tableName = tables.delegations): DynamoDbRateLimiter {
  return new DynamoDbRateLimiter(documentClient, { tableName, limit: LIMIT });
}

/** Another SDK client on the same DynamoDB Local, as a second Lambda instance would have. */
async function anotherClient(): Promise<DynamoDBDocumentClient> {
  const endpoint = await dynamodb().client.config.endpoint?.();
  if (!endpoint) throw new Error('DynamoDB Local has no endpoint');
  const client = new DynamoDBClient({
    endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  secondClient = DynamoDBDocumentClient.from(client);
  return secondClient;
}

async function takeTimes(limiter: DynamoDbRateLimiter, count: number, principal: string, at = NOW): Promise<RateLimitDecision[]> {
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < count; i++) decisions.push(await limiter.take(principal, at));
  return decisions;
}

/** `count` vends at once, for preparing a count quickly: which of them is refused is up to DynamoDB. */
function takeAtOnce(limiter: DynamoDbRateLimiter, count: number, principal: string, at = NOW): Promise<RateLimitDecision[]> {
  return Promise.all(Array.from({ length: count }, () => limiter.take(principal, at)));
}

const allowed = (decisions: readonly RateLimitDecision[]) => decisions.filter((decision) => decision.allowed).length;

describe('DynamoDbRateLimiter on DynamoDB Local', () => {
  it('allows 30 vends in a minute and refuses the 31st, marked as the first refusal, with the wait', async () => {
    // Prepare
    const limiter = aLimiter();
    const first30 = await takeAtOnce(limiter, LIMIT, 'ana@example.com');

    // Act
    const [thirtyFirst, thirtySecond] = await takeTimes(limiter, 2, 'ana@example.com');

    // Assess
    expect(allowed(first30)).toBe(LIMIT);
    expect(thirtyFirst).toEqual({ allowed: false, retryAfterSeconds: 45, firstRefusal: true });
    expect(thirtySecond).toEqual({ allowed: false, retryAfterSeconds: 45, firstRefusal: false });
  });

  it('keeps one counter item per principal and minute, with its TTL', async () => {
    // Prepare
    await takeTimes(aLimiter(), 3, 'alice@example.com');

    // Act
    const item = await getRawItem(dynamodb().documentClient, tables.delegations, rateLimitKey('alice@example.com', FIXED_NOW));

    // Assess
    expect(item).toEqual({
      PK: 'RATE#alice@example.com',
      SK: '2026-06-01T12:00:00.000Z',
      count: 3,
      expiresAt: Date.parse('2026-06-01T12:01:00.000Z') / 1000 + RATE_COUNTER_RETENTION_SECONDS,
    });
  });

  it('shares the count between two limiters with their own clients, as two Lambda instances would', async () => {
    // Prepare
    const instanceA = aLimiter();
    const instanceB = aLimiter(await anotherClient());
    await Promise.all([takeAtOnce(instanceA, 15, 'bea@example.com'), takeAtOnce(instanceB, 15, 'bea@example.com')]);

    // Act
    const [onA] = await takeTimes(instanceA, 1, 'bea@example.com');
    const [onB] = await takeTimes(instanceB, 1, 'bea@example.com');

    // Assess
    expect(onA).toMatchObject({ allowed: false, firstRefusal: true });
    expect(onB).toMatchObject({ allowed: false, firstRefusal: false });
  });

  it('starts the next minute from zero', async () => {
    // Prepare: the quota used up, and refused, in 12:00
    const limiter = aLimiter();
    await takeAtOnce(limiter, LIMIT + 1, 'cem@example.com');

    // Act
    const next = await takeAtOnce(limiter, LIMIT, 'cem@example.com', NEXT_MINUTE);
    const [over] = await takeTimes(limiter, 1, 'cem@example.com', NEXT_MINUTE);

    // Assess
    expect(allowed(next)).toBe(LIMIT);
    expect(over).toEqual({ allowed: false, retryAfterSeconds: 60, firstRefusal: true });
  });

  it('counts each principal apart', async () => {
    // Prepare
    const limiter = aLimiter();
    await takeAtOnce(limiter, LIMIT + 1, 'dan@example.com');

    // Act
    const [bob] = await takeTimes(limiter, 1, 'bob@example.com');

    // Assess
    expect(bob).toEqual({ allowed: true });
  });

  it('allows exactly 30 of 50 concurrent vends across two clients, with exactly one first refusal', async () => {
    // Prepare
    const limiters = [aLimiter(), aLimiter(await anotherClient())];

    // Act
    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => limiters[i % 2]?.take('carol@example.com', NOW)));

    // Assess
    const settled = decisions as RateLimitDecision[];
    expect(allowed(settled)).toBe(LIMIT);
    expect(settled.filter((decision) => !decision.allowed && decision.firstRefusal)).toHaveLength(1);
  });

  it('leaves the counters out of every profile and grant listing of the table they share', async () => {
    // Prepare: tables of its own, so the listings can be exact
    const own = await dynamodb().createTestTables();
    const store = new DynamoDbDelegationStore(dynamodb().documentClient, {
      tableName: own.delegations,
      auditTableName: own.audit,
      auditShards: 4,
    });
    const admin = aPrincipal({ id: 'admin@example.com' });
    await store.putProfile(aProfile(), adminEvent(FIXED_NOW, 'e1', 'profile.put', admin, { requestId: 'r1' }, { profile: 'dev-readonly' }));
    await store.createGrant(aGrant(), adminEvent(FIXED_NOW, 'e2', 'grant.created', admin, { requestId: 'r2' }, { profile: 'dev-readonly' }));
    await takeTimes(aLimiter(dynamodb().documentClient, own.delegations), 2, 'alice@example.com');

    // Act
    const [grants, profiles] = await Promise.all([store.listGrants({}), store.listProfiles()]);

    // Assess
    expect(grants.map((grant) => grant.id)).toEqual([aGrant().id]);
    expect(profiles.map((profile) => profile.name)).toEqual([aProfile().name]);
  });

  it('refuses with STORE_UNAVAILABLE when the table is not there', async () => {
    // Prepare
    const limiter = aLimiter(dynamodb().documentClient, 'tvm-missing-delegations');

    // Act
    const error = await captureError(limiter.take('alice@example.com', NOW));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });
});
