// A chained audit write under a burst of writers from many processes (Lambda instances each writing
// once): a lost head race is a wait with backoff until the write's time budget is spent, not a
// failure after a few tries; a throttled transaction is a fault, retried at most three times.
import 'aws-sdk-client-mock-jest';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { adminEvent } from '../../shared/domain/audit.js';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';

const TABLE = 'tvm-test-audit';
const HEAD_KEY = { PK: 'CHAIN#2026-06-01#0', SK: 'HEAD' };
const ddb = mockClient(DynamoDBDocumentClient);
/** Never reaches the network: the mock answers every command. */
const documentClient = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  { marshallOptions: { removeUndefinedValues: true } },
);

beforeEach(() => ddb.reset());

const anEvent = () => adminEvent(FIXED_NOW, 'e1', 'profile.put', aPrincipal(), { requestId: 'req-1' }, { profile: 'dev-readonly' });

/** One shard, so every attempt races for the head of the same chain. */
const aLog = (chains = new AuditChains()) => new DynamoDbAuditLog(documentClient, { tableName: TABLE, shards: 1, chains });

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
    return Promise.reject(cancelled(['None', 'ConditionalCheckFailed'], { ...HEAD_KEY, seq, hash: 'd'.repeat(64), at: new Date().toISOString() }));
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
  }, 15_000);

  it('waits longer after each lost race (random backoff, doubling), instead of retrying at once', async () => {
    // Prepare
    headMovesFor(6);
    const sentAt: number[] = [];
    ddb.on(TransactWriteCommand).callsFake(async () => {
      sentAt.push(Date.now());
      if (sentAt.length > 6) return {};
      throw cancelled(['None', 'ConditionalCheckFailed'], { ...HEAD_KEY, seq: 200 + sentAt.length, hash: 'e'.repeat(64), at: new Date().toISOString() });
    });

    // Act
    await aLog().append(anEvent());

    // Assess: up to 20·2^k ms before attempt k+1; the last waits are up to 640 ms, so the whole run
    // takes visibly longer than six immediate retries would, and stays far inside the budget.
    const total = (sentAt.at(-1) ?? 0) - (sentAt[0] ?? 0);
    expect(sentAt).toHaveLength(7);
    expect(total).toBeGreaterThan(20);
    expect(total).toBeLessThan(2 * 1270 + 500);
  }, 15_000);

  it('gives up once the budget is spent, with AuditUnavailableError, and never after it', async () => {
    // Prepare
    headMovesFor(Infinity);
    const started = Date.now();

    // Act
    const error = await failureOf(aLog(new AuditChains({ raceBudgetMs: 400 })).append(anEvent()));

    // Assess
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(Date.now() - started).toBeLessThan(400 + 250);
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
  }, 15_000);
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
