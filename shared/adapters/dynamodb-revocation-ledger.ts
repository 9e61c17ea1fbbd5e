// The revocation ledgers and the cut-off orders, in the delegations table (keys: delegation-keys.ts).
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { StoreUnavailableError } from '../domain/errors.js';
import type { CutOffOrder } from '../domain/model.js';
import type { CutOffOrders, RevocationLedger, RevocationLedgerEntry } from '../domain/ports.js';
import type { Revocation } from '../domain/revocation-policy.js';
import { roleKey } from '../domain/roles.js';
import { cutOffOrderItem, cutOffOrderKey, LEDGER_PK, ledgerKey, ORDERS_PK, putRecentCutOff, raiseCutOffEpoch } from './delegation-keys.js';

const MAX_PAGES = 50;
const FALLBACK_RECORD_ATTEMPTS = 3;

// Stored items are parsed, not cast: a ledger or order tvm cannot read in full is not acted on.
// Each schema is built in a pure function call, so bundles that never read a ledger (the vend
// function's, through composition) drop it whole, arguments and all.
// Discriminated by `kind`: a vend parses the recent cut-offs, and a plain union would try every
// alternative in turn, building an error for each that does not fit.
export const revocationSchema: z.ZodType<Revocation> = /* @__PURE__ */ (() => z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('person'), sourceIdentity: z.string(), before: z.string() }).strict(),
  z.object({ kind: z.literal('grant'), grantId: z.string(), before: z.string() }).strict(),
  z
    .object({ kind: z.literal('lockdown'), allowedSourceIdentities: z.array(z.string()), exemptTag: z.string().optional(), before: z.string() })
    .strict(),
  z.object({ kind: z.literal('role-wide'), before: z.string() }).strict(),
]))();

const ledgerSchema = /* @__PURE__ */ (() => z.object({
  roleArn: z.string(),
  revocations: z.array(revocationSchema),
  version: z.number().int().min(1),
  updatedAt: z.string(),
  documents: z.array(z.string()),
}))();

const orderSchema = /* @__PURE__ */ (() => z.object({
  id: z.string(),
  cause: z.enum(['lockdown', 'engagement-handed-over', 'grant-revoked']),
  decidedAt: z.string(),
  decidedBy: z.string(),
  requestId: z.string(),
  revocations: z.array(revocationSchema),
  roles: z.array(z.string()),
  attempts: z.number().int().min(0),
  context: z.record(z.string()),
}))();

interface Table {
  readonly tableName: string;
}

export class DynamoDbRevocationLedger implements RevocationLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: Table,
  ) {}

  async get(roleArn: string): Promise<RevocationLedgerEntry | undefined> {
    const out = await this.read(() =>
      this.client.send(new GetCommand({ TableName: this.table.tableName, Key: ledgerKey(roleArn), ConsistentRead: true })),
    );
    return out.Item ? ledgerSchema.parse(out.Item) : undefined;
  }

  async put(entry: RevocationLedgerEntry, expectedVersion: number): Promise<boolean> {
    const condition =
      expectedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(PK)' }
        : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } };
    return writeConditionally(() =>
      this.client.send(new PutCommand({ TableName: this.table.tableName, Item: { ...ledgerKey(entry.roleArn), entity: 'ledger', ...entry }, ...condition })),
    );
  }

  async list(): Promise<RevocationLedgerEntry[]> {
    return (await queryPartition(this.client, this.table.tableName, LEDGER_PK)).map((item) => ledgerSchema.parse(item));
  }

  async recordFallback(roleArn: string, cutOff: Extract<Revocation, { kind: 'role-wide' }>): Promise<void> {
    const { tableName } = this.table;
    const record = () =>
      this.client.send(
        new TransactWriteCommand({
          TransactItems: [putRecentCutOff(tableName, { roles: [roleArn], revocations: [cutOff] }, `role-wide#${roleKey(roleArn)}`), raiseCutOffEpoch(tableName)],
        }),
      );
    // Every decision raises the epoch too: a transaction that met one is tried again, a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        // Refused by the record's condition: recorded already, which is all this asks.
        await writeConditionally(record);
        return;
      } catch (error) {
        const conflict = (error as { cause?: { CancellationReasons?: { Code?: string }[] } }).cause?.CancellationReasons?.some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= FALLBACK_RECORD_ATTEMPTS) throw error;
      }
    }
  }

  private async read<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new StoreUnavailableError('the revocation ledger could not be read', { cause: error });
    }
  }
}

export class DynamoDbCutOffOrders implements CutOffOrders {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: Table,
  ) {}

  async list(): Promise<CutOffOrder[]> {
    return (await queryPartition(this.client, this.table.tableName, ORDERS_PK)).map((item) => orderSchema.parse(item));
  }

  update(order: CutOffOrder, expectedAttempts: number): Promise<boolean> {
    return writeConditionally(() =>
      this.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: cutOffOrderItem(order),
          // Only while it is still the order read: one carried out or moved on meanwhile stays so.
          ConditionExpression: 'attempts = :expected',
          ExpressionAttributeValues: { ':expected': expectedAttempts },
        }),
      ),
    );
  }

  async complete(id: string): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.table.tableName, Key: cutOffOrderKey(id) }));
    } catch (error) {
      throw new StoreUnavailableError('the cut-off order could not be completed', { cause: error });
    }
  }
}

async function writeConditionally(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    // A transaction refused only by a condition (not a conflict or a throttle).
    const reasons = (error as { name?: string; CancellationReasons?: { Code?: string }[] }).CancellationReasons;
    if ((error as { name?: string }).name === 'TransactionCanceledException' && reasons?.some((r) => r.Code === 'ConditionalCheckFailed') && reasons.every((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'None')) {
      return false;
    }
    throw new StoreUnavailableError('the delegations table could not be written', { cause: error });
  }
}

async function queryPartition(client: DynamoDBDocumentClient, tableName: string, pk: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
      if (!startKey) return items;
    }
  } catch (error) {
    throw new StoreUnavailableError('the delegations table could not be read', { cause: error });
  }
  throw new StoreUnavailableError('too many items to read in one request');
}
