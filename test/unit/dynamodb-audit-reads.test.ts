// The reads about one access key in the legacy layout against a mocked DynamoDB document client: the exact Query or Get
// each sends (which partition, which filter, which direction, consistent or not), and that a key's
// record is read whole however often the key was used, without reading a single use.
import 'aws-sdk-client-mock-jest';
import { jest } from '@jest/globals';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { linkItem } from '../../shared/adapters/audit-chain.js';
import { auditItem } from '../../shared/adapters/audit-keys.js';
import { DynamoDbAuditLog, wholeIdPage } from '../../shared/adapters/dynamodb-audit-log.js';
import { auditCursorSchema, fromCursor, toCursor } from '../../shared/domain/schemas.js';
import type { AuditEvent } from '../../shared/domain/audit.js';
import { logger } from '../../shared/logger.js';
import { anAlert, anIssuance, aSessionRevoked, aUse, KEY } from '../fixtures/key-events.js';
import { offlineDocumentClient } from '../fixtures/offline-document-client.js';

const TABLE = 'tvm-test-audit';
const ddb = mockClient(DynamoDBDocumentClient);
const documentClient = offlineDocumentClient();

beforeEach(() => {
  ddb.reset();
});

const newLog = () => new DynamoDbAuditLog(documentClient, { tableName: TABLE, shards: 1, layout: 'legacy', warn: () => undefined });

/** The item tvm writes for `event`, linked into chain shard 0. */
const stored = (event: AuditEvent) => linkItem(auditItem(event, 0), undefined);

describe("DynamoDbAuditLog: a key's record", () => {
  it('reads the whole record of a key used 12,000 times, page after page, from its own partition only', async () => {
    // Prepare: the index returns the issuance, then (next page) the cut-off and an alert.
    const issuance = anIssuance();
    const revoked = aSessionRevoked(issuance);
    const alert = anAlert();
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [stored(issuance)], LastEvaluatedKey: { PK: 'x', SK: issuance.id, GSI1PK: `KEY#${KEY}` } })
      .resolvesOnce({ Items: [stored(revoked), stored(alert)] });

    // Act
    const events = await newLog().controlEventsForKey(KEY);

    // Assess
    expect(events).toEqual([issuance, revoked, alert]);
    expect(ddb).toReceiveCommandTimes(QueryCommand, 2);
    expect(ddb).toReceiveNthSpecificCommandWith(1, QueryCommand, {
      TableName: TABLE,
      IndexName: 'byAccessKey',
      KeyConditionExpression: '#pk = :pk',
      FilterExpression: '#type <> :type',
      ExpressionAttributeNames: { '#pk': 'GSI1PK', '#type': 'type' },
      ExpressionAttributeValues: { ':pk': `KEY#${KEY}`, ':type': 'credential.used' },
    });
    expect(ddb).toReceiveNthSpecificCommandWith(2, QueryCommand, { ExclusiveStartKey: { PK: 'x', SK: issuance.id, GSI1PK: `KEY#${KEY}` } });
  });

  it('looks for the issuance among the control events only, by type', async () => {
    // Prepare
    const issuance = anIssuance();
    ddb.on(QueryCommand).resolves({ Items: [stored(issuance)] });

    // Act
    const found = await newLog().findIssuance(KEY);

    // Assess
    expect(found).toEqual(issuance);
    expect(ddb).toReceiveCommandWith(QueryCommand, {
      IndexName: 'byAccessKey',
      FilterExpression: '#type = :type',
      ExpressionAttributeValues: { ':pk': `KEY#${KEY}`, ':type': 'credential.issued' },
    });
  });
});

describe("DynamoDbAuditLog.usesOfKey", () => {
  it('reads the newest uses first from the uses partition, one more than the limit to know whether more follow', async () => {
    // Prepare
    const issuance = anIssuance();
    const [newer, older] = [aUse(issuance, { eventTime: '2026-06-01T11:50:00Z' }), aUse(issuance, { eventTime: '2026-06-01T11:40:00Z' })];
    ddb.on(QueryCommand).resolves({ Items: [stored(newer as AuditEvent), stored(older as AuditEvent)] });

    // Act
    const page = await newLog().usesOfKey({ accessKeyId: KEY, limit: 1 });

    // Assess
    expect(page).toEqual({ uses: [newer], nextCursor: newer.id });
    expect(ddb).toReceiveCommandWith(QueryCommand, {
      IndexName: 'byAccessKey',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'GSI1PK' },
      ExpressionAttributeValues: { ':pk': `KEYUSE#${KEY}` },
      ScanIndexForward: false,
      Limit: 2,
    });
  });

  it('stops after 10 requests that find nothing, reads the rest of the last key read, and gives a cursor at it', async () => {
    // Prepare: every request of the walk reads items, none of them intact; the last key has no more items
    const last = { PK: 'x', SK: '2026-06-01T11:00:00.000Z#ct-9', GSI1PK: `KEYUSE#${KEY}` };
    ddb.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: last });
    ddb.on(QueryCommand, { KeyConditionExpression: '#pk = :pk AND #sk = :upper' }).resolves({ Items: [] });

    // Act
    const page = await newLog().usesOfKey({ accessKeyId: KEY, limit: 1 });

    // Assess
    expect(page).toEqual({ uses: [], nextCursor: '2026-06-01T11:00:00.000Z#ct-9' });
    expect(ddb).toReceiveCommandTimes(QueryCommand, 11);
    expect(ddb).toReceiveNthSpecificCommandWith(11, QueryCommand, {
      KeyConditionExpression: '#pk = :pk AND #sk = :upper',
      ExpressionAttributeNames: { '#pk': 'GSI1PK', '#sk': 'SK' },
      ExpressionAttributeValues: { ':pk': `KEYUSE#${KEY}`, ':upper': last.SK },
      ExclusiveStartKey: last,
      ScanIndexForward: false,
    });
  });

  it('reports a last key with more items than a page may read (a partition padded by someone else), and gives a cursor at it', async () => {
    // Prepare: the walk and the rest of its last key never end
    const last = '2026-06-01T11:00:00.000Z#ct-9';
    ddb.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: { PK: 'x', SK: last, GSI1PK: `KEYUSE#${KEY}` } });
    const reported = jest.spyOn(logger, 'error').mockImplementation(() => undefined);

    // Act
    const page = await newLog().usesOfKey({ accessKeyId: KEY, limit: 1 });

    // Assess
    expect(page).toEqual({ uses: [], nextCursor: last });
    expect(ddb).toReceiveCommandTimes(QueryCommand, 20);
    expect(reported).toHaveBeenCalledWith('audit index partition padded with items tvm did not write', expect.objectContaining({ partition: `KEYUSE#${KEY}`, key: last }));
    reported.mockRestore();
  });
});

describe('wholeIdPage', () => {
  const of = (...ids: string[]) => ids.map((id, n) => ({ id, n }));

  it.each<[string, ReturnType<typeof of>, number, { page: number[]; last?: string }]>([
    ['fewer than the limit: all, no cursor', of('c', 'b'), 3, { page: [0, 1] }],
    ['more, cut between two ids', of('d', 'c', 'b'), 2, { page: [0, 1], last: 'c' }],
    ['more, the cut inside a run: the run left for the next page', of('d', 'c', 'c', 'c', 'b'), 2, { page: [0], last: 'd' }],
    ['a run filling the page: returned whole', of('c', 'c', 'c', 'b'), 2, { page: [0, 1, 2], last: 'c' }],
    ['only a run: returned whole', of('c', 'c', 'c'), 2, { page: [0, 1, 2], last: 'c' }],
  ])('%s', (_, items, limit, expected) => {
    // Act
    const { page, last } = wholeIdPage(items, limit);

    // Assess
    expect({ page: page.map((item) => item.n), ...(last === undefined ? {} : { last }) }).toEqual(expected);
  });
});


describe('DynamoDbAuditLog.isRecordedOnce', () => {
  it('reads the once-marker strongly consistently, from the table, not an index', async () => {
    // Prepare
    ddb.on(GetCommand).resolvesOnce({ Item: { PK: 'ONCE#alert:x' } }).resolvesOnce({});

    // Act
    const answers = [await newLog().isRecordedOnce('alert:x'), await newLog().isRecordedOnce('alert:y')];

    // Assess
    expect(answers).toEqual([true, false]);
    expect(ddb).toReceiveNthSpecificCommandWith(1, GetCommand, {
      TableName: TABLE,
      Key: { PK: 'ONCE#alert:x', SK: 'ONCE' },
      ConsistentRead: true,
      ProjectionExpression: 'PK',
    });
  });
});

describe('audit cursors', () => {
  it.each([
    ['an event id, as it is', '2026-06-01T11:00:00.000Z#ct-9', '2026-06-01T11:00:00.000Z#ct-9'],
    ['a key no event has, encoded', '2026-06-01T11:45:00.000Z#a b1', `~${Buffer.from('2026-06-01T11:45:00.000Z#a b1').toString('base64url')}`],
    ['a key of any characters, encoded', 'ü\u0000~', `~${Buffer.from('ü\u0000~').toString('base64url')}`],
  ])('hands out %s, which the API takes back and which stands for the key', (_, key, cursor) => {
    // Act
    const handedOut = toCursor(key);

    // Assess
    expect(handedOut).toBe(cursor);
    expect(auditCursorSchema.safeParse(handedOut).success).toBe(true);
    expect(fromCursor(handedOut)).toBe(key);
  });

  it.each(['~', '~A', '~a b', '~abc=', 'a b', `~${'A'.repeat(1367)}`, `~${Buffer.from('2026-06-01T11:00:00.000Z#ct-9').toString('base64url')}`])('refuses %j as a cursor', (cursor) => {
    expect(auditCursorSchema.safeParse(cursor).success).toBe(false);
  });
});
