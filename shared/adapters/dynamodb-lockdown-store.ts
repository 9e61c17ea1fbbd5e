import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { AuditEvent } from '../domain/audit.js';
import { StoreUnavailableError } from '../domain/errors.js';
import type { CutOffOrder, Lockdown } from '../domain/model.js';
import type { LockdownStore } from '../domain/ports.js';
import { putCutOffOrder } from './delegation-keys.js';
import { writeWithAudit, type DelegationsTableOptions } from './dynamodb-transactions.js';

// The one lockdown record, beside profiles and grants.
export const LOCKDOWN_KEY = { PK: 'LOCKDOWN', SK: '#LOCKDOWN' };
const KEY = LOCKDOWN_KEY;

// The stored record, parsed: a vend must not act on a lockdown it cannot read in full.
const storedLockdown = z
  .object({
    active: z.boolean(),
    profiles: z.array(z.string()),
    roles: z.array(z.string()).default([]),
    allow: z.object({ groups: z.array(z.string()), principals: z.array(z.string()) }),
    reason: z.string(),
    activatedBy: z.string(),
    activatedAt: z.string(),
    liftedBy: z.string().optional(),
    liftedAt: z.string().optional(),
    liftReason: z.string().optional(),
    version: z.number().int(),
  })
  .passthrough();

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
      return storedLockdown.parse(lockdown) as Lockdown;
    } catch (error) {
      throw new StoreUnavailableError('the lockdown state could not be read', { cause: error });
    }
  }

  putLockdown(next: Lockdown, expectedVersion: number, audit: AuditEvent, order?: CutOffOrder): Promise<boolean> {
    const condition =
      expectedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(PK)' }
        : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } };
    return writeWithAudit(
      this.client,
      { tableName: this.options.auditTableName, shards: this.options.auditShards },
      [
        { Put: { TableName: this.options.tableName, Item: { ...KEY, ...next }, ...condition } },
        ...(order ? [putCutOffOrder(this.options.tableName, order)] : []),
      ],
      audit,
    );
  }
}
