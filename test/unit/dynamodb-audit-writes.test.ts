// Chained audit writes in the legacy layout (TVM_AUDIT_LAYOUT=legacy, while an existing stack gains
// the chain-keyed indexes) against a mocked DynamoDB document client: the exact TransactWriteItems
// each write sends (event, chain head, once-marker, after the change it records), how a lost
// head race is relinked and retried, and how each cancellation reason is answered. The chains run on
// virtual time (test/fixtures/virtual-time.ts): waits are asserted, never the machine's speed.
import 'aws-sdk-client-mock-jest';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { GENESIS_HASH, hashItem, linkItem } from '../../shared/adapters/audit-chain.js';
import { auditItem } from '../../shared/adapters/audit-keys.js';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { AuditChains, writeWithAudit, type ShardLease } from '../../shared/adapters/dynamodb-transactions.js';
import { adminEvent, type AuditEvent } from '../../shared/domain/audit.js';
import { AuditUnavailableError, StoreUnavailableError } from '../../shared/domain/errors.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';
import { anIssuance, aUse } from '../fixtures/key-events.js';
import { virtualTime, type VirtualTime } from '../fixtures/virtual-time.js';
import { offlineDocumentClient } from '../fixtures/offline-document-client.js';

const TABLE = 'tvm-test-audit';
const DAY = '2026-06-01';
const ddb = mockClient(DynamoDBDocumentClient);
const documentClient = offlineDocumentClient();

let time: VirtualTime;
let chains: AuditChains;

beforeEach(() => {
  ddb.reset();
  time = virtualTime();
  chains = new AuditChains({ clock: time.clock, sleep: time.sleep });
});

function anEvent(n = 1): AuditEvent {
  return adminEvent(FIXED_NOW, `e${n}`, 'profile.put', aPrincipal(), { requestId: `req-${n}` }, { profile: 'dev-readonly' });
}

/** One shard, so every write goes to the chain 2026-06-01#0. */
function newLog(): DynamoDbAuditLog {
  return new DynamoDbAuditLog(documentClient, { tableName: TABLE, shards: 1, layout: 'legacy', chains });
}

/** A cancellation as DynamoDB reports it: one reason per action, items as raw attribute values. */
function cancelled(reasons: { Code: string; Item?: Record<string, unknown> }[]) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: reasons.map(({ Code, Item }) => ({ Code, ...(Item ? { Item: marshall(Item) } : {}) })),
  });
}

const headKey = { PK: `CHAIN#${DAY}#0`, SK: 'HEAD' };
const transactions = () => ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems ?? []);

describe('DynamoDbAuditLog.append', () => {
  it('sends one transaction: the linked event, the new head (no head yet) and the once-marker, each append-only', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});
    const event = anEvent();
    const item = linkItem(auditItem(event, 0), undefined);

    // Act
    const result = await newLog().append(event, { onceKey: 'cloudtrail:evt-1' });

    // Assess
    expect(result).toBe('appended');
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 1);
    expect(transactions()[0]).toEqual([
      {
        Put: {
          TableName: TABLE,
          Item: item,
          ConditionExpression: 'attribute_not_exists(PK)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Put: {
          TableName: TABLE,
          // When the head was written (the writer's clock), and which event it names (for its anchor).
          Item: { ...headKey, seq: 1, hash: item.hash, at: expect.stringMatching(/^2\d{3}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), eventId: event.id },
          ConditionExpression: 'attribute_not_exists(PK)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: { PK: 'ONCE#cloudtrail:evt-1', SK: 'ONCE', eventId: event.id },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
    ]);
    expect(item).toMatchObject({ chainSeq: 1, prevHash: GENESIS_HASH, GSI3PK: `TIME#${DAY}#0`, GSI4PK: `TYPE#profile.put#${DAY}#0` });
  });

  it('relinks the event to the head a lost race returned, retries as a new command, and remembers the head', async () => {
    // Prepare
    // Written a minute before now: not a chain another process is busy on.
    const current = { ...headKey, seq: 7, hash: 'b'.repeat(64), at: '2026-06-01T11:59:00.000Z' };
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: current }]))
      .resolves({});
    const log = newLog();

    // Act
    const first = await log.append(anEvent(1));
    const second = await log.append(anEvent(2));

    // Assess
    expect([first, second]).toEqual(['appended', 'appended']);
    const [lost, relinked, next] = transactions();
    expect(lost?.[1]?.Put?.ConditionExpression).toBe('attribute_not_exists(PK)');
    expect(relinked?.[0]?.Put?.Item).toMatchObject({ chainSeq: 8, prevHash: current.hash });
    expect(relinked?.[1]?.Put).toMatchObject({
      Item: { seq: 8, hash: relinked?.[0]?.Put?.Item?.hash },
      // The head it links to, by place and hash: a cached head the table does not hold fails.
      ConditionExpression: 'seq = :expected AND #hash = :hash',
      ExpressionAttributeNames: { '#hash': 'hash' },
      ExpressionAttributeValues: { ':expected': 7, ':hash': current.hash },
    });
    expect(relinked?.[0]?.Put?.Item?.hash).toBe(hashItem(relinked?.[0]?.Put?.Item ?? {}));
    expect(next?.[0]?.Put?.Item).toMatchObject({ chainSeq: 9, prevHash: relinked?.[0]?.Put?.Item?.hash });
    expect(next?.[1]?.Put?.ExpressionAttributeValues).toEqual({ ':expected': 8, ':hash': relinked?.[0]?.Put?.Item?.hash });
    expect(transactions()).toHaveLength(3);
  });

  it('moves to another shard when the head it learns was written moments ago by another process', async () => {
    // Prepare
    const busy = (shard: string) => ({ PK: `CHAIN#${DAY}#${shard}`, SK: 'HEAD', seq: 40, hash: 'e'.repeat(64), at: time.clock.now().toISOString() });
    ddb
      .on(TransactWriteCommand)
      .callsFakeOnce((input: { TransactItems: { Put: { Item: Record<string, unknown> } }[] }) => {
        const shard = String(input.TransactItems[0]?.Put.Item.GSI3PK).split('#')[2] ?? '';
        return Promise.reject(cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: busy(shard) }]));
      })
      .resolves({});
    const log = new DynamoDbAuditLog(documentClient, { tableName: TABLE, shards: 2, layout: 'legacy', chains });

    // Act
    const result = await log.append(anEvent());

    // Assess
    expect(result).toBe('appended');
    const [first, second] = transactions();
    expect(second?.[0]?.Put?.Item?.GSI3PK).not.toBe(first?.[0]?.Put?.Item?.GSI3PK);
    expect(second?.[0]?.Put?.Item).toMatchObject({ chainSeq: 1, prevHash: GENESIS_HASH });
  });

  it('links a use into the chain set of uses: its own shards, head and leases, never waiting for a lease of issuance’s chains', async () => {
    // Prepare: every lease of the events set is held (a busy process), and the uses set has three chains
    ddb.on(TransactWriteCommand).resolves({});
    const useChains = new AuditChains({ clock: time.clock, sleep: time.sleep });
    const log = new DynamoDbAuditLog(documentClient, { tableName: TABLE, shards: 1, layout: 'legacy', useShards: 3, chains, useChains });
    const held = await chains.lease(1);
    const use = aUse(anIssuance(), { eventTime: '2026-06-01T11:59:00Z' });

    // Act
    const result = await log.append(use, { onceKey: `cloudtrail:${use.cloudTrailEventId}` });

    // Assess
    expect(result).toBe('appended');
    const [[event, head] = []] = transactions();
    const label = String(event?.Put?.Item?.GSI3PK).split('#')[2];
    expect(['u0', 'u1', 'u2']).toContain(label);
    expect(event?.Put?.Item).toMatchObject({ GSI3PK: `TIME#${DAY}#${label}`, GSI4PK: `TYPE#credential.used#${DAY}#${label}`, chainSeq: 1 });
    expect(head?.Put?.Item).toMatchObject({ PK: `CHAIN#${DAY}#${label}`, SK: 'HEAD', seq: 1 });
    expect(useChains.head(`${DAY}#${label}`)).toMatchObject({ seq: 1 });
    expect(chains.head(`${DAY}#${label}`)).toBeUndefined();
    held.release();
  });

  it("answers 'duplicate' when the once-marker exists, without retrying", async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' }]));

    // Act
    const result = await newLog().append(anEvent(), { onceKey: 'alert:use-after-revocation:AKIA1' });

    // Assess
    expect(result).toBe('duplicate');
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 1);
  });

  it('gives up with AuditUnavailableError once its race budget is spent when the head keeps moving', async () => {
    // Prepare
    let seq = 10;
    ddb
      .on(TransactWriteCommand)
      .callsFake(() =>
        Promise.reject(cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { ...headKey, seq: ++seq, hash: 'c'.repeat(64) } }])),
      );
    chains = new AuditChains({ raceBudgetMs: 300, clock: time.clock, sleep: time.sleep });

    // Act
    const error = await failureOf(newLog().append(anEvent()));

    // Assess: past the budget only by the pause of the shard last lost on (at most 200 ms)
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(TransactionCanceledException);
    expect(time.elapsed()).toBeLessThanOrEqual(300 + 201);
    expect(ddb.commandCalls(TransactWriteCommand).length).toBeGreaterThan(2);
  });

  it('does not retry a failure that is not a cancellation', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(new Error('socket hang up'));

    // Act
    const error = await failureOf(newLog().append(anEvent()));

    // Assess
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 1);
  });
});

describe('writeWithAudit', () => {
  const change = { Put: { TableName: 'tvm-test-delegations', Item: { PK: 'PROFILE#p', SK: '#PROFILE' }, ConditionExpression: 'attribute_not_exists(PK)' } };
  const client = () => documentClient;

  it('sends the change first, then the linked event and the head', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});
    const event = anEvent();

    // Act
    const written = await writeWithAudit(client(), { tableName: TABLE, shards: 1, layout: 'legacy', chains }, [change], event);

    // Assess
    expect(written).toBe(true);
    const [items] = transactions();
    expect(items).toHaveLength(3);
    expect(items?.[0]).toEqual(change);
    expect(items?.[1]?.Put?.Item).toEqual(linkItem(auditItem(event, 0), undefined));
    expect(items?.[2]?.Put?.Item).toMatchObject(headKey);
  });

  it("returns false when the change's own condition failed, even if the head moved too", async () => {
    // Prepare
    ddb
      .on(TransactWriteCommand)
      .rejects(
        cancelled([
          { Code: 'ConditionalCheckFailed' },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Item: { ...headKey, seq: 3, hash: 'd'.repeat(64), at: FIXED_NOW.toISOString() } },
        ]),
      );

    // Act
    const written = await writeWithAudit(client(), { tableName: TABLE, shards: 1, layout: 'legacy', chains }, [change], anEvent());

    // Assess
    expect(written).toBe(false);
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 1);
    expect(chains.head(`${DAY}#0`)).toEqual({ seq: 3, hash: 'd'.repeat(64), at: FIXED_NOW.toISOString() });
  });

  it('throws StoreUnavailableError, without writing, when the event id exists', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { PK: 'x' } }, { Code: 'None' }]));

    // Act
    const error = await failureOf(writeWithAudit(client(), { tableName: TABLE, shards: 1, layout: 'legacy', chains }, [change], anEvent()));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(TransactionCanceledException);
  });

  it('refuses more than 99 changes before sending anything (the chain-keyed event takes one of 100 actions)', async () => {
    // Prepare
    const changes = Array.from({ length: 100 }, () => change);

    // Act
    const error = await failureOf(writeWithAudit(client(), { tableName: TABLE, shards: 1, layout: 'legacy', chains }, changes, anEvent()));

    // Assess
    expect(error).toBeInstanceOf(RangeError);
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 0);
  });

  it('records 99 changes chain-keyed: the legacy event and head would take 101 actions', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).resolves({});
    const changes = Array.from({ length: 99 }, () => change);

    // Act
    const written = await writeWithAudit(client(), { tableName: TABLE, shards: 1, layout: 'legacy', chains }, changes, anEvent());

    // Assess
    expect(written).toBe(true);
    const [items] = transactions();
    expect(items).toHaveLength(100);
    expect(items?.[99]?.Put?.Item).toMatchObject({ PK: `LINK#${DAY}#0`, SK: 'SEQ#000000000001', chainSeq: 1 });
  });
});

describe('AuditChains.lease', () => {
  it('gives concurrent writes distinct shards, leaves one to other processes, and queues the rest', async () => {
    // Prepare
    const leases = await Promise.all([chains.lease(4), chains.lease(4), chains.lease(4)]);
    let fourth: number | undefined;
    const waiting = chains.lease(4).then((lease) => (fourth = lease.shard));

    // Act
    await new Promise((resolve) => setTimeout(resolve, 10));
    const beforeRelease = fourth;
    leases[1]?.release();
    await waiting;

    // Assess
    expect(new Set(leases.map((lease) => lease.shard)).size).toBe(3);
    expect(beforeRelease).toBeUndefined();
    expect([leases[0]?.shard, leases[2]?.shard]).not.toContain(fourth);
  });

  it('keeps to the shard it last won on, so its cached head of that chain stays current', async () => {
    // Prepare
    const first = await chains.lease(64);
    first.release();

    // Act
    const shards: number[] = [];
    for (let write = 0; write < 20; write++) {
      const lease = await chains.lease(64);
      shards.push(lease.shard);
      lease.release();
    }

    // Assess
    expect(new Set(shards)).toEqual(new Set([first.shard]));
  });

  it('leaves the shard it last won on once it loses a race there', async () => {
    // Prepare
    const won = await chains.lease(64);
    won.release();
    const lost = await chains.lease(64);
    lost.release(true);

    // Act
    const next = await chains.lease(64);

    // Assess
    expect(lost.shard).toBe(won.shard);
    expect(next.shard).not.toBe(won.shard);
  });

  it('avoids a shard it just lost a race on while another is free', async () => {
    // Prepare
    const lost = await chains.lease(2);
    lost.release(true);

    // Act
    const next = await chains.lease(2);

    // Assess
    expect(next.shard).toBe(1 - lost.shard);
  });

  it('holds fewer shards at once after a lost race, and more again after enough wins', async () => {
    // Prepare: 8 shards allow 7 at once; a lost race halves that to 3
    (await chains.lease(8)).release(true);
    const held = await Promise.all([chains.lease(8), chains.lease(8), chains.lease(8)]);
    let extra: ShardLease | undefined;
    const waiting = chains.lease(8).then((lease) => (extra = lease));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const whileLimited = extra;

    // Act: 4 × 3 wins, each shard passed on to the waiting write or freed
    for (const lease of held) lease.release();
    await waiting;
    for (let win = 0; win < 11; win++) (await chains.lease(8)).release();
    const afterWins = await Promise.all([1, 2, 3].map(() => chains.lease(8)));

    // Assess
    expect(whileLimited).toBeUndefined();
    expect(extra).toBeDefined();
    expect(new Set([extra?.shard, ...afterWins.map((lease) => lease.shard)]).size).toBe(4);
  });

  it('with a single shard, waits out the pause after a lost race instead of retrying at once', async () => {
    // Prepare
    const lost = await chains.lease(1);
    lost.release(true);

    // Act
    const next = await chains.lease(1, { retry: true });

    // Assess: one wait, past the pause (50 to 200 ms) of the shard
    expect(next.shard).toBe(0);
    expect(time.sleeps).toHaveLength(1);
    expect(time.elapsed()).toBeGreaterThan(50);
    expect(time.elapsed()).toBeLessThanOrEqual(201);
  });
});
