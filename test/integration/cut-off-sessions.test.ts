// The cut-off module with its real adapters: the revocation ledger on DynamoDB Local (its
// version-conditioned writes), the local IAM endpoint (its policies, their shared size quota and the
// Deny it enforces), the live-session index of the audit table, and the cut-off orders.
import { PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { DynamoDbCutOffOrders, DynamoDbRevocationLedger } from '../../shared/adapters/dynamodb-revocation-ledger.js';
import { putCutOffOrder } from '../../shared/adapters/delegation-keys.js';
import { IamRevocationPolicies } from '../../shared/adapters/iam-revocation-policies.js';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { eventBase, type CredentialIssuedEvent } from '../../shared/domain/audit.js';
import { carryOutCutOff, type CutOffDeps } from '../../shared/domain/cut-off-sessions.js';
import type { CutOffOrder } from '../../shared/domain/model.js';
import { repairRevocations } from '../../shared/domain/repair-revocations.js';
import { parseRevocationPolicy, REVOCATION_POLICY_NAME } from '../../shared/domain/revocation-policy.js';
import { sequentialIds } from '../fixtures/in-memory.js';
import { useDynamoDbLocal, type TestTables } from './support/dynamodb.js';
import { useLocalAws } from './support/local-aws.js';

const ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-sandbox';
const ROLE_NAME = 'tvm-demo-sandbox';
const dynamodb = useDynamoDbLocal();

const localAws = useLocalAws();
let tables: TestTables;
let deps: CutOffDeps & { audit: DynamoDbAuditLog };

beforeEach(async () => {
  tables = await dynamodb().createTestTables();
  const documents = dynamodb().documentClient;
  const audit = new DynamoDbAuditLog(documents, { tableName: tables.audit, shards: 4 });
  deps = {
    ledger: new DynamoDbRevocationLedger(documents, { tableName: tables.delegations }),
    policies: new IamRevocationPolicies(localAws().iam),
    sessions: audit,
    orders: new DynamoDbCutOffOrders(documents, { tableName: tables.delegations }),
    audit,
    clock: { now: () => new Date() },
    ids: sequentialIds(`t${tables.stage}`),
  };
  // Each test starts from a role without tvm's policy.
  await deps.policies.write(ROLE, undefined);
});

/** An order as a decision writes it: in the same transaction (here alone). */
async function written(order: CutOffOrder): Promise<CutOffOrder> {
  await dynamodb().documentClient.send(new TransactWriteCommand({ TransactItems: [putCutOffOrder(tables.delegations, order)] }));
  return order;
}

function personOrder(id: string, sourceIdentity: string, before: Date): CutOffOrder {
  return {
    id,
    cause: 'engagement-handed-over',
    decidedAt: new Date().toISOString(),
    decidedBy: 'owner@example.com',
    requestId: `req-${id}`,
    revocations: [{ kind: 'person', sourceIdentity, before: before.toISOString() }],
    roles: [ROLE],
    attempts: 0,
    context: { engagementId: `eng-${id}` },
  };
}

const deniedPeople = () =>
  parseRevocationPolicy(localAws().local.rolePolicies()[ROLE_NAME]?.[REVOCATION_POLICY_NAME])
    .flatMap((revocation) => (revocation.kind === 'person' ? [revocation.sourceIdentity] : []))
    .sort();

const sessionOf = (sourceIdentity: string) => localAws().sessionOf(ROLE, sourceIdentity);

// The race: each cut-off reads the role's revocations, adds its own and writes them back. Done on
// the policy itself (as before the ledger), ten at once kept only some of them.
it('ten concurrent cut-offs on one role all end up in its policy', async () => {
  // Prepare
  const people = Array.from({ length: 10 }, (_, i) => `person-${i}`);
  const before = new Date(Date.now() + 60_000);
  const orders = await Promise.all(people.map((person, i) => written(personOrder(`race-${i}`, person, before))));

  // Act
  const reports = await Promise.all(orders.map((order) => carryOutCutOff(deps, order, { requestId: order.requestId })));

  // Assess
  expect(reports.every((report) => report.complete && report.sessionsNotCut.length === 0)).toBe(true);
  expect(deniedPeople()).toEqual(people.sort());
  expect((await deps.ledger.get(ROLE))?.revocations).toHaveLength(10);
  expect(await deps.orders.list()).toEqual([]);
});

it('reports as revoked only the live sessions its revocations deny, from the live-session index', async () => {
  // Prepare: two live sessions on the role, one of the person cut off, and an expired one of theirs
  const mallory = await sessionOf('mallory');
  const issued = (principal: string, accessKeyId: string, expiration: string): CredentialIssuedEvent => ({
    id: `${new Date().toISOString()}#${accessKeyId}`,
    type: 'credential.issued',
    at: new Date().toISOString(),
    principal,
    requestId: `req-${accessKeyId}`,
    profile: 'sandbox',
    roleArn: ROLE,
    grantId: 'grant-00000001',
    accessKeyId,
    expiration,
    sessionName: principal,
    sourceIdentity: principal,
    assumedRoleArn: `arn:aws:sts::000000000000:assumed-role/${ROLE_NAME}/${principal}`,
    durationSeconds: 900,
  });
  const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
  await deps.audit.append(issued('mallory', mallory.accessKeyId, inAnHour));
  await deps.audit.append(issued('mallory', 'ASIAEXPIRED000000001', new Date(Date.now() - 1_000).toISOString()));
  await deps.audit.append(issued('alice', 'ASIAALICE00000000001', inAnHour));
  const order = await written(personOrder('one', 'mallory', new Date(Date.now() + 60_000)));

  // Act
  const report = await carryOutCutOff(deps, order, { requestId: 'req-one' });

  // Assess
  expect(report.revokedSessions.map((session) => session.accessKeyId)).toEqual([mallory.accessKeyId]);
  expect(await mallory.works()).toBe(false);
  expect(await deps.audit.liveIssuancesOnRole(ROLE.replace('tvm-demo-sandbox', 'team/TVM-Demo-Sandbox'), new Date())).toHaveLength(2);
});

it('keeps an order whose role failed, and the schedule carries it out once IAM answers', async () => {
  // Prepare: IAM refuses for a moment (the role's inline policies are full)
  const full = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'iam:CreateUser', Resource: `arn:aws:iam::000000000000:user/${'x'.repeat(10_100)}` }] });
  await localAws().iam.send(new PutRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: 'someone-elses', PolicyDocument: full }));
  const order = await written(personOrder('later', 'eve', new Date(Date.now() + 60_000)));

  // Act
  const first = await carryOutCutOff(deps, order, { requestId: 'req-later' });
  const pending = await deps.orders.list();
  await localAws().iam.send(new PutRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: 'someone-elses', PolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}' }));
  const repaired = await repairRevocations(deps, { requestId: 'schedule' });

  // Assess
  expect(first.complete).toBe(false);
  expect(pending).toEqual([expect.objectContaining({ id: 'later', roles: [ROLE], attempts: 1 })]);
  expect(repaired.orders).toEqual({ pending: 1, completed: 1 });
  expect(await deps.orders.list()).toEqual([]);
  expect(deniedPeople()).toEqual(['eve']);
});

it('puts a policy changed behind its back right, keeping the Deny statements it can read', async () => {
  // Prepare: eve is cut off; then someone replaces the policy with one denying only mallory
  await carryOutCutOff(deps, await written(personOrder('eve', 'eve', new Date(Date.now() + 60_000))), { requestId: 'r' });
  const replaced = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TvmPerson0',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceIdentity': ['mallory'] }, DateLessThan: { 'aws:TokenIssueTime': '2030-01-01T00:00:00Z' } },
      },
    ],
  });
  await localAws().iam.send(new PutRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: REVOCATION_POLICY_NAME, PolicyDocument: replaced }));

  // Act
  const outcome = await repairRevocations(deps, { requestId: 'schedule' });

  // Assess
  expect(outcome.roles).toEqual({ checked: 1, repaired: 1, external: 1 });
  expect(deniedPeople()).toEqual(['eve', 'mallory']);
  const drift = await deps.audit.query({ type: 'revocation.drift', limit: 10 });
  expect(drift.events).toEqual([expect.objectContaining({ detail: expect.objectContaining({ roleArn: ROLE, external: true, foundDocument: replaced }) })]);
  expect((await repairRevocations(deps, { requestId: 'schedule-2' })).roles).toEqual({ checked: 1, repaired: 0, external: 0 });
});

// The attack on a cut-off across accounts: a profile names `tvm-demo-sandbox` in another account.
// IAM's role APIs take a name only, so writing the Deny by name would put it on the role of that
// name in tvm's own account, and report the other account's sessions as cut.
it("never writes a role of the same name in tvm's account for a role in another account, nor reports its sessions cut", async () => {
  // Prepare: a live session on the other account's role
  const elsewhere = ROLE.replace('000000000000', '111111111111');
  const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
  await deps.audit.append({
    ...eventBase(new Date(), 'elsewhere', { id: 'mallory', groups: [], issuer: '' }, { requestId: 'req-elsewhere' }),
    type: 'credential.issued',
    profile: 'sandbox-elsewhere',
    roleArn: elsewhere,
    grantId: 'grant-00000001',
    accessKeyId: 'ASIAELSEWHERE0000001',
    expiration: inAnHour,
    sessionName: 'mallory',
    sourceIdentity: 'mallory',
    assumedRoleArn: `arn:aws:sts::111111111111:assumed-role/${ROLE_NAME}/mallory`,
    durationSeconds: 900,
  });
  const order = await written({ ...personOrder('elsewhere', 'mallory', new Date(Date.now() + 60_000)), roles: [elsewhere] });

  // Act
  const report = await carryOutCutOff(deps, order, { requestId: 'req-elsewhere' });

  // Assess: nothing written here, reported as not cut, and not retried forever
  expect(localAws().local.rolePolicies()[ROLE_NAME]?.[REVOCATION_POLICY_NAME]).toBeUndefined();
  expect(report.revokedSessions).toEqual([]);
  expect(report.sessionsNotCut).toEqual([expect.objectContaining({ accessKeyId: 'ASIAELSEWHERE0000001', roleArn: elsewhere, code: 'ROLE_OUT_OF_REACH' })]);
  expect(report.complete).toBe(false);
  expect(await deps.orders.list()).toEqual([]);
  const failed = await deps.audit.query({ type: 'cutoff.failed', limit: 10 });
  expect(failed.events).toEqual([expect.objectContaining({ detail: expect.objectContaining({ roleArn: elsewhere, code: 'ROLE_OUT_OF_REACH' }) })]);
});
