// ops/backfill-indexes.ts on DynamoDB Local: grants and engagements stored before byCreator and the
// engagements' bySubject entries (items written without those keys) are found by
// `GET /grants?createdBy=` and `GET /engagements` once it has run; a second run changes nothing.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { backfillIndexes } from '../../ops/backfill-indexes.js';
import { engagementItem, grantItem, grantKey } from '../../shared/adapters/delegation-keys.js';
import { DynamoDbDelegationStore } from '../../shared/adapters/dynamodb-delegation-store.js';
import { DynamoDbEngagementStore } from '../../shared/adapters/dynamodb-engagement-store.js';
import type { Engagement } from '../../shared/domain/model.js';
import { aGrant } from '../fixtures/builders.js';
import { scanRawTable, useDynamoDbLocal } from './support/dynamodb.js';

const dynamodb = useDynamoDbLocal();

const LEAD = 'lead@example.com';

/** An item as the store wrote it before these keys existed. */
function withoutNewKeys(item: Record<string, unknown>, ...names: string[]): Record<string, unknown> {
  const copy = { ...item };
  for (const name of names) delete copy[name];
  return copy;
}

it('gives old grants and engagements their index keys, so the listings find them, and is safe to run twice', async () => {
  // Prepare
  const tables = await dynamodb().createTestTables();
  const client = dynamodb().documentClient;
  const options = { tableName: tables.delegations, auditTableName: tables.audit, auditShards: 4 };
  const grants = [aGrant({ id: 'old-grant-1', createdBy: LEAD }), aGrant({ id: 'old-grant-2', createdBy: LEAD, status: 'revoked' })];
  const engagement: Engagement = {
    id: 'eng-old-0001',
    name: 'Old engagement',
    owner: LEAD,
    contractors: ['dev@agency.example'],
    profiles: [{ profile: 'dev-readonly' }],
    validUntil: '2027-01-01T00:00:00.000Z',
    status: 'active',
    createdBy: LEAD,
    createdAt: '2026-05-01T00:00:00.000Z',
    version: 1,
  };
  for (const grant of grants) {
    await client.send(new PutCommand({ TableName: tables.delegations, Item: withoutNewKeys(grantItem(grant), 'GSI3PK', 'GSI3SK') }));
  }
  await client.send(
    new PutCommand({ TableName: tables.delegations, Item: withoutNewKeys(engagementItem(engagement, grants.map(grantKey)), 'GSI1PK', 'GSI1SK') }),
  );
  const store = new DynamoDbDelegationStore(client, options);
  const engagements = new DynamoDbEngagementStore(client, options);
  const before = { grants: await store.listGrants({ createdBy: LEAD }), engagements: await engagements.listEngagements() };

  // Act
  const dryRun = await backfillIndexes(client, tables.delegations, { dryRun: true });
  const afterDryRun = await store.listGrants({ createdBy: LEAD });
  const first = await backfillIndexes(client, tables.delegations, { dryRun: false });
  const second = await backfillIndexes(client, tables.delegations, { dryRun: false });

  // Assess
  expect(before).toEqual({ grants: [], engagements: [] });
  expect(dryRun).toEqual({ grants: 2, engagements: 1, skipped: [] });
  expect(afterDryRun).toEqual([]);
  expect(first).toEqual({ grants: 2, engagements: 1, skipped: [] });
  expect(second).toEqual({ grants: 0, engagements: 0, skipped: [] });
  expect((await store.listGrants({ createdBy: LEAD })).map((grant) => grant.id)).toEqual(['old-grant-1', 'old-grant-2']);
  expect(await engagements.listEngagements()).toEqual([engagement]);
  // Exactly as the store writes them today.
  const raw = await scanRawTable(client, tables.delegations);
  expect(raw.filter((item) => item.entity === 'grant')).toEqual(expect.arrayContaining(grants.map((grant) => grantItem(grant))));
});
