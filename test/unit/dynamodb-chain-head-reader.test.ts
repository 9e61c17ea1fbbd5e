// The anchoring's reads of a legacy chain's newest events go through its time index, which lags
// the head (read consistently): a place the index does not show yet is read once more before the
// anchoring is told it holds nothing, or it would hold back an honest chain.
import 'aws-sdk-client-mock-jest';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbChainHeadReader } from '../../shared/adapters/dynamodb-chain-head-reader.js';
import { offlineDocumentClient } from '../fixtures/offline-document-client.js';

const ddb = mockClient(DynamoDBDocumentClient);
const CHAIN = '2026-06-01#0';
const WINDOW = { through: 2, datedFrom: '2026-06-01T11:40:00.000Z' };
const link = (seq: number) => ({ chainSeq: seq, id: `2026-06-01T12:0${seq}:00.000Z#e${seq}`, at: `2026-06-01T12:0${seq}:00.000Z` });

beforeEach(() => {
  ddb.reset();
});

function reader(pauses: number[]): DynamoDbChainHeadReader {
  return new DynamoDbChainHeadReader(offlineDocumentClient(), {
    tableName: 'audit',
    shards: 1,
    pause: async (milliseconds) => void pauses.push(milliseconds),
  });
}

describe('DynamoDbChainHeadReader.linksAfter on a legacy chain', () => {
  it('reads the time index once more, after a second, when it shows fewer places than the head has', async () => {
    // Prepare: the index shows place 1 only, then both
    ddb.on(QueryCommand).resolvesOnce({ Items: [link(1)] }).resolvesOnce({ Items: [link(1), link(2)] });
    const pauses: number[] = [];

    // Act
    const links = await reader(pauses).linksAfter(CHAIN, 0, WINDOW);

    // Assess
    expect(links.map((found) => found.seq)).toEqual([1, 2]);
    expect(pauses).toEqual([1_000]);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'byTime',
      KeyConditionExpression: 'GSI3PK = :pk AND SK >= :from',
      ExpressionAttributeValues: { ':pk': `TIME#${CHAIN}`, ':from': WINDOW.datedFrom, ':first': 1, ':last': 2 },
    });
  });

  it('answers at once when the index shows every place, and short after one more read when it still does not', async () => {
    // Prepare
    ddb.on(QueryCommand).resolvesOnce({ Items: [link(1), link(2)] }).resolvesOnce({ Items: [link(2)] }).resolves({ Items: [link(2)] });
    const pauses: number[] = [];
    const subject = reader(pauses);

    // Act
    const full = await subject.linksAfter(CHAIN, 0, WINDOW);
    const short = await subject.linksAfter(CHAIN, 0, WINDOW);

    // Assess
    expect(full).toHaveLength(2);
    expect(short.map((found) => found.seq)).toEqual([2]);
    expect(pauses).toEqual([1_000]);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 3);
  });
});
