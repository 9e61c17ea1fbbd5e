// Appending to the audit trail, and nothing else: what the vend function needs of it, in a class of
// its own so the vend bundle carries no query or verify code (DynamoDbAuditLog extends it).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent, CredentialUsedEvent } from '../domain/audit.js';
import { AuditUnavailableError } from '../domain/errors.js';
import type { AppendOptions, AppendResult, AuditWriter } from '../domain/ports.js';
import { canonicalJson } from './audit-chain.js';
import { firstUseKey, principalPk, toAuditEvent } from './audit-keys.js';
import { writeChained, type AuditChains, type ChainedWriteResult, type TransactItems } from './dynamodb-transactions.js';

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
}

export class DynamoDbAuditWriter implements AuditWriter {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    private readonly table: DynamoDbAuditWriterOptions,
  ) {}

  /** Keys whose first counted use is known to be named (bounded: a Lambda instance sees few keys). */
  private readonly keysWithFirstUse = new Set<string>();

  async append(event: AuditEvent, options: AppendOptions = {}): Promise<AppendResult> {
    const unavailable = (cause: unknown) =>
      new AuditUnavailableError('the audit trail could not record this request; nothing was issued', { cause });
    let result: ChainedWriteResult;
    try {
      result = await this.writeWithFirstUse(event, options);
    } catch (error) {
      throw unavailable(error);
    }
    if (result.outcome === 'event-exists') {
      // A retry after a lost response finds its own write already there (linked, perhaps on
      // another shard): that is success, not a reason to discard credentials whose issuance is
      // recorded. Anything else under the same id is not.
      if (canonicalJson(toAuditEvent(result.existing)) === canonicalJson(event)) return 'appended';
      throw unavailable(result.error);
    }
    return result.outcome === 'duplicate' ? 'duplicate' : 'appended';
  }

  /**
   * With firstCountedUse, the use is written together with its key's first-use name, put only if
   * the key has none (the table stays put-only: nothing is ever updated). When it has one, the
   * transaction is cancelled and the use written alone; the key is remembered, so that costs one
   * cancelled write per key and instance.
   */
  private async writeWithFirstUse(event: AuditEvent, options: AppendOptions): Promise<ChainedWriteResult> {
    if (options.firstCountedUse && event.type === 'credential.used' && !this.keysWithFirstUse.has(event.accessKeyId)) {
      const result = await writeChained(this.client, this.table, [this.firstUsePut(event)], event, options);
      if (result.outcome !== 'change-failed') return result;
      if (this.keysWithFirstUse.size >= MAX_KEYS_REMEMBERED) this.keysWithFirstUse.clear();
      this.keysWithFirstUse.add(event.accessKeyId);
    }
    return writeChained(this.client, this.table, [], event, options);
  }

  private firstUsePut(use: CredentialUsedEvent): TransactItems[number] {
    return {
      Put: {
        TableName: this.table.tableName,
        Item: { ...firstUseKey(use.accessKeyId), usePk: principalPk(use.principal), useSk: use.id },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    };
  }
}

const MAX_KEYS_REMEMBERED = 10_000;
