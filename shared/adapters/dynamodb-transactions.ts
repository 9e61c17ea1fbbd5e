// The one way tvm changes state: the change and its audit event in one DynamoDB transaction, so no
// change goes unrecorded and no record describes a change that did not happen.
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.js';
import { StoreUnavailableError } from '../domain/errors.js';
import { APPEND_ONLY_CONDITION, auditItem } from './audit-keys.js';

/** Where the stores on the delegations table write, and where their audit events go. */
export interface DelegationsTableOptions {
  readonly tableName: string;
  readonly auditTableName: string;
  readonly auditShards: number;
}

export type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

const MAX_TRANSACTION_ATTEMPTS = 3;
/** TransactWriteItems takes 100 actions; one is always the audit event. */
export const MAX_CHANGES_PER_TRANSACTION = 99;

/**
 * Writes `items` and the audit event atomically. Returns false when one of the change's own
 * conditions failed (nothing was written); retries a bounded number of times when another
 * transaction held an item; any other failure is StoreUnavailableError.
 */
export async function writeWithAudit(
  client: DynamoDBDocumentClient,
  auditTable: { readonly tableName: string; readonly shards: number },
  items: TransactItems,
  audit: AuditEvent,
): Promise<boolean> {
  const command = new TransactWriteCommand({
    TransactItems: [
      ...items,
      {
        Put: {
          TableName: auditTable.tableName,
          Item: auditItem(audit, auditTable.shards),
          ConditionExpression: APPEND_ONLY_CONDITION,
        },
      },
    ],
  });
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(command);
      return true;
    } catch (error) {
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      const changeConditionFailed = reasons.slice(0, items.length).some((r) => r.Code === 'ConditionalCheckFailed');
      const auditConditionFailed = reasons[items.length]?.Code === 'ConditionalCheckFailed';
      if (changeConditionFailed && !auditConditionFailed) return false;
      // Another transaction held one of the items: bounded retries, then give up.
      if (reasons.some((r) => r.Code === 'TransactionConflict') && attempt < MAX_TRANSACTION_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
        continue;
      }
      throw new StoreUnavailableError('the change could not be written; nothing was changed', { cause: error });
    }
  }
}
