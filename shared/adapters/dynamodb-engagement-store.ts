import { BatchGetCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.js';
import { ConflictError, StoreUnavailableError } from '../domain/errors.js';
import { ENGAGEMENT_HANDED_OVER, type CutOffOrder, type Engagement, type Grant } from '../domain/model.js';
import type { EngagementStore, QuotaUpdate } from '../domain/ports.js';
import { quotaWrite } from './dynamodb-delegator-quota.js';
import {
  MAX_CHANGES_PER_TRANSACTION,
  writeWithAudit,
  type DelegationsTableOptions,
  type TransactItems,
} from './dynamodb-transactions.js';
import { readAllPages } from './dynamodb-profile-reader.js';
import {
  BY_SUBJECT_INDEX,
  ENGAGEMENTS_GSI1PK,
  engagementItem,
  engagementKey,
  grantItem,
  grantKey,
  grantKeysOf,
  handedOverGrantSortKey,
  cutOffWrites,
  toEngagement,
  toGrant,
  type GrantKey,
} from './delegation-keys.js';

export type DynamoDbEngagementStoreOptions = DelegationsTableOptions;

/** BatchGetItem reads at most 100 keys per request. */
const MAX_BATCH_KEYS = 100;
const MAX_BATCH_ATTEMPTS = 5;

/**
 * Engagements in the delegations table. Their grants are ordinary grant items (so the vend finds
 * them) carrying `engagementId`; the engagement item keeps their keys, so GET reads them by key.
 */
export class DynamoDbEngagementStore implements EngagementStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoDbEngagementStoreOptions,
  ) {}

  async createEngagement(
    engagement: Engagement,
    grants: readonly Grant[],
    audit: AuditEvent,
    parents: readonly Grant[],
    quota?: QuotaUpdate,
  ): Promise<void> {
    assertFits(1 + grants.length + parents.length + (quota ? 1 : 0));
    const written = await this.transact(
      [
        {
          Put: {
            TableName: this.options.tableName,
            Item: engagementItem(engagement, grants.map(grantKey)),
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        ...grants.map((grant) => ({
          Put: { TableName: this.options.tableName, Item: grantItem(grant), ConditionExpression: 'attribute_not_exists(PK)' },
        })),
        ...parents.map((parent) => this.stillActive(parent)),
        ...(quota ? [quotaWrite(this.options.tableName, quota)] : []),
      ],
      audit,
    );
    if (!written) {
      throw new ConflictError(
        `engagement ${engagement.id} could not be written: a grant it is delegated from is no longer active, an id exists, ` +
          `or the owner's delegation quota changed; nothing was written`,
      );
    }
  }

  async getEngagement(id: string): Promise<Engagement | undefined> {
    const item = await this.getEngagementItem(id);
    return item ? toEngagement(item) : undefined;
  }

  async listEngagements(): Promise<Engagement[]> {
    const items = await readAllPages(
      (startKey) =>
        this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: BY_SUBJECT_INDEX,
            KeyConditionExpression: 'GSI1PK = :pk',
            ExpressionAttributeValues: { ':pk': ENGAGEMENTS_GSI1PK },
            ExclusiveStartKey: startKey,
          }),
        ),
      (send) => this.read(send),
    );
    return items.map(toEngagement);
  }

  async getEngagementWithGrants(id: string): Promise<{ engagement: Engagement; grants: Grant[] } | undefined> {
    const item = await this.getEngagementItem(id);
    if (!item) return undefined;
    const keys = grantKeysOf(item);
    const found = await this.batchGet(keys);
    // BatchGetItem answers in any order: put the grants back in the order the engagement made them.
    const byKey = new Map(found.map((grantItem) => [keyString(grantItem as GrantKey), grantItem]));
    const grants = keys.flatMap((key) => {
      const grantItem = byKey.get(keyString(key));
      return grantItem ? [toGrant(grantItem)] : [];
    });
    return { engagement: toEngagement(item), grants };
  }

  async handOver(
    next: Engagement,
    expectedVersion: number,
    revoke: readonly Grant[],
    create: readonly Grant[],
    audit: AuditEvent,
    order: CutOffOrder,
    parents: readonly Grant[],
    quota?: QuotaUpdate,
  ): Promise<boolean> {
    if (!next.handover) throw new RangeError('handOver needs the engagement with its handover');
    assertFits(4 + revoke.length + create.length + parents.length + (quota ? 1 : 0));
    const { at, by } = next.handover;
    // Every attribute of `next` but the key, and the new grants' keys appended to the engagement's.
    const fields = Object.entries(next).filter(([name, value]) => name !== 'id' && value !== undefined);
    const names: Record<string, string> = { '#version': 'version', '#status': 'status' };
    const values: Record<string, unknown> = {
      ':expected': expectedVersion,
      ':active': 'active',
      ':newKeys': create.map(grantKey),
      ':none': [],
    };
    const assignments = fields.map(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:f${i}`] = value;
      return `#f${i} = :f${i}`;
    });
    return this.transact(
      [
        {
          Update: {
            TableName: this.options.tableName,
            Key: engagementKey(next.id),
            UpdateExpression: `SET ${assignments.join(', ')}, grantKeys = list_append(if_not_exists(grantKeys, :none), :newKeys)`,
            // Only the version read, and only once: a concurrent handover finds the version moved.
            ConditionExpression: '#version = :expected AND #status = :active',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
        ...revoke.map((grant) => {
          // Off the vend's read path, but until its end where a refused vend looks for the reason.
          const handedOverKey = handedOverGrantSortKey(grant);
          return {
            Update: {
              TableName: this.options.tableName,
              Key: grantKey(grant),
              UpdateExpression:
                'SET #status = :revoked, revokedAt = :at, revokedBy = :by, revokedReason = :reason, version = if_not_exists(version, :zero) + :one' +
                (handedOverKey ? ', LSI1SK = :handedOver' : ' REMOVE LSI1SK'),
              // Revoked meanwhile (on its own, or by a cascade): the plan is stale, write nothing.
              ConditionExpression: '#status = :active',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':revoked': 'revoked',
                ':active': 'active',
                ':at': at,
                ':by': by,
                ':reason': ENGAGEMENT_HANDED_OVER,
                ':zero': 0,
                ':one': 1,
                ...(handedOverKey ? { ':handedOver': handedOverKey } : {}),
              },
            },
          };
        }),
        ...create.map((grant) => ({
          Put: { TableName: this.options.tableName, Item: grantItem(grant), ConditionExpression: 'attribute_not_exists(PK)' },
        })),
        ...parents.map((parent) => this.stillActive(parent)),
        ...cutOffWrites(this.options.tableName, order),
        ...(quota ? [quotaWrite(this.options.tableName, quota)] : []),
      ],
      audit,
    );
  }

  private stillActive(grant: Grant) {
    return {
      ConditionCheck: {
        TableName: this.options.tableName,
        Key: grantKey(grant),
        ConditionExpression: '#status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':active': 'active' },
      },
    };
  }

  private async getEngagementItem(id: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.read(() =>
      this.client.send(new GetCommand({ TableName: this.options.tableName, Key: engagementKey(id), ConsistentRead: true })),
    );
    return out.Item;
  }

  /** Every item of `keys` that exists, strongly consistent; unprocessed keys are retried a few times. */
  private async batchGet(keys: readonly GrantKey[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let start = 0; start < keys.length; start += MAX_BATCH_KEYS) {
      let pending: Record<string, unknown>[] = keys.slice(start, start + MAX_BATCH_KEYS);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > MAX_BATCH_ATTEMPTS) throw new StoreUnavailableError('the engagement\'s grants could not be read (throttled)');
        if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
        const out = await this.read(() =>
          this.client.send(
            new BatchGetCommand({ RequestItems: { [this.options.tableName]: { Keys: pending, ConsistentRead: true } } }),
          ),
        );
        items.push(...(out.Responses?.[this.options.tableName] ?? []));
        pending = out.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
      }
    }
    return items;
  }

  private transact(items: TransactItems, audit: AuditEvent): Promise<boolean> {
    return writeWithAudit(this.client, { tableName: this.options.auditTableName, shards: this.options.auditShards, layout: this.options.auditLayout }, items, audit);
  }

  private async read<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StoreUnavailableError('the delegations table could not be read', { cause: error });
    }
  }
}

function assertFits(changes: number): void {
  if (changes > MAX_CHANGES_PER_TRANSACTION) {
    throw new RangeError(`an engagement write takes at most ${MAX_CHANGES_PER_TRANSACTION} items besides its audit event, got ${changes}`);
  }
}

const keyString = (key: GrantKey) => `${key.PK}\u0000${key.SK}`;
