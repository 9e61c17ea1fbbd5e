// Backfill: grants and engagements stored before the byCreator index and the engagements' bySubject
// entries have no keys there, so `GET /grants?createdBy=me` and `GET /engagements` would leave them
// out. This adds those keys to every such item, from its own fields (the same functions the store
// writes them with), each only where the item still exists and still has none. Safe to run twice.
//
//   npm run backfill-indexes -- --stage prod [--region eu-west-1] [--dry-run]
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { creatorIndexKeys, engagementIndexKeys } from '../shared/adapters/delegation-keys.js';

export interface BackfillReport {
  readonly grants: number;
  readonly engagements: number;
  /** Items without the fields their keys come from: left as they are, by key. */
  readonly skipped: { readonly PK: string; readonly SK: string }[];
}

export async function backfillIndexes(client: DynamoDBDocumentClient, tableName: string, options: { readonly dryRun: boolean }): Promise<BackfillReport> {
  let grants = 0;
  let engagements = 0;
  const skipped: BackfillReport['skipped'] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '(entity = :grant AND attribute_not_exists(GSI3PK)) OR (entity = :engagement AND attribute_not_exists(GSI1PK))',
        ExpressionAttributeValues: { ':grant': 'grant', ':engagement': 'engagement' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const keys = indexKeysOf(item);
      const key = { PK: String(item.PK), SK: String(item.SK) };
      if (!keys) {
        skipped.push(key);
        continue;
      }
      if (!options.dryRun) {
        const [first, second] = Object.keys(keys) as [string, string];
        await client
          .send(
            new UpdateCommand({
              TableName: tableName,
              Key: key,
              UpdateExpression: 'SET #a = :a, #b = :b',
              ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#a)',
              ExpressionAttributeNames: { '#a': first, '#b': second },
              ExpressionAttributeValues: { ':a': keys[first], ':b': keys[second] },
            }),
          )
          .catch((error: unknown) => {
            // Deleted, or given its keys by a write of its own, since the scan read it.
            if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
          });
      }
      if (item.entity === 'grant') grants++;
      else engagements++;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { grants, engagements, skipped };
}

function indexKeysOf(item: Record<string, unknown>): Record<string, string> | undefined {
  const { id, createdAt, createdBy } = item;
  if (typeof id !== 'string' || typeof createdAt !== 'string') return undefined;
  if (item.entity === 'engagement') return engagementIndexKeys({ id, createdAt });
  return typeof createdBy === 'string' ? creatorIndexKeys({ id, createdAt, createdBy }) : undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stage: { type: 'string' }, region: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } } });
  if (!values.stage) {
    console.error('usage: npm run backfill-indexes -- --stage <stage> [--region <region>] [--dry-run]');
    process.exitCode = 2;
    return;
  }
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(values.region ? { region: values.region } : {}));
  const report = await backfillIndexes(client, `tvm-${values.stage}-delegations`, { dryRun: values['dry-run'] === true });
  console.log(JSON.stringify(report, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
