// How far ingestTrailLogs got through a log file, so a retry resumes instead of starting from
// record 0: TRAIL#<bucket>/<key> / PROGRESS in the delegations table, `resumeAt` the position below
// which every record is settled (recorded, a duplicate or skipped). Only ever moves forward, and
// the table's TTL (`expiresAt`) removes it after a few days: CloudTrail never rewrites a log file.
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TrailProgress } from '../domain/ports.js';


const RETENTION_SECONDS = 3 * 24 * 3600;

export const trailProgressKey = (bucket: string, key: string) => ({ PK: `TRAIL#${bucket}/${key}`, SK: 'PROGRESS' });

export class DynamoDbTrailProgress implements TrailProgress {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: { readonly tableName: string; readonly now?: () => Date },
  ) {}

  async resumeAt(bucket: string, key: string): Promise<number> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.options.tableName, Key: trailProgressKey(bucket, key), ConsistentRead: true }));
    const position = Item?.resumeAt;
    return typeof position === 'number' && Number.isInteger(position) && position >= 0 ? position : 0;
  }

  async save(bucket: string, key: string, resumeAt: number): Promise<void> {
    const now = (this.options.now ?? (() => new Date()))();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...trailProgressKey(bucket, key), resumeAt, expiresAt: Math.floor(now.getTime() / 1000) + RETENTION_SECONDS },
          // A slower duplicate delivery of the same file must not move it back.
          ConditionExpression: 'attribute_not_exists(resumeAt) OR resumeAt < :resumeAt',
          ExpressionAttributeValues: { ':resumeAt': resumeAt },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
