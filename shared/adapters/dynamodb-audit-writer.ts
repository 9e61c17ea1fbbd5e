// Appending to the audit trail, and nothing else: what the vend function needs of it, in a class of
// its own so the vend bundle carries no query or verify code (DynamoDbAuditLog extends it).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.js';
import { AuditUnavailableError } from '../domain/errors.js';
import type { AppendOptions, AppendResult, AuditWriter } from '../domain/ports.js';
import { isSameEvent, type AuditLayout } from './audit-keys.js';
import { writeChained, type AuditChains, type ChainedWriteResult } from './dynamodb-transactions.js';

export interface DynamoDbAuditWriterOptions {
  readonly tableName: string;
  /** Chains per day for everything but uses. */
  readonly shards: number;
  /** Chains per day for uses (credential.used), a set of their own; DEFAULT_USE_SHARDS when left out. */
  readonly useShards?: number;
  /**
   * Head cache and shard leases of each chain set. By default the ones every writer of this table
   * in the process shares; separate ones behave like another process (another Lambda instance).
   */
  readonly chains?: AuditChains;
  readonly useChains?: AuditChains;
  /** How events are written; chain-keyed unless said otherwise (AuditLayout says what each reads). */
  readonly layout?: AuditLayout;
}

export class DynamoDbAuditWriter implements AuditWriter {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    protected readonly table: DynamoDbAuditWriterOptions,
  ) {}

  async append(event: AuditEvent, options: AppendOptions = {}): Promise<AppendResult> {
    const unavailable = (cause: unknown) =>
      new AuditUnavailableError('the audit trail could not record this request; nothing was issued', { cause });
    let result: ChainedWriteResult;
    try {
      result = await this.write(event, options);
    } catch (error) {
      throw unavailable(error);
    }
    if (result.outcome === 'event-exists') {
      // A retry after a lost response finds its own write already there (linked, perhaps on
      // another shard): that is success, not a reason to discard credentials whose issuance is
      // recorded. Anything else under the same id is not.
      if (isSameEvent(result.existing, event)) return 'appended';
      throw unavailable(result.error);
    }
    return result.outcome === 'duplicate' ? 'duplicate' : 'appended';
  }

  /** The chained write itself; DynamoDbAuditLog adds a key's first counted use (recordUse's). */
  protected write(event: AuditEvent, options: AppendOptions): Promise<ChainedWriteResult> {
    return writeChained(this.client, this.table, [], event, options);
  }
}
