// The cut-off epoch against DynamoDB Local: raised in the transaction of every decision that revokes
// a grant or cuts sessions off (and by nothing that fails or cuts nothing), never lost between
// concurrent decisions, read by the vend in one consistent Query with the lockdown and the cut-offs
// that still reach new sessions, and refused when it is not what tvm writes (a misread epoch would
// let cut-off keys pass as current).
import { jest } from '@jest/globals';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CUTOFF_EPOCH_KEY, putRecentCutOff } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbLockdownStore } from '../../shared/adapters/dynamodb-lockdown-store.js';
import { DynamoDbRevocationLedger } from '../../shared/adapters/dynamodb-revocation-ledger.js';
import { adminEvent, type AdminAuditEvent } from '../../shared/domain/audit.js';
import { StoreUnavailableError } from '../../shared/domain/errors.js';
import type { CutOffOrder, Grant } from '../../shared/domain/model.js';
import { aGrant, aPrincipal, aProfile, FIXED_NOW } from '../fixtures/builders.js';
import { aLockdown } from '../fixtures/in-memory-lockdown.js';
import { captureError, queryRawPartition, useDynamoDbLocal } from './support/dynamodb.js';

const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const ROLE = 'arn:aws:iam::123456789012:role/dev-readonly';

const dynamodb = useDynamoDbLocal();

let delegations: DynamoDbDelegationStore;
let lockdowns: DynamoDbLockdownStore;
let tableName: string;
let counter = 0;

afterEach(() => {
  jest.restoreAllMocks();
});

beforeEach(async () => {
  const tables = await dynamodb().createTestTables();
  tableName = tables.delegations;
  const options = { tableName, auditTableName: tables.audit, auditShards: 4 };
  delegations = new DynamoDbDelegationStore(dynamodb().documentClient, options);
  lockdowns = new DynamoDbLockdownStore(dynamodb().documentClient, options);
  await delegations.putProfile(aProfile({ roleArn: ROLE }), anEvent('profile.put'));
});

function anEvent(type: AdminAuditEvent['type']): AdminAuditEvent {
  counter += 1;
  return adminEvent(new Date(FIXED_NOW.getTime() + counter * 1000), `evt${counter}`, type, ADMIN, { requestId: `req-${counter}` }, { profile: 'dev-readonly' });
}

function anOrder(cause: CutOffOrder['cause']): CutOffOrder {
  counter += 1;
  return {
    id: `order-${counter}`,
    cause,
    decidedAt: FIXED_NOW.toISOString(),
    decidedBy: ADMIN.id,
    requestId: `req-${counter}`,
    revocations: [{ kind: 'role-wide', before: FIXED_NOW.toISOString() }],
    roles: [ROLE],
    attempts: 0,
    context: {},
  };
}

async function grants(n: number): Promise<Grant[]> {
  const made = Array.from({ length: n }, () => aGrant({ id: `grant-${++counter}` }));
  for (const grant of made) await delegations.createGrant(grant, anEvent('grant.created'));
  return made;
}

const revoke = (grant: Grant, order?: CutOffOrder) => delegations.revokeGrants([grant], ADMIN.id, FIXED_NOW.toISOString(), anEvent('grant.revoked'), order);

describe('the cut-off epoch', () => {
  it('is 0 before any decision, beside no lockdown', async () => {
    // Act + Assess
    expect(await lockdowns.getCutOffEpoch()).toBe(0);
    expect(await lockdowns.getLockdownAndCutOffs(new Date())).toEqual({ lockdown: undefined, cutOffEpoch: 0, recentCutOffs: [] });
  });

  it('rises with every grant revocation (with its cut-off order or without one), and not with a refused one', async () => {
    // Prepare
    const [first, second] = await grants(2);

    // Act
    const withOrder = await revoke(first as Grant, anOrder('grant-revoked'));
    const withoutOrder = await revoke(second as Grant);
    const again = await revoke(first as Grant, anOrder('grant-revoked'));

    // Assess
    expect([withOrder, withoutOrder, again]).toEqual([true, true, false]);
    expect(await lockdowns.getCutOffEpoch()).toBe(2);
  });

  it('rises with a lockdown that cuts sessions off, and not with one that cuts nothing or its lifting', async () => {
    // Prepare
    const active = aLockdown({ version: 1 });

    // Act
    await lockdowns.putLockdown(active, 0, anEvent('lockdown.activated'));
    const afterPlain = await lockdowns.getCutOffEpoch();
    await lockdowns.putLockdown({ ...active, version: 2 }, 1, anEvent('lockdown.activated'), anOrder('lockdown'));
    const afterCutting = await lockdowns.getCutOffEpoch();
    await lockdowns.putLockdown({ ...active, active: false, version: 3 }, 2, anEvent('lockdown.lifted'));

    // Assess
    expect({ afterPlain, afterCutting, afterLifting: await lockdowns.getCutOffEpoch() }).toEqual({ afterPlain: 0, afterCutting: 1, afterLifting: 1 });
  });

  it('loses no rise when decisions race: 12 concurrent revocations raise it by 12', async () => {
    // Prepare
    const many = await grants(12);

    // Act
    const results = await Promise.all(many.map((grant) => revoke(grant, anOrder('grant-revoked'))));

    // Assess
    expect(results.every(Boolean)).toBe(true);
    expect(await lockdowns.getCutOffEpoch()).toBe(12);
  });

  it('reaches the vend with the lockdown and the cut-offs that still reach new sessions, in one strongly consistent Query', async () => {
    // Prepare: a lockdown that cuts sessions off (until FIXED_NOW), and a grant's cut-off (until an hour later)
    const active = aLockdown({ version: 1 });
    const lockdownOrder = anOrder('lockdown');
    await lockdowns.putLockdown(active, 0, anEvent('lockdown.activated'), lockdownOrder);
    const [grant] = await grants(1);
    const grantOrder = { ...anOrder('grant-revoked'), revocations: [{ kind: 'grant' as const, grantId: (grant as Grant).id, before: new Date(FIXED_NOW.getTime() + 3_600_000).toISOString() }] };
    await revoke(grant as Grant, grantOrder);
    const send = jest.spyOn(dynamodb().documentClient, 'send');

    // Act
    const before = await lockdowns.getLockdownAndCutOffs(new Date(FIXED_NOW.getTime() - 1000));
    // IAM rounds cutoffs up to the second, and clocks differ: read until 2 s past `before`.
    const justAfter = await lockdowns.getLockdownAndCutOffs(new Date(FIXED_NOW.getTime() + 1_500));
    const between = await lockdowns.getLockdownAndCutOffs(new Date(FIXED_NOW.getTime() + 2_000));
    const after = await lockdowns.getLockdownAndCutOffs(new Date(FIXED_NOW.getTime() + 3_602_000));

    // Assess
    const cutOff = (order: CutOffOrder) => ({ roles: order.roles, revocations: order.revocations });
    // Newest first: the Query reads the partition descending (the epoch before the cut-offs).
    expect(before).toEqual({ lockdown: active, cutOffEpoch: 2, recentCutOffs: [cutOff(grantOrder), cutOff(lockdownOrder)] });
    expect(justAfter).toEqual(before);
    expect(between).toEqual({ lockdown: active, cutOffEpoch: 2, recentCutOffs: [cutOff(grantOrder)] });
    expect(after).toEqual({ lockdown: active, cutOffEpoch: 2, recentCutOffs: [] });
    const commands = send.mock.calls.map(([command]) => command);
    expect(commands).toHaveLength(4);
    for (const command of commands) {
      expect(command).toBeInstanceOf(QueryCommand);
      expect((command as QueryCommand).input.ConsistentRead).toBe(true);
    }
  });

  it('keeps what a decision cut off only as long as it matters: the table’s TTL deletes it a day after its reach', async () => {
    // Prepare
    const order = anOrder('lockdown');

    // Act
    await lockdowns.putLockdown(aLockdown({ version: 1 }), 0, anEvent('lockdown.activated'), order);

    // Assess
    const items = await queryRawPartition(dynamodb().documentClient, tableName, 'LOCKDOWN');
    const recent = items.filter((item) => String(item.SK).startsWith('#CUT#'));
    expect(recent).toEqual([
      expect.objectContaining({ SK: `#CUT#${FIXED_NOW.toISOString()}#${order.id}`, expiresAt: FIXED_NOW.getTime() / 1000 + 86_400 }),
    ]);
  });

  it('rises once with a role-wide fallback put in force, which the vend then reads as a recent cut-off on its role', async () => {
    // Prepare
    const ledger = new DynamoDbRevocationLedger(dynamodb().documentClient, { tableName });
    const cutOff = { kind: 'role-wide' as const, before: new Date(FIXED_NOW.getTime() + 60_000).toISOString() };

    // Act: recorded twice (the schedule re-renders the same fallback), and once more at a later cutoff
    await ledger.recordFallback(ROLE, cutOff);
    await ledger.recordFallback(ROLE, cutOff);
    const afterOne = await lockdowns.getCutOffEpoch();
    await ledger.recordFallback(ROLE, { ...cutOff, before: new Date(FIXED_NOW.getTime() + 120_000).toISOString() });

    // Assess
    expect({ afterOne, afterTwo: await lockdowns.getCutOffEpoch() }).toEqual({ afterOne: 1, afterTwo: 2 });
    const { recentCutOffs } = await lockdowns.getLockdownAndCutOffs(new Date(FIXED_NOW.getTime() + 62_000));
    expect(recentCutOffs).toEqual([{ roles: [ROLE], revocations: [{ kind: 'role-wide', before: new Date(FIXED_NOW.getTime() + 120_000).toISOString() }] }]);
  });

  it('reads every page of a partition grown past one page (DynamoDB answers at most 1 MB a page)', async () => {
    // Prepare: cut-offs of many roles each (a lockdown of every profile lists every role), ~300 KB each
    const roles = Array.from({ length: 2_500 }, (_, i) => `arn:aws:iam::123456789012:role/team-${i}-with-a-long-role-name-${'x'.repeat(80)}`);
    const big = (i: number) => ({ ...anOrder('lockdown'), id: `order-big-${i}`, roles, revocations: [{ kind: 'role-wide' as const, before: new Date(FIXED_NOW.getTime() + 60_000).toISOString() }] });
    for (let i = 0; i < 5; i++) {
      await dynamodb().documentClient.send(new PutCommand(putRecentCutOff(tableName, { roles: big(i).roles, revocations: big(i).revocations }, big(i).id).Put));
    }

    // Act
    const read = await lockdowns.getLockdownAndCutOffs(FIXED_NOW);

    // Assess
    expect(read.recentCutOffs).toHaveLength(5);
  });

  it.each([['a string', '7'], ['a negative number', -1], ['a fraction', 1.5]])('refuses an epoch stored as %s, never reading it as 0', async (_what, epoch) => {
    // Prepare
    await dynamodb().documentClient.send(new PutCommand({ TableName: tableName, Item: { ...CUTOFF_EPOCH_KEY, epoch } }));

    // Act
    const errors = [await captureError(lockdowns.getCutOffEpoch()), await captureError(lockdowns.getLockdownAndCutOffs(FIXED_NOW))];

    // Assess
    for (const error of errors) expect(error).toBeInstanceOf(StoreUnavailableError);
  });

  it.each([
    ['of a kind tvm does not know', { kind: 'everyone', before: '2026-06-01T12:01:00.000Z' }],
    ['with a field its kind does not have', { kind: 'grant', grantId: 'grant-1', before: '2026-06-01T12:01:00.000Z', spares: 'mallory@example.com' }],
    ['without its reach', { kind: 'person', sourceIdentity: 'alice@example.com' }],
  ])('refuses a recent cut-off written around tvm %s, never reading past it', async (_what, revocation) => {
    // Prepare
    const cutOff = { roles: [ROLE], revocations: [{ kind: 'role-wide' as const, before: '2026-06-01T12:01:00.000Z' }] };
    const put = putRecentCutOff(tableName, cutOff, 'order-forged').Put;
    await dynamodb().documentClient.send(new PutCommand({ ...put, Item: { ...put.Item, revocations: [revocation] } }));

    // Act
    const error = await captureError(lockdowns.getLockdownAndCutOffs(FIXED_NOW));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });
});
