import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent, CredentialIssuedEvent } from '../domain/audit.js';
import { MAX_SESSION_SECONDS } from '../domain/duration.js';
import { AuditUnavailableError, StoreUnavailableError } from '../domain/errors.js';
import type { AuditLog, AuditPage, AuditQuery } from '../domain/ports.js';
import {
  APPEND_ONLY_CONDITION,
  auditItem,
  BY_PROFILE_INDEX,
  BY_TIME_INDEX,
  principalPk,
  timePk,
  toAuditEvent,
} from './audit-keys.js';

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
    const item = auditItem(event, this.options.shards);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: item,
          ConditionExpression: APPEND_ONLY_CONDITION,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      // A retry after a lost response finds its own write already there: that is success, not a
      // reason to discard credentials whose issuance is recorded. Anything else already there is not.
      if (isOwnEarlierWrite(error, item)) return;
      throw new AuditUnavailableError('the audit trail could not record this request; nothing was issued', {
        cause: error,
      });
    }
  }

  liveIssuances(principal: string, now: Date): Promise<CredentialIssuedEvent[]> {
    return this.live({ pk: principalPk(principal) }, now);
  }

  liveIssuancesForProfile(profile: string, now: Date): Promise<CredentialIssuedEvent[]> {
    return this.live({ pk: `PROFILE#${profile}`, index: BY_PROFILE_INDEX, pkName: 'GSI2PK' }, now);
  }

  private async live(
    partition: { pk: string; index?: string; pkName?: string },
    now: Date,
  ): Promise<CredentialIssuedEvent[]> {
    // No session outlives AssumeRole's 12-hour ceiling, so only that window can hold live ones.
    const since = new Date(now.getTime() - MAX_SESSION_SECONDS * 1000).toISOString();
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: partition.index,
            KeyConditionExpression: '#pk = :pk AND SK > :since',
            FilterExpression: '#type = :issued AND expiration > :now',
            ExpressionAttributeNames: { '#pk': partition.pkName ?? 'PK', '#type': 'type' },
            ExpressionAttributeValues: {
              ':pk': partition.pk,
              ':since': since,
              ':issued': 'credential.issued',
              ':now': now.toISOString(),
            },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(out.Items ?? []));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new StoreUnavailableError('the audit trail could not be read', { cause: error });
    }
    return items.map(toAuditEvent) as CredentialIssuedEvent[];
  }

  /**
   * Newest first. The cursor is the sort key below which the next page starts (ids sort by time):
   * the last event returned, or, when a type filter skipped more items than one request may read,
   * the last item read, so a short page with a cursor never hides the events beyond it.
   */
  async query(query: AuditQuery): Promise<AuditPage> {
    try {
      const { events, resumeAt } = query.principal
        ? await this.collect({ pk: principalPk(query.principal) }, query)
        : await this.queryByTime(query);
      const page = events.slice(0, query.limit);
      const nextCursor = events.length > query.limit ? page[page.length - 1]?.id : resumeAt;
      return { events: page, ...(nextCursor ? { nextCursor } : {}) };
    } catch (error) {
      throw new StoreUnavailableError('the audit trail could not be read', { cause: error });
    }
  }

  private async queryByTime(query: AuditQuery): Promise<PartitionRead> {
    const now = this.now();
    // The window is anchored to now, not to the cursor, so paging reaches the same events whatever the page size.
    const oldestDay = dayOf(now.getTime() - (this.lookbackDays - 1) * DAY_MS);
    // A cursor from the future (not one this API returned) starts at now instead of walking years of empty days.
    let time = Math.min(query.cursor ? Date.parse(query.cursor.slice(0, 24)) : Infinity, now.getTime());
    const found: AuditEvent[] = [];
    for (; found.length <= query.limit && dayOf(time) >= oldestDay; time -= DAY_MS) {
      const shards = await Promise.all(
        Array.from({ length: this.options.shards }, (_, shard) =>
          this.collect({ pk: timePk(dayOf(time), shard), index: BY_TIME_INDEX }, query),
        ),
      );
      found.push(...shards.flatMap((read) => read.events));
      // A shard read only down to resumeAt: below it, the other shards' events are not complete yet.
      const resumeAt = shards.flatMap((read) => (read.resumeAt ? [read.resumeAt] : [])).sort().pop();
      if (resumeAt) return { events: newestFirst(found.filter((event) => event.id >= resumeAt)), resumeAt };
    }
    return { events: newestFirst(found) };
  }

  /**
   * Up to limit + 1 events of one partition, newest first, older than the cursor; with resumeAt when
   * the page cap stopped the read before limit + 1 matched.
   */
  private async collect(partition: { pk: string; index?: string }, query: AuditQuery): Promise<PartitionRead> {
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
      if (!startKey) return { events };
    }
    return events.length <= query.limit && startKey ? { events, resumeAt: String(startKey.SK) } : { events };
  }
}

interface PartitionRead {
  readonly events: AuditEvent[];
  /** The sort key of the last item read when the partition was not read to its end. */
  readonly resumeAt?: string;
}

const DAY_MS = 86_400_000;

const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

const newestFirst = (events: AuditEvent[]) => events.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

function isOwnEarlierWrite(error: unknown, item: Record<string, unknown>): boolean {
  if (!(error instanceof ConditionalCheckFailedException) || !error.Item) return false;
  return canonical(unmarshall(error.Item)) === canonical(item);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
