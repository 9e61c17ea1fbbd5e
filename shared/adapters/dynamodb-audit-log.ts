import { PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.js';
import { AuditUnavailableError, StoreUnavailableError } from '../domain/errors.js';
import type { AuditLog, AuditPage, AuditQuery } from '../domain/ports.js';
import { APPEND_ONLY_CONDITION, auditItem, BY_TIME_INDEX, principalPk, timePk, toAuditEvent } from './audit-keys.js';

export interface DynamoDbAuditLogOptions {
  readonly tableName: string;
  readonly shards: number;
  /** How far back a query without a principal walks the time index. */
  readonly lookbackDays?: number;
  readonly now?: () => Date;
}

const MAX_PAGES_PER_PARTITION = 10;

export class DynamoDbAuditLog implements AuditLog {
  private readonly lookbackDays: number;
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoDbAuditLogOptions,
  ) {
    this.lookbackDays = options.lookbackDays ?? 30;
    this.now = options.now ?? (() => new Date());
  }

  async append(event: AuditEvent): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: auditItem(event, this.options.shards),
          ConditionExpression: APPEND_ONLY_CONDITION,
        }),
      );
    } catch (error) {
      throw new AuditUnavailableError('the audit trail could not record this request; nothing was issued', {
        cause: error,
      });
    }
  }

  /** Newest first. The cursor is the sort key of the last event returned (ids sort by time). */
  async query(query: AuditQuery): Promise<AuditPage> {
    try {
      const events = query.principal
        ? await this.collect({ pk: principalPk(query.principal) }, query)
        : await this.queryByTime(query);
      const page = events.slice(0, query.limit);
      const last = page[page.length - 1];
      return { events: page, ...(events.length > query.limit && last ? { nextCursor: last.id } : {}) };
    } catch (error) {
      throw new StoreUnavailableError('the audit trail could not be read', { cause: error });
    }
  }

  private async queryByTime(query: AuditQuery): Promise<AuditEvent[]> {
    const start = query.cursor ? new Date(query.cursor.slice(0, 24)) : this.now();
    const found: AuditEvent[] = [];
    for (let back = 0; back < this.lookbackDays && found.length <= query.limit; back++) {
      const day = new Date(start.getTime() - back * 86_400_000).toISOString().slice(0, 10);
      const shards = Array.from({ length: this.options.shards }, (_, shard) =>
        this.collect({ pk: timePk(day, shard), index: BY_TIME_INDEX }, query),
      );
      found.push(...(await Promise.all(shards)).flat());
    }
    return found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** Up to limit + 1 events of one partition, newest first, older than the cursor. */
  private async collect(partition: { pk: string; index?: string }, query: AuditQuery): Promise<AuditEvent[]> {
    const pkName = partition.index === BY_TIME_INDEX ? 'GSI3PK' : 'PK';
    const input: QueryCommandInput = {
      TableName: this.options.tableName,
      IndexName: partition.index,
      KeyConditionExpression: query.cursor ? '#pk = :pk AND SK < :cursor' : '#pk = :pk',
      ExpressionAttributeNames: { '#pk': pkName, ...(query.type ? { '#type': 'type' } : {}) },
      ExpressionAttributeValues: {
        ':pk': partition.pk,
        ...(query.cursor ? { ':cursor': query.cursor } : {}),
        ...(query.type ? { ':type': query.type } : {}),
      },
      ...(query.type ? { FilterExpression: '#type = :type' } : {}),
      ScanIndexForward: false,
      Limit: query.limit + 1,
    };
    const events: AuditEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_PAGES_PER_PARTITION && events.length <= query.limit; page++) {
      const out = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      events.push(...(out.Items ?? []).map(toAuditEvent));
      startKey = out.LastEvaluatedKey;
      if (!startKey) break;
    }
    return events;
  }
}
