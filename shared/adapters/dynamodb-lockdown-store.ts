import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.js';
import { StoreUnavailableError } from '../domain/errors.js';
import type { Lockdown } from '../domain/model.js';
import type { LockdownStore } from '../domain/ports.js';
import { writeWithAudit, type DelegationsTableOptions } from './dynamodb-transactions.js';

// The one lockdown record, beside profiles and grants.
const KEY = { PK: 'LOCKDOWN', SK: '#LOCKDOWN' };

export class DynamoDbLockdownStore implements LockdownStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DelegationsTableOptions,
  ) {}

  async getLockdown(): Promise<Lockdown | undefined> {
    try {
      // Strongly consistent: no vend may slip through after an activation has been acknowledged.
      const out = await this.client.send(new GetCommand({ TableName: this.options.tableName, Key: KEY, ConsistentRead: true }));
      if (!out.Item) return undefined;
      const { PK: _pk, SK: _sk, ...lockdown } = out.Item;
      return lockdown as Lockdown;
    } catch (error) {
      throw new StoreUnavailableError('the lockdown state could not be read', { cause: error });
    }
  }

  putLockdown(next: Lockdown, expectedVersion: number, audit: AuditEvent): Promise<boolean> {
    const condition =
      expectedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(PK)' }
        : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } };
    return writeWithAudit(
      this.client,
      { tableName: this.options.auditTableName, shards: this.options.auditShards },
      [{ Put: { TableName: this.options.tableName, Item: { ...KEY, ...next }, ...condition } }],
      audit,
    );
  }
}
