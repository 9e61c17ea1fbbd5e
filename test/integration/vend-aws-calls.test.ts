// What one vend asks of AWS, counted on the wire: the real vend handler (functions/vend-credentials.ts,
// its composition, adapters and SDK clients) against DynamoDB Local and the local STS, each behind a
// counting proxy (bench/aws-call-counter.ts). The budget per vend: at most one STS call, one audit
// write, and 3 + G DynamoDB reads for a caller in G groups, all in one round trip: the profile and
// the lockdown by key, and one query per subject (the caller and each group) of its own active
// grants (never the profile's whole partition). A refusal for want of a grant adds 2 per
// subject, one item each at most, to explain itself. The one other write is the caller's
// vend-quota counter. The exact list of calls is asserted, so an added call, a retry on the happy
// path or a second audit write fails these tests.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, waitUntilTableNotExists } from '@aws-sdk/client-dynamodb';
import { jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { startCallCounter, summarizeVendCalls, type AwsCall, type CallCounter } from '../../bench/aws-call-counter.js';
import { lambdaContext, vendEvent } from '../../bench/lambda-invocation.js';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts, type LocalSts, type SignedRequestRecord } from '../../local/sts/local-sts.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { adminEvent } from '../../shared/domain/audit.js';
import { aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { answer, newSigningKey, sign, startRecordingServer, withClaims, type RecordingServer, type SigningKey } from '../fixtures/jwks.js';
import { useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'tvm';
const PROFILE = 'counted';
const GROUP = 'counted-callers';
const ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-readonly';
/** Long enough for a call the handler started but did not wait for to reach a proxy. */
const SETTLE_MS = 50;

const dynamodb = useDynamoDbLocal();

let tables: TestTables;
let sts: LocalSts;
/** What the local STS itself saw: every signed request, with its error if the signature failed. */
const stsRequests: SignedRequestRecord[] = [];
let jwks: RecordingServer;
let key: SigningKey;
let dynamodbCalls: CallCounter;
let stsCalls: CallCounter;
let handler: Handler;

beforeAll(async () => {
  tables = await dynamodb().createTestTables();
  sts = await startLocalSts({ port: 0, roles: loadLocalRoles(), callers: [LOCAL_TVM_CALLER], onSignedRequest: (record) => stsRequests.push(record) });
  key = await newSigningKey('ES256', 'k1');
  jwks = await startRecordingServer(answer.keys(() => [key.publicJwk]));
  const endpoint = await dynamodb().client.config.endpoint?.();
  if (!endpoint) throw new Error('DynamoDB Local has no endpoint');
  dynamodbCalls = await startCallCounter({ target: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}` });
  stsCalls = await startCallCounter({ target: sts.url });
  await seedProfileAndGrant();

  // The environment serverless.yml gives the function, pointed at the proxies; read once, at load.
  Object.assign(process.env, {
    TVM_STAGE: tables.stage,
    TVM_DELEGATIONS_TABLE: tables.delegations,
    TVM_AUDIT_TABLE: tables.audit,
    TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${jwks.url}/jwks.json` }]),
    TVM_ROLE_ARN_PATTERN: 'arn:aws:iam::000000000000:role/tvm-*',
    TVM_AUDIT_SHARDS: '4',
    TVM_STS_ENDPOINT: stsCalls.url,
    TVM_DYNAMODB_ENDPOINT: dynamodbCalls.url,
    // As serverless-offline runs it: endpoint overrides are honoured only there.
    IS_OFFLINE: 'true',
    AWS_ACCESS_KEY_ID: LOCAL_TVM_CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_TVM_CALLER.secretAccessKey,
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  // A developer's own session or profile must not sign these calls.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  // Fresh module instances for the handler, as in a Lambda instance of its own: the seed's audit
  // writes taught this file's copy of the audit chains their heads, and must not teach the handler's.
  jest.resetModules();
  ({ handler } = (await import('../../functions/vend-credentials.js')) as { handler: Handler });
});

afterAll(async () => {
  await dynamodbCalls?.close();
  await stsCalls?.close();
  await jwks?.close();
  await sts?.close();
});

/** The profile (on a role the local STS knows) and a grant to GROUP, written as the admin routes write them. */
async function seedProfileAndGrant(): Promise<void> {
  const admin = aPrincipal({ id: 'admin@example.com' });
  const store = new DynamoDbDelegationStore(dynamodb().documentClient, {
    tableName: tables.delegations,
    auditTableName: tables.audit,
    auditShards: 4,
  });
  const now = new Date();
  await store.putProfile(
    aProfile({ name: PROFILE, roleArn: ROLE }),
    adminEvent(now, randomUUID(), 'profile.put', admin, { requestId: 'seed-1' }, { profile: PROFILE }),
  );
  await store.createGrant(
    aGrant({
      id: 'grant-counted',
      profile: PROFILE,
      subject: { type: 'group', id: GROUP },
      validFrom: new Date(now.getTime() - 60_000).toISOString(),
      validUntil: new Date(now.getTime() + 3_600_000).toISOString(),
    }),
    adminEvent(now, randomUUID(), 'grant.created', admin, { requestId: 'seed-2' }, { profile: PROFILE }),
  );
}

interface CountedVend {
  readonly status: number;
  readonly body: { readonly error?: { readonly code?: string } };
  /** Every AWS call the vend made, in the order they reached the proxies. */
  readonly calls: readonly AwsCall[];
  /** The requests the local STS received meanwhile, as it saw them. */
  readonly stsRequests: readonly SignedRequestRecord[];
}

let callers = 0;

/**
 * One POST /credentials by a fresh member of the granted group (or of others), and every AWS call it
 * made. A fresh caller each time, so the per-principal quota never refuses a vend of this file.
 */
async function vendCounted(options: { readonly groups?: readonly string[] } = {}): Promise<CountedVend> {
  const now = Math.floor(Date.now() / 1000);
  const token = await sign(
    key,
    withClaims({ iss: ISSUER, aud: AUDIENCE, sub: `caller-${++callers}@example.com`, groups: options.groups ?? [GROUP], iat: now, exp: now + 300 }),
  );
  dynamodbCalls.reset();
  stsCalls.reset();
  const stsSeen = stsRequests.length;

  const response = await handler(vendEvent(token, JSON.stringify({ profile: PROFILE, durationSeconds: 900 }), 'vend-aws-calls.test'), lambdaContext());
  // A call the handler fired without waiting for (a background write) belongs to this vend too.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

  return {
    status: response.statusCode ?? 0,
    body: JSON.parse(response.body ?? '{}') as CountedVend['body'],
    calls: [...stsCalls.calls(), ...dynamodbCalls.calls()].sort((a, b) => a.startedAt - b.startedAt),
    stsRequests: stsRequests.slice(stsSeen),
  };
}

const describeCalls = (calls: readonly AwsCall[]) => calls.map((call) => `${call.service} ${call.operation} ${call.tables.join(',')}`.trim());

/** The calls every vend by a caller in `groups` groups makes before it decides, in parallel, so in no fixed order. */
const checks = (groups = 1) => [
  `dynamodb UpdateItem ${tables.delegations}`,
  // The profile by key; the lockdown's partition (the lockdown and the cut-off epoch), one Query.
  `dynamodb GetItem ${tables.delegations}`,
  `dynamodb Query ${tables.delegations}`,
  ...Array.from({ length: 1 + groups }, () => `dynamodb Query ${tables.delegations}`),
];
/** A vend's reads for a caller in G groups: the profile, the lockdown's partition, and the 1 + G subjects' grants. */
const readsPerVend = (groups: number) => 3 + groups;

describe('AWS calls per vend', () => {
  let firstVend: CountedVend;

  beforeAll(async () => {
    // The first vend of an instance also fetches the JWKS and learns its audit chain's head.
    firstVend = await vendCounted();
    expect(firstVend.status).toBe(200);
  });

  it('an issued credential costs the quota counter, 3 + G reads, one AssumeRole and one audit PutItem, nothing else', async () => {
    // Act
    const { status, calls, stsRequests: seenBySts } = await vendCounted();

    // Assess
    expect(status).toBe(200);
    expect(describeCalls(calls).sort()).toEqual([...checks(), 'sts AssumeRole', `dynamodb PutItem ${tables.audit}`].sort());
    // In this order: nothing issued before the checks, nothing answered before the record.
    expect(describeCalls(calls).slice(checks().length)).toEqual(['sts AssumeRole', `dynamodb PutItem ${tables.audit}`]);
    expect(calls.map((call) => call.status)).toEqual(calls.map(() => 200));
    // The local STS saw that one request, its signature (made for the proxy's host) valid.
    expect(seenBySts.map(({ eventName, errorCode }) => ({ eventName, errorCode }))).toEqual([{ eventName: 'AssumeRole', errorCode: undefined }]);
  });

  it('stays within the budget vend after vend: 1 STS call, 3 + G reads, 1 audit write and the quota counter each', async () => {
    // Act
    const vends: CountedVend[] = [];
    for (let i = 0; i < 5; i++) vends.push(await vendCounted());

    // Assess
    for (const { status, calls } of vends) {
      expect(status).toBe(200);
      expect(describeCalls(calls).sort()).toEqual([...checks(), 'sts AssumeRole', `dynamodb PutItem ${tables.audit}`].sort());
      const summary = summarizeVendCalls(calls, { auditTable: tables.audit });
      expect(summary).toEqual({ sts: 1, dynamodbReads: readsPerVend(1), dynamodbWrites: 2, auditWrites: 1 });
    }
  });

  it("grows with the caller's groups alone: a caller in 4 groups reads 7 times", async () => {
    // Act
    const { status, calls } = await vendCounted({ groups: [GROUP, 'g-two', 'g-three', 'g-four'] });

    // Assess
    expect(status).toBe(200);
    expect(describeCalls(calls).sort()).toEqual([...checks(4), 'sts AssumeRole', `dynamodb PutItem ${tables.audit}`].sort());
    expect(summarizeVendCalls(calls, { auditTable: tables.audit })).toEqual({ sts: 1, dynamodbReads: 7, dynamodbWrites: 2, auditWrites: 1 });
  });

  it('a refusal calls no STS, reads 2 per subject more to explain itself, and writes only its denial besides the quota counter', async () => {
    // Act: a caller with no grant on the profile
    const { status, body, calls, stsRequests: seenBySts } = await vendCounted({ groups: ['someone-else'] });

    // Assess
    expect(status).toBe(403);
    expect(body.error?.code).toBe('NO_GRANT');
    const explanation = Array.from({ length: 2 * 2 }, () => `dynamodb Query ${tables.delegations}`);
    expect(describeCalls(calls).sort()).toEqual([...checks(), ...explanation, `dynamodb PutItem ${tables.audit}`].sort());
    expect(summarizeVendCalls(calls, { auditTable: tables.audit })).toEqual({
      sts: 0,
      dynamodbReads: readsPerVend(1) + 2 * 2,
      dynamodbWrites: 2,
      auditWrites: 1,
    });
    expect(seenBySts).toEqual([]);
  });

  it("the first vend of an instance makes the same calls, and reads its chain's last item once before its one PutItem", () => {
    // Assess: a fresh instance knows no chain; it reads the last item of the one it picks (a
    // consistent Query of its LINK# partition) instead of guessing and losing a write.
    const auditCalls = firstVend.calls.filter((call) => call.tables.includes(tables.audit));
    const others = firstVend.calls.filter((call) => !call.tables.includes(tables.audit));
    expect(describeCalls(others).sort()).toEqual([...checks(), 'sts AssumeRole'].sort());
    expect(describeCalls(auditCalls)).toEqual([`dynamodb Query ${tables.audit}`, `dynamodb PutItem ${tables.audit}`]);
    expect(auditCalls.map((call) => call.status)).toEqual([200, 200]);
  });
});

// Last in this file: it deletes the audit table this file created (never one another test shares:
// on the e2e stack that would wipe a trail the anchoring has vouched for).
describe('the audit table gone', () => {
  it('STS issued a session, yet the vend answers 503 AUDIT_UNAVAILABLE and no credential leaves', async () => {
    // Prepare
    await dynamodb().client.send(new DeleteTableCommand({ TableName: tables.audit }));
    await waitUntilTableNotExists({ client: dynamodb().client, maxWaitTime: 30 }, { TableName: tables.audit });
    const sessionsBefore = sts.issuedSessions().length;

    // Act
    const { status, body, calls } = await vendCounted();

    // Assess: the session was issued, then the record failed, and nothing of it is in the answer
    expect(status).toBe(503);
    expect(body.error?.code).toBe('AUDIT_UNAVAILABLE');
    const issued = sts.issuedSessions().slice(sessionsBefore);
    expect(issued).toHaveLength(1);
    const answer = JSON.stringify(body);
    expect(answer).not.toContain(String(issued[0]?.accessKeyId));
    expect(answer).not.toMatch(/ASIA[A-Z0-9]{16}/);
    expect(describeCalls(calls)).toContain(`dynamodb PutItem ${tables.audit}`);
  });
});
