// Faults injected at the SDK level (aws-sdk-client-mock) under the real vend use case, the real
// DynamoDB adapters and the real STS issuer; and IAM faults under a lockdown's cut-off. For each:
// the status and code the caller gets, how many attempts were made, and that no credentials leave
// without a durable `credential.issued` record.
import 'aws-sdk-client-mock-jest';
import {
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { GetRoleCommand, IAMClient, ListRolePoliciesCommand, PutRolePolicyCommand, IAMServiceException, LimitExceededException } from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
  RegionDisabledException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { grantItem, profileItem } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbLockdownStore } from '../../shared/adapters/dynamodb-lockdown-store.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { IamRevocationPolicies } from '../../shared/adapters/iam-revocation-policies.js';
import { StsCredentialIssuer } from '../../shared/adapters/sts-credential-issuer.js';
import type { CredentialIssuedEvent } from '../../shared/domain/audit.js';
import { activateLockdown, type ActivateLockdownDeps } from '../../shared/domain/manage-lockdown.js';
import type { RequestMeta } from '../../shared/domain/model.js';
import type { RateLimiter } from '../../shared/domain/ports.js';
import { vendCredentials, type VendDeps, type VendResult } from '../../shared/domain/vend-credentials.js';
import { UpstreamIamError } from '../../shared/domain/errors.js';
import { mapError } from '../../shared/http/error-mapping.js';
import { DEFAULT_PROFILE_NAME, FIXED_NOW, aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { InMemoryAuditLog, InMemoryDelegationStore, InMemoryRevocationLedger, fixedClock, sequentialIds } from '../fixtures/in-memory.js';
import { InMemoryLockdownStore } from '../fixtures/in-memory-lockdown.js';

/** The vend's reads by their input: each subject's grants; the lockdown's partition. */
const GRANTS_QUERY = { IndexName: 'activeGrants' };
const LOCKDOWN_QUERY = { ExpressionAttributeValues: { ':pk': 'LOCKDOWN' } };
const DELEGATIONS = 'tvm-test-delegations';
const AUDIT = 'tvm-test-audit';
const META: RequestMeta = { requestId: 'req-fault-1', sourceIp: '203.0.113.7', userAgent: 'tvm-cli/0.1.0' };
const SECRET = 'secret-from-sts/DO-NOT-LEAK/0123456789';
const SESSION_TOKEN = 'token-from-sts/DO-NOT-LEAK/IQoJb3JpZ2lu';
const ACCESS_KEY_ID = 'ASIAFAULTS0000000001';

const ddb = mockClient(DynamoDBDocumentClient);
const sts = mockClient(STSClient);
const iam = mockClient(IAMClient);

/** The vend quota is not the subject here: every vend is allowed. */
const unlimited: RateLimiter = { take: async () => ({ allowed: true }) };

function anAssumeRoleResponse() {
  return {
    Credentials: {
      AccessKeyId: ACCESS_KEY_ID,
      SecretAccessKey: SECRET,
      SessionToken: SESSION_TOKEN,
      Expiration: new Date('2026-06-01T13:00:00.000Z'),
    },
    AssumedRoleUser: { AssumedRoleId: 'AROAEXAMPLE:alice@example.com', Arn: 'arn:aws:sts::123456789012:assumed-role/dev-readonly/alice' },
    $metadata: {},
  };
}

/** As the SDK's query-protocol deserializer builds them: the wire code on `Code`. */
function stsError(code: string, fault: 'client' | 'server' = 'client'): STSServiceException {
  const error = new STSServiceException({ name: code, $fault: fault, message: code, $metadata: { httpStatusCode: fault === 'server' ? 500 : 400 } });
  return Object.assign(error, { Code: code });
}
function withCode<E extends STSServiceException>(error: E, code: string): E {
  return Object.assign(error, { Code: code });
}
const socketTimeout = () => Object.assign(new Error('Connection timed out after 3000 ms'), { name: 'TimeoutError' });

const dynamoFaults = {
  ThrottlingException: () =>
    Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ThrottlingException', $fault: 'client' }),
  ProvisionedThroughputExceededException: () =>
    new ProvisionedThroughputExceededException({ message: 'The level of configured provisioned throughput for the table was exceeded.', $metadata: {} }),
  'InternalServerError (500)': () => new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } }),
  'a socket timeout': () => Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }),
  'TransactionCanceledException (ValidationError)': () =>
    new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'ValidationError' }, { Code: 'None' }],
    }),
} as const;

interface World {
  readonly deps: VendDeps;
  /** The audit events whose write DynamoDB acknowledged. */
  readonly durable: Record<string, unknown>[];
  /** The waits the STS issuer made between attempts. */
  readonly stsPauses: number[];
  readonly warnings: string[];
}

/**
 * The real adapters over a mocked document client that serves one profile and grant, no lockdown,
 * and keeps every acknowledged audit write. `auditWrite` decides each audit write in turn: a
 * PutItem of the event (the chain-keyed layout's record of a vend), or a TransactWriteItems.
 */
function aWorld(auditWrite: (call: number) => Error | undefined = () => undefined): World {
  const durable: Record<string, unknown>[] = [];
  const stsPauses: number[] = [];
  const warnings: string[] = [];
  const documentClient = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  );
  // The caller's grant, answered to each subject's query (the adapter keeps only the subject's own).
  ddb.on(QueryCommand).resolves({ Items: [grantItem(aGrant())] });
  // The lockdown's partition (the lockdown and the cut-off epoch): neither stored.
  ddb.on(QueryCommand, LOCKDOWN_QUERY).resolves({ Items: [] });
  ddb.on(GetCommand).resolves({});
  ddb.on(GetCommand, { Key: { PK: profileItem(aProfile()).PK, SK: profileItem(aProfile()).SK } }).resolves({ Item: profileItem(aProfile()) });
  // A chain's last item, read before the first write to it: a new chain.
  ddb.on(QueryCommand, { ScanIndexForward: false, Limit: 1, ConsistentRead: true }).resolves({ Items: [] });
  let calls = 0;
  ddb.on(PutCommand).callsFake((input: { Item?: Record<string, unknown> }) => {
    calls += 1;
    const fault = auditWrite(calls);
    if (fault) throw fault;
    if (input.Item) durable.push(input.Item);
    return {};
  });
  ddb.on(TransactWriteCommand).callsFake((input: { TransactItems: { Put?: { Item?: Record<string, unknown> } }[] }) => {
    calls += 1;
    const fault = auditWrite(calls);
    if (fault) throw fault;
    const event = input.TransactItems[0]?.Put?.Item;
    if (event) durable.push(event);
    return {};
  });
  const tables = { tableName: DELEGATIONS, auditTableName: AUDIT, auditShards: 1 };
  const deps: VendDeps = {
    store: new DynamoDbDelegationStore(documentClient, tables),
    lockdown: new DynamoDbLockdownStore(documentClient, tables),
    audit: new DynamoDbAuditLog(documentClient, { tableName: AUDIT, shards: 1, chains: new AuditChains() }),
    issuer: new StsCredentialIssuer(new STSClient({ region: 'us-east-1' }), {
      pause: async (milliseconds) => {
        stsPauses.push(milliseconds);
      },
    }),
    limiter: unlimited,
    clock: fixedClock(FIXED_NOW),
    ids: sequentialIds('evt'),
    warn: (message) => {
      warnings.push(message);
    },
  };
  return { deps, durable, stsPauses, warnings };
}

type Outcome = { ok: true; result: VendResult } | { ok: false; status: number; code: string; body: string };

/** The vend as its HTTP response would be: the result, or the mapped error and its JSON body. */
async function vend(world: World): Promise<Outcome> {
  try {
    return { ok: true, result: await vendCredentials(world.deps, aPrincipal(), { profile: DEFAULT_PROFILE_NAME }, META) };
  } catch (error) {
    const mapped = mapError(error, META.requestId);
    return { ok: false, status: mapped.status, code: mapped.body.error.code, body: JSON.stringify(mapped.body) };
  }
}

/** Audit write attempts: PutItem (a record alone) and TransactWriteItems. */
const auditWriteCalls = () => ddb.commandCalls(PutCommand).length + ddb.commandCalls(TransactWriteCommand).length;
const issuedRecords = (world: World) => world.durable.filter((item) => item.type === 'credential.issued') as unknown as CredentialIssuedEvent[];
const deniedRecords = (world: World) => world.durable.filter((item) => item.type === 'credential.denied');

/** The invariant: credentials only with their durable issuance record; never in an error. */
function expectNoCredentialsWithoutAudit(world: World, outcome: Outcome): void {
  if (outcome.ok) {
    expect(issuedRecords(world).map((event) => event.accessKeyId)).toContain(outcome.result.credentials.accessKeyId);
  } else {
    expect(outcome.body).not.toContain(SECRET);
    expect(outcome.body).not.toContain(SESSION_TOKEN);
  }
}

beforeEach(() => {
  ddb.reset();
  sts.reset();
  iam.reset();
});

describe('DynamoDB faults on a vend', () => {
  it.each(Object.entries(dynamoFaults))('reading the grants fails with %s: 503 STORE_UNAVAILABLE, STS never called', async (_label, fault) => {
    // Prepare
    const world = aWorld();
    ddb.on(QueryCommand, GRANTS_QUERY).rejects(fault());
    sts.on(AssumeRoleCommand).resolves(anAssumeRoleResponse());

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome).toMatchObject({ ok: false, status: 503, code: 'STORE_UNAVAILABLE' });
    expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 0);
    // One query per subject (the caller and its group), sent together, none retried.
    expect(ddb.commandCalls(QueryCommand, GRANTS_QUERY)).toHaveLength(1 + aPrincipal().groups.length);
    expect(deniedRecords(world)).toEqual([expect.objectContaining({ code: 'STORE_UNAVAILABLE' })]);
    expectNoCredentialsWithoutAudit(world, outcome);
  });

  it.each(Object.entries(dynamoFaults))('reading the lockdown fails with %s: 503 STORE_UNAVAILABLE, STS never called', async (_label, fault) => {
    // Prepare
    const world = aWorld();
    ddb.on(QueryCommand, LOCKDOWN_QUERY).rejects(fault());
    sts.on(AssumeRoleCommand).resolves(anAssumeRoleResponse());

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome).toMatchObject({ ok: false, status: 503, code: 'STORE_UNAVAILABLE' });
    expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 0);
    expect(deniedRecords(world)).toEqual([expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: 'the lockdown state could not be read' })]);
    expectNoCredentialsWithoutAudit(world, outcome);
  });

  it.each(Object.entries(dynamoFaults))(
    'the credential.issued write fails with %s: 503 AUDIT_UNAVAILABLE, the issued credentials never returned',
    async (_label, fault) => {
      // Prepare
      const world = aWorld(() => fault());
      sts.on(AssumeRoleCommand).resolves(anAssumeRoleResponse());

      // Act
      const outcome = await vend(world);

      // Assess
      expect(outcome).toMatchObject({ ok: false, status: 503, code: 'AUDIT_UNAVAILABLE' });
      expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 1);
      expect(auditWriteCalls()).toBeLessThanOrEqual(3);
      expect(issuedRecords(world)).toEqual([]);
      expectNoCredentialsWithoutAudit(world, outcome);
      expect(outcome.ok ? '' : outcome.body).not.toContain(ACCESS_KEY_ID);
    },
  );

  it('the credential.issued write is cancelled for throttling on every try: bounded attempts, 503, nothing returned', async () => {
    // Prepare: the writer retries a throttled transaction on another shard, a bounded number of times.
    const throttled = () =>
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ThrottlingError' }, { Code: 'None' }],
      });
    const world = aWorld(() => throttled());
    sts.on(AssumeRoleCommand).resolves(anAssumeRoleResponse());

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome).toMatchObject({ ok: false, status: 503, code: 'AUDIT_UNAVAILABLE' });
    // A throttled transaction is a fault, not a lost race: at most 3 transactions in all.
    expect(auditWriteCalls()).toBeLessThanOrEqual(3);
    expect(issuedRecords(world)).toEqual([]);
    expectNoCredentialsWithoutAudit(world, outcome);
  });

  it('the credential.denied write fails too: the refusal still stands, with a warning', async () => {
    // Prepare
    const world = aWorld(() => dynamoFaults.ThrottlingException());
    sts.on(AssumeRoleCommand).rejects(stsError('AccessDenied'));

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome).toMatchObject({ ok: false, status: 502, code: 'UPSTREAM_STS_ERROR' });
    expect(world.warnings).toEqual(['denial could not be recorded']);
    expect(world.durable).toEqual([]);
  });
});

describe('STS faults on a vend', () => {
  it('Throttling, then success: retried, 200, exactly one durable credential.issued', async () => {
    // Prepare
    const world = aWorld();
    sts.on(AssumeRoleCommand).rejectsOnce(stsError('Throttling')).resolves(anAssumeRoleResponse());

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome.ok).toBe(true);
    expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 2);
    expect(issuedRecords(world).map((event) => event.accessKeyId)).toEqual([ACCESS_KEY_ID]);
    expect(deniedRecords(world)).toEqual([]);
    expectNoCredentialsWithoutAudit(world, outcome);
  });

  it('Throttling on every attempt: 3 attempts within 600 ms of waits, then 502 UPSTREAM_STS_ERROR and a denial', async () => {
    // Prepare
    const world = aWorld();
    sts.on(AssumeRoleCommand).rejects(stsError('Throttling'));

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome).toMatchObject({ ok: false, status: 502, code: 'UPSTREAM_STS_ERROR' });
    expect(outcome.ok ? undefined : JSON.parse(outcome.body).error.stsCode).toBe('Throttling');
    expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 3);
    expect(world.stsPauses).toHaveLength(2);
    expect(world.stsPauses.reduce((sum, wait) => sum + wait, 0)).toBeLessThanOrEqual(600);
    expect(issuedRecords(world)).toEqual([]);
    expect(deniedRecords(world)).toEqual([expect.objectContaining({ code: 'UPSTREAM_STS_ERROR' })]);
  });

  it.each([
    ['AccessDenied', () => stsError('AccessDenied'), 502, 'UPSTREAM_STS_ERROR', 'AccessDenied'],
    [
      'RegionDisabledException',
      () => withCode(new RegionDisabledException({ message: 'STS is not activated in this region', $metadata: {} }), 'RegionDisabledException'),
      502,
      'UPSTREAM_STS_ERROR',
      'RegionDisabledException',
    ],
    [
      'MalformedPolicyDocument',
      () => withCode(new MalformedPolicyDocumentException({ message: 'Syntax errors in policy.', $metadata: {} }), 'MalformedPolicyDocument'),
      502,
      'UPSTREAM_STS_ERROR',
      'MalformedPolicyDocument',
    ],
    [
      'PackedPolicyTooLarge',
      () => withCode(new PackedPolicyTooLargeException({ message: 'Packed policy consumes 104%', $metadata: {} }), 'PackedPolicyTooLarge'),
      400,
      'SCOPE_TOO_LARGE',
      undefined,
    ],
    ['a socket timeout (STS may have issued)', socketTimeout, 502, 'UPSTREAM_STS_ERROR', 'Timeout'],
    ['InternalFailure (5xx, STS may have issued)', () => stsError('InternalFailure', 'server'), 502, 'UPSTREAM_STS_ERROR', 'InternalFailure'],
  ])('%s: one attempt, then the mapped error, a denial, no credentials', async (_label, fault, status, code, stsCode) => {
    // Prepare: a second attempt would succeed; it must not be made.
    const world = aWorld();
    sts.on(AssumeRoleCommand).rejectsOnce(fault()).resolves(anAssumeRoleResponse());

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome).toMatchObject({ ok: false, status, code });
    expect(outcome.ok ? undefined : JSON.parse(outcome.body).error.stsCode).toBe(stsCode);
    expect(sts).toReceiveCommandTimes(AssumeRoleCommand, 1);
    expect(issuedRecords(world)).toEqual([]);
    expect(deniedRecords(world)).toEqual([expect.objectContaining({ code })]);
  });

  it('Throttling, then success, then the audit write fails: 503, the credentials discarded', async () => {
    // Prepare
    const world = aWorld(() => dynamoFaults['InternalServerError (500)']());
    sts.on(AssumeRoleCommand).rejectsOnce(stsError('Throttling')).resolves(anAssumeRoleResponse());

    // Act
    const outcome = await vend(world);

    // Assess
    expect(outcome).toMatchObject({ ok: false, status: 503, code: 'AUDIT_UNAVAILABLE' });
    expectNoCredentialsWithoutAudit(world, outcome);
  });
});

describe('any mix of faults', () => {
  const stsStep = fc.constantFrom<'ok' | 'Throttling' | 'AccessDenied' | 'InternalFailure' | 'timeout'>(
    'ok',
    'Throttling',
    'AccessDenied',
    'InternalFailure',
    'timeout',
  );
  const auditStep = fc.constantFrom<'ok' | keyof typeof dynamoFaults>('ok', ...(Object.keys(dynamoFaults) as (keyof typeof dynamoFaults)[]));

  it('every success has its durable credential.issued; no failure carries credentials; ≤ 3 STS attempts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stsStep, { minLength: 1, maxLength: 4 }), fc.array(auditStep, { minLength: 1, maxLength: 3 }), async (stsSteps, auditSteps) => {
        // Prepare
        ddb.reset();
        sts.reset();
        const world = aWorld((call) => {
          const step = auditSteps[Math.min(call, auditSteps.length) - 1] ?? 'ok';
          return step === 'ok' ? undefined : dynamoFaults[step]();
        });
        let attempt = 0;
        sts.on(AssumeRoleCommand).callsFake(() => {
          const step = stsSteps[Math.min(attempt++, stsSteps.length - 1)];
          if (step === 'ok') return anAssumeRoleResponse();
          throw step === 'timeout' ? socketTimeout() : stsError(step as string, step === 'InternalFailure' ? 'server' : 'client');
        });

        // Act
        const outcome = await vend(world);

        // Assess
        expect(sts.commandCalls(AssumeRoleCommand).length).toBeLessThanOrEqual(3);
        expectNoCredentialsWithoutAudit(world, outcome);
        if (!outcome.ok) expect([400, 502, 503]).toContain(outcome.status);
      }),
      { numRuns: 150 },
    );
  });
});

describe('IAM faults while a lockdown cuts sessions off', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/tvm-dev-readonly';
  const SECURITY = aPrincipal({ id: 'sec-1@example.com', groups: ['tvm-security'] });

  async function aLockdownWorld() {
    const audit = new InMemoryAuditLog();
    const store = new InMemoryDelegationStore({ audit, profiles: [aProfile({ roleArn: ROLE })], grants: [] });
    const lockdown = new InMemoryLockdownStore(audit);
    // One live session of someone outside the allow list.
    await audit.append({
      id: '2026-06-01T11:30:00.000Z#issued-1',
      type: 'credential.issued',
      at: '2026-06-01T11:30:00.000Z',
      principal: 'mallory@example.com',
      requestId: 'req-m',
      profile: DEFAULT_PROFILE_NAME,
      roleArn: ROLE,
      grantId: 'grant-0001',
      accessKeyId: 'ASIAMALLORY000000001',
      expiration: '2026-06-01T12:30:00.000Z',
      sessionName: 'mallory@example.com',
      sourceIdentity: 'mallory@example.com',
      assumedRoleArn: `${ROLE.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/')}/mallory`,
      durationSeconds: 3600,
      groups: ['engineering'],
    } as CredentialIssuedEvent);
    const deps: ActivateLockdownDeps = {
      lockdown,
      store,
      audit,
      ledger: new InMemoryRevocationLedger(audit.cutOffOrders),
      policies: new IamRevocationPolicies(new IAMClient({ region: 'us-east-1' })),
      sessions: audit,
      orders: audit.cutOffOrders,
      clock: fixedClock(FIXED_NOW),
      ids: sequentialIds('id'),
    };
    return { deps, audit, lockdown };
  }

  const iamError = (code: string, fault: 'client' | 'server' = 'client') =>
    new IAMServiceException({ name: code, $fault: fault, message: code, $metadata: {} });

  // The role is in tvm's account (GetRole names it), its policies are listed, and the writes fail.
  function roleWithoutPolicies(): void {
    iam.on(GetRoleCommand).resolves({ Role: { Arn: ROLE, RoleName: 'tvm-dev-readonly', Path: '/', RoleId: 'AROAEXAMPLE000000001', CreateDate: new Date(0) } });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
  }

  it.each([
    ['Throttling', () => iamError('Throttling'), 'Throttling', 1],
    ['AccessDenied', () => iamError('AccessDenied'), 'AccessDenied', 1],
    // Too large even as the role-wide fallback it tries next.
    ['LimitExceeded', () => new LimitExceededException({ message: 'LimitExceeded', $metadata: {} }), 'LimitExceededException', 2],
    ['ServiceFailure (5xx)', () => iamError('ServiceFailure', 'server'), 'ServiceFailure', 1],
    ['a socket timeout', socketTimeout, 'TimeoutError', 1],
  ])(
    'PutRolePolicy fails with %s: the lockdown stands, the session is reported and recorded as not cut, and stays to be retried',
    async (_label, fault, iamCode, puts) => {
      // Prepare
      const { deps, audit, lockdown } = await aLockdownWorld();
      roleWithoutPolicies();
      iam.on(PutRolePolicyCommand).rejects(fault());
      const input = { profiles: ['*'], allow: { groups: ['top-brass'], principals: [] }, reason: 'incident', revokeActiveSessions: true };

      // Act
      const result = await activateLockdown(deps, SECURITY, input, META);

      // Assess
      expect(result.sessionsNotCut).toEqual([
        expect.objectContaining({ accessKeyId: 'ASIAMALLORY000000001', roleArn: ROLE, code: 'UPSTREAM_IAM_ERROR', message: expect.stringContaining(iamCode) }),
      ]);
      expect(mapError(new UpstreamIamError(result.sessionsNotCut[0]?.message ?? ''), META.requestId).status).toBe(502);
      expect(iam).toReceiveCommandTimes(PutRolePolicyCommand, puts);
      expect((await lockdown.getLockdown())?.active).toBe(true);
      expect(audit.eventsOfType('lockdown.activated')).toHaveLength(1);
      expect(audit.eventsOfType('session.revoked')).toEqual([]);
      expect(audit.eventsOfType('cutoff.failed')).toEqual([expect.objectContaining({ detail: expect.objectContaining({ roleArn: ROLE, code: 'UPSTREAM_IAM_ERROR' }) })]);
      expect(audit.cutOffOrders.pending).toEqual([expect.objectContaining({ roles: [ROLE], attempts: 1 })]);
    },
  );

  it("re-plans with the role-wide fallback when IAM answers LimitExceeded to the precise policy", async () => {
    // Prepare: IAM counts the role's policies fuller than tvm does
    const { deps, audit } = await aLockdownWorld();
    roleWithoutPolicies();
    iam.on(PutRolePolicyCommand).rejectsOnce(new LimitExceededException({ message: 'LimitExceeded', $metadata: {} })).resolves({});
    const input = { profiles: ['*'], allow: { groups: ['top-brass'], principals: [] }, reason: 'incident', revokeActiveSessions: true };

    // Act
    const result = await activateLockdown(deps, SECURITY, input, META);

    // Assess
    expect(result.fallback).toBe(true);
    expect(result.sessionsNotCut).toEqual([]);
    expect(result.revokedSessions.map((session) => session.accessKeyId)).toEqual(['ASIAMALLORY000000001']);
    const [, fallback] = iam.commandCalls(PutRolePolicyCommand).map((call) => JSON.parse(call.args[0].input.PolicyDocument ?? '{}') as { Statement: { Sid: string }[] });
    expect(fallback?.Statement.map((statement) => statement.Sid)).toEqual(['TvmRoleWide']);
    expect(audit.eventsOfType('session.revoked')).toEqual([expect.objectContaining({ detail: expect.objectContaining({ roleWideFallback: true }) })]);
  });
});
