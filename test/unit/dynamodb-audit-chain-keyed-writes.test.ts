// Chained audit writes in the chain-keyed layout (the default) against a mocked DynamoDB document
// client: the exact PutItem a record with no change sends (one item, its place in its chain as its
// key, never overwriting), the read of a chain's last item before the first write to it, how a
// place found taken is relinked, and that a failed put which is no lost race fails the write.
import 'aws-sdk-client-mock-jest';
import { ConditionalCheckFailedException, InternalServerError } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoDBRecord } from 'aws-lambda';
import { CHAIN_KEYED_GENESIS_HASH, linkItem } from '../../shared/adapters/audit-chain.js';
import { chainKeyedItem } from '../../shared/adapters/audit-keys.js';
import { decodeAuditStreamRecord } from '../../shared/adapters/dynamodb-audit-stream.js';
import { DynamoDbAuditLog } from '../../shared/adapters/dynamodb-audit-log.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { adminEvent, type AuditEvent } from '../../shared/domain/audit.js';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';
import { failureOf } from '../fixtures/failure.js';
import { virtualTime } from '../fixtures/virtual-time.js';
import { offlineDocumentClient } from '../fixtures/offline-document-client.js';

const TABLE = 'tvm-test-audit';
const DAY = '2026-06-01';
const ddb = mockClient(DynamoDBDocumentClient);
const documentClient = offlineDocumentClient();

let chains: AuditChains;

beforeEach(() => {
  ddb.reset();
  const time = virtualTime();
  chains = new AuditChains({ clock: time.clock, sleep: time.sleep });
});

const anEvent = (n = 1): AuditEvent =>
  adminEvent(FIXED_NOW, `e${n}`, 'profile.put', aPrincipal(), { requestId: `req-${n}` }, { profile: 'dev-readonly' });

/** One shard, so every write goes to the chain 2026-06-01#x0. */
const newLog = () => new DynamoDbAuditLog(documentClient, { tableName: TABLE, shards: 1, chains });

describe('DynamoDbAuditLog.append, chain-keyed', () => {
  it("reads a new chain's last item, then sends one PutItem: the event at the next place, never overwriting", async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(PutCommand).resolves({});
    const event = anEvent();

    // Act
    const result = await newLog().append(event);

    // Assess
    expect(result).toBe('appended');
    expect(ddb).toReceiveCommandWith(QueryCommand, {
      TableName: TABLE,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': `LINK#${DAY}#0` },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    const item = linkItem(chainKeyedItem(event, 0, 1), undefined);
    expect(ddb).toReceiveCommandTimes(PutCommand, 1);
    expect(ddb).toReceiveCommandWith(PutCommand, {
      TableName: TABLE,
      Item: item,
      ConditionExpression: 'attribute_not_exists(PK)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(ddb).toReceiveCommandTimes(TransactWriteCommand, 0);
    expect(item).toMatchObject({ PK: `LINK#${DAY}#0`, SK: 'SEQ#000000000001', chainSeq: 1, prevHash: CHAIN_KEYED_GENESIS_HASH, id: event.id });
    expect(item).not.toHaveProperty('GSI3PK');
    expect(item).not.toHaveProperty('XSK');
  });

  it('relinks after the item a lost race returned, at the next place, and reads the chain no more', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [] });
    const winner = linkItem(chainKeyedItem(anEvent(9), 0, 1), undefined);
    ddb
      .on(PutCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'taken', $metadata: {}, Item: marshall(winner) }))
      .resolves({});

    // Act
    const result = await newLog().append(anEvent(1));

    // Assess
    expect(result).toBe('appended');
    const puts = ddb.commandCalls(PutCommand).map((call) => call.args[0].input.Item);
    expect(puts.map((item) => item?.SK)).toEqual(['SEQ#000000000001', 'SEQ#000000000002']);
    expect(puts[1]).toMatchObject({ chainSeq: 2, prevHash: winner.hash });
    expect(ddb).toReceiveCommandTimes(QueryCommand, 1);
  });

  it('fails with AuditUnavailableError when the put fails for any reason but a lost race: nothing is issued unrecorded', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(PutCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));

    // Act
    const error = await failureOf(newLog().append(anEvent()));

    // Assess
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(ddb).toReceiveCommandTimes(PutCommand, 1);
  });

  it('takes its own item met again (a retry after a lost response) as written', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [] });
    const mine = linkItem(chainKeyedItem(anEvent(1), 0, 1), undefined);
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'taken', $metadata: {}, Item: marshall(mine) }));

    // Act
    const result = await newLog().append(anEvent(1));

    // Assess
    expect(result).toBe('appended');
    expect(ddb).toReceiveCommandTimes(PutCommand, 1);
  });
});

describe('the audit stream, chain-keyed', () => {
  const record = (item: Record<string, unknown>): DynamoDBRecord => ({
    eventName: 'INSERT',
    dynamodb: { NewImage: marshall(item) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'] },
  });

  it('decodes a chain-keyed event item, and skips one edited behind tvm’s back', () => {
    // Prepare
    const event = anEvent();
    const item = linkItem(chainKeyedItem(event, 0, 1), undefined);

    // Act
    const decoded = decodeAuditStreamRecord(record(item));
    const edited = decodeAuditStreamRecord(record({ ...item, principal: 'someone-else' }));

    // Assess
    expect(decoded).toEqual({ event });
    expect(edited).toEqual({ skipped: 'not-intact' });
  });

  it('skips a chain-keyed item whose hash is re-encoded in hex: the same digest, not its chain’s encoding', () => {
    // Prepare
    const item = linkItem(chainKeyedItem(anEvent(), 0, 1), undefined);
    const hex = Buffer.from(item.hash, 'base64url').toString('hex');

    // Act
    const decoded = decodeAuditStreamRecord(record({ ...item, hash: hex }));

    // Assess
    expect(decoded).toEqual({ skipped: 'not-intact' });
  });
});
