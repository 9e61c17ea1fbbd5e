// A log file's progress in DynamoDB Local: read strongly consistently, only ever moved forward (a
// slower duplicate delivery cannot move it back), and left to the table's TTL.
import { DynamoDbTrailProgress, trailProgressKey } from '../../shared/adapters/dynamodb-trail-progress.js';
import { getRawItem, useDynamoDbLocal, type TestTables } from './support/dynamodb.js';

const dynamodb = useDynamoDbLocal();
const NOW = new Date('2026-06-01T12:00:00Z');
let tables: TestTables;
let progress: DynamoDbTrailProgress;

beforeAll(async () => {
  tables = await dynamodb().createTestTables();
  progress = new DynamoDbTrailProgress(dynamodb().documentClient, { tableName: tables.delegations, now: () => NOW });
});

it('starts a file at 0, keeps the furthest position saved, and expires it after three days', async () => {
  // Act
  const fresh = await progress.resumeAt('trail-bucket', 'AWSLogs/a.json.gz');
  await progress.save('trail-bucket', 'AWSLogs/a.json.gz', 4_000);
  await progress.save('trail-bucket', 'AWSLogs/a.json.gz', 2_000);
  const resumed = await progress.resumeAt('trail-bucket', 'AWSLogs/a.json.gz');

  // Assess
  expect([fresh, resumed]).toEqual([0, 4_000]);
  expect(await progress.resumeAt('trail-bucket', 'AWSLogs/b.json.gz')).toBe(0);
  expect(await getRawItem(dynamodb().documentClient, tables.delegations, trailProgressKey('trail-bucket', 'AWSLogs/a.json.gz'))).toEqual({
    PK: 'TRAIL#trail-bucket/AWSLogs/a.json.gz',
    SK: 'PROGRESS',
    resumeAt: 4_000,
    expiresAt: NOW.getTime() / 1000 + 3 * 24 * 3600,
  });
});
