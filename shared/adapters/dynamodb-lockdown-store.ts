import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { AuditEvent } from '../domain/audit.js';
import { StoreUnavailableError } from '../domain/errors.js';
import type { CutOffOrder, Lockdown } from '../domain/model.js';
import type { LockdownAndCutOffs, LockdownReader, LockdownStore } from '../domain/ports.js';
import { RECENT_MARGIN_MS, type RecentCutOff } from '../domain/recent-cut-offs.js';
import { ROLE_ARN } from '../domain/roles.js';
import { CUTOFF_EPOCH_KEY, cutOffWrites, LOCKDOWN_KEY, LOCKDOWN_PK, RECENT_CUT_OFF_PREFIX } from './delegation-keys.js';
import { revocationSchema } from './dynamodb-revocation-ledger.js';
import { writeWithAudit, type DelegationsTableOptions } from './dynamodb-transactions.js';

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

const UNREADABLE = 'the lockdown state could not be read';
const MAX_PAGES = 10;
const storedEpoch = /* @__PURE__ */ (() => z.number().int().min(0))();
const storedRecentCutOff = /* @__PURE__ */ (() => z.object({ roles: z.array(z.string().regex(ROLE_ARN)).min(1), revocations: z.array(revocationSchema).min(1) }))();

/** What a vend reads, without the rest of the store (the vend's bundle must stay small). */
export class DynamoDbLockdownReader implements LockdownReader {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    protected readonly options: Pick<DelegationsTableOptions, 'tableName'>,
  ) {}

  async getLockdownAndCutOffs(now: Date): Promise<LockdownAndCutOffs> {
    // One Query of the partition, from the cut-offs that may still reach a session minted now on
    // (two seconds' margin: IAM rounds a cutoff up to the second, clocks differ) to the epoch and
    // the lockdown, which sort after them. Descending: the epoch is read before the cut-offs, so an
    // epoch that shows a decision comes with what that decision cut off (a Query is read-committed
    // item by item, not a snapshot).
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; ; page++) {
      // Fail closed past a bound: cut-offs are rare, so many pages means something is wrong.
      if (page === MAX_PAGES) throw new StoreUnavailableError(UNREADABLE);
      const out = await this.read(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            KeyConditionExpression: 'PK = :pk AND SK > :from',
            // `~` sorts after the `#<id>` of a cut-off reaching exactly that far: it is left out.
            ExpressionAttributeValues: { ':pk': LOCKDOWN_PK, ':from': `${RECENT_CUT_OFF_PREFIX}${new Date(now.getTime() - RECENT_MARGIN_MS).toISOString()}~` },
            ScanIndexForward: false,
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
      if (!startKey) break;
    }
    const lockdown = items.find((item) => item.SK === KEY.SK);
    const epoch = items.find((item) => item.SK === CUTOFF_EPOCH_KEY.SK);
    return {
      lockdown: lockdown ? parseLockdown(lockdown) : undefined,
      cutOffEpoch: epoch ? parseEpoch(epoch) : 0,
      recentCutOffs: items.filter((item) => String(item.SK).startsWith(RECENT_CUT_OFF_PREFIX)).map(parseRecentCutOff),
    };
  }

  protected async read<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StoreUnavailableError(UNREADABLE, { cause: error });
    }
  }
}

export class DynamoDbLockdownStore extends DynamoDbLockdownReader implements LockdownStore {
  constructor(
    client: DynamoDBDocumentClient,
    protected override readonly options: DelegationsTableOptions,
  ) {
    super(client, options);
  }

  async getCutOffEpoch(): Promise<number> {
    const out = await this.read(() =>
      this.client.send(new GetCommand({ TableName: this.options.tableName, Key: CUTOFF_EPOCH_KEY, ConsistentRead: true })),
    );
    return out.Item ? parseEpoch(out.Item) : 0;
  }

  async getLockdown(): Promise<Lockdown | undefined> {
    // Strongly consistent: no vend may slip through after an activation has been acknowledged.
    const out = await this.read(() => this.client.send(new GetCommand({ TableName: this.options.tableName, Key: KEY, ConsistentRead: true })));
    return out.Item ? parseLockdown(out.Item) : undefined;
  }

  putLockdown(next: Lockdown, expectedVersion: number, audit: AuditEvent, order?: CutOffOrder): Promise<boolean> {
    const condition =
      expectedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(PK)' }
        : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } };
    return writeWithAudit(
      this.client,
      { tableName: this.options.auditTableName, shards: this.options.auditShards, layout: this.options.auditLayout },
      [
        { Put: { TableName: this.options.tableName, Item: { ...KEY, ...next }, ...condition } },
        ...(order ? cutOffWrites(this.options.tableName, order) : []),
      ],
      audit,
    );
  }
}

function parseLockdown(item: Record<string, unknown>): Lockdown {
  const { PK: _pk, SK: _sk, ...lockdown } = item;
  const parsed = storedLockdown.safeParse(lockdown);
  if (!parsed.success) throw new StoreUnavailableError(UNREADABLE, { cause: parsed.error });
  return parsed.data as Lockdown;
}

function parseRecentCutOff(item: Record<string, unknown>): RecentCutOff {
  const parsed = storedRecentCutOff.safeParse(item);
  if (!parsed.success) throw new StoreUnavailableError(UNREADABLE, { cause: parsed.error });
  return parsed.data;
}

function parseEpoch(item: Record<string, unknown>): number {
  const parsed = storedEpoch.safeParse(item.epoch);
  if (!parsed.success) throw new StoreUnavailableError(UNREADABLE, { cause: parsed.error });
  return parsed.data;
}
