// A chained audit write under a burst of writers from many processes (Lambda instances each writing
// once): a lost head race is a wait with backoff until the write's time budget is spent, not a
// failure after a few tries; a throttled transaction is a fault, retried at most three times. Time
// is virtual (test/fixtures/virtual-time.ts): the waits are asserted, not the machine's speed.
import 'aws-sdk-client-mock-jest';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { AuditChains, type AuditChainsOptions } from '../../shared/adapters/dynamodb-transactions.js';
import { adminEvent } from '../../shared/domain/audit.js';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';
import { virtualTime, type VirtualTime } from '../fixtures/virtual-time.js';
import { offlineDocumentClient } from '../fixtures/offline-document-client.js';

const TABLE = 'tvm-test-audit';
const HEAD_KEY = { PK: 'CHAIN#2026-06-01#0', SK: 'HEAD' };
const ddb = mockClient(DynamoDBDocumentClient);
const documentClient = offlineDocumentClient();

let time: VirtualTime;

beforeEach(() => {
  ddb.reset();
  time = virtualTime();
});

const anEvent = () => adminEvent(FIXED_NOW, 'e1', 'profile.put', aPrincipal(), { requestId: 'req-1' }, { profile: 'dev-readonly' });

/** A process's chain state on the virtual clock. */
const processChains = (options: AuditChainsOptions = {}) => new AuditChains({ clock: time.clock, sleep: time.sleep, ...options });
/** One shard, so every attempt races for the head of the same chain. */
const aLog = (chains = processChains()) => new DynamoDbAuditLog(documentClient, { tableName: TABLE, shards: 1, layout: 'legacy', chains });
/** A head another process wrote just now (on the virtual clock): a chain it is busy on. */
const headWrittenNow = (seq: number, hash: string) => ({ ...HEAD_KEY, seq, hash, at: time.clock.now().toISOString() });

function cancelled(codes: string[], head?: Record<string, unknown>) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code, i) => ({ Code, ...(i === 1 && head ? { Item: marshall(head) } : {}) })),
  });
}

/** Another writer wins every race until `losses` races are lost, moving the head each time. */
function headMovesFor(losses: number): void {
  let seq = 100;
  let calls = 0;
  ddb.on(TransactWriteCommand).callsFake(() => {
    calls += 1;
    if (calls > losses) return Promise.resolve({});
    seq += 1;
    return Promise.reject(cancelled(['None', 'ConditionalCheckFailed'], headWrittenNow(seq, 'd'.repeat(64))));
  });
}

describe('a chained write losing races to other processes', () => {
  it('keeps relinking past many lost races while its budget lasts, and lands linked to the last head it saw', async () => {
    // Prepare: 12 races lost in a row (a burst of writers on a busy chain)
    headMovesFor(12);

    // Act
    const result = await aLog().append(anEvent());

    // Assess
    expect(result).toBe('appended');
    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(13);
    const landed = calls[12]?.args[0].input.TransactItems ?? [];
    expect(landed[0]?.Put?.Item).toMatchObject({ chainSeq: 113 });
    expect(landed[1]?.Put).toMatchObject({
      ConditionExpression: 'seq = :expected AND #hash = :hash',
      ExpressionAttributeValues: { ':expected': 112, ':hash': 'd'.repeat(64) },
    });
  });

  it('waits longer after each lost race (random backoff, doubling), instead of retrying at once', async () => {
    // Prepare: the jitter at its midpoint; the waits between two attempts, each group opened by a send
    const waitsAfter: number[][] = [];
    const recordedSleep = time.sleep;
    const sleep = (milliseconds: number) => (waitsAfter.at(-1)?.push(milliseconds), recordedSleep(milliseconds));
    ddb.on(TransactWriteCommand).callsFake(async () => {
      waitsAfter.push([]);
      if (waitsAfter.length > 6) return {};
      throw cancelled(['None', 'ConditionalCheckFailed'], headWrittenNow(200 + waitsAfter.length, 'e'.repeat(64)));
    });

    // Act
    await aLog(processChains({ sleep, random: () => 0.5 })).append(anEvent());

    // Assess: the first wait after each loss is its backoff, half of 20·2^k ms (k: races lost; the
    // first loss only taught the head of a chain this process had not seen); the lease may then
    // wait out the pause of the shard it lost on.
    expect(waitsAfter).toHaveLength(7);
    expect(waitsAfter.slice(0, 6).map(([backoff]) => backoff)).toEqual([10, 20, 40, 80, 160, 320]);
    expect(waitsAfter[6]).toEqual([]);
  });

  it('gives up once the budget is spent, with AuditUnavailableError, and never after it', async () => {
    // Prepare
    headMovesFor(Infinity);

    // Act
    const error = await failureOf(aLog(processChains({ raceBudgetMs: 400 })).append(anEvent()));

    // Assess: no backoff starts that would end past the budget; only the pause of the shard lost on
    // (at most 200 ms) may carry the last attempt beyond it
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(ddb.commandCalls(TransactWriteCommand).length).toBeGreaterThan(2);
    expect(time.elapsed()).toBeLessThanOrEqual(400 + 201);
  });

  it('treats TransactionConflict (another transaction holding the head) as a lost race, not a failure', async () => {
    // Prepare
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .resolves({});

    // Act
    const result = await aLog().append(anEvent());

    // Assess
    expect(result).toBe('appended');
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 7);
    expect(time.sleeps.length).toBeGreaterThanOrEqual(6);
  });
});

describe('a chained write that is throttled', () => {
  it('makes at most 3 attempts, then AuditUnavailableError', async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(cancelled(['None', 'ThrottlingError']));

    // Act
    const error = await failureOf(aLog().append(anEvent()));

    // Assess
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 3);
  });
});
