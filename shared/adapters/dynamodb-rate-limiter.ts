import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../domain/errors.js';
import type { RateLimitDecision, RateLimiter } from '../domain/ports.js';
import { RATE_WINDOW_SECONDS, decideQuota, windowAt } from '../domain/rate-limit.js';

/**
 * A counter per principal and window in the delegations table: RATE#<principal> / <window start,
 * ISO 8601>. No index key, so no listing or index ever sees one.
 */
export const rateLimitKey = (principal: string, windowStart: Date) => ({
  PK: `RATE#${principal}`,
  SK: windowStart.toISOString(),
});

/**
 * How long a counter outlives its window before the table's TTL (`expiresAt`) removes it: long
 * enough to look at a burst, short enough not to keep a counter per principal per minute for good.
 * Correctness never depends on it: a later window is a different item, and TTL deletes lazily.
 */
export const RATE_COUNTER_RETENTION_SECONDS = 3600;

export interface DynamoDbRateLimiterOptions {
  readonly tableName: string;
  /** Vends allowed per principal per window. */
  readonly limit: number;
  readonly windowSeconds?: number;
}

/**
 * The vend quota on a shared DynamoDB counter, so every Lambda instance sees one count.
 *
 * One UpdateItem per vend: ADD is atomic, so concurrent vends each get a distinct count and exactly
 * `limit` of them are allowed. The count is added unconditionally and its new value compared, rather
 * than refused by a condition, so the limiter knows which refusal is the first of its window (the one
 * recorded in the audit trail).
 *
 * When DynamoDB fails the vend is refused (STORE_UNAVAILABLE): tvm is a security service, and a vend
 * needs the same table's reads next anyway, so failing open would buy no availability, only an
 * unlimited path. The client retries (aws-clients.ts); a retried ADD whose first attempt did land
 * counts twice, which can only refuse early, never allow more.
 */
export class DynamoDbRateLimiter implements RateLimiter {
  private readonly windowSeconds: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoDbRateLimiterOptions,
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`invalid rate limit: ${options.limit}`);
    this.windowSeconds = options.windowSeconds ?? RATE_WINDOW_SECONDS;
  }

  async take(principal: string, now: Date): Promise<RateLimitDecision> {
    const window = windowAt(now, this.windowSeconds);
    let count: unknown;
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: rateLimitKey(principal, window.start),
          // COUNT is a DynamoDB reserved word, hence the name placeholder.
          UpdateExpression: 'ADD #count :one SET expiresAt = :expiresAt',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':expiresAt': Math.floor(window.end.getTime() / 1000) + RATE_COUNTER_RETENTION_SECONDS,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      count = out.Attributes?.count;
    } catch (error) {
      throw new StoreUnavailableError('the vend quota could not be counted; nothing was issued, try again', { cause: error });
    }
    // A counter someone else wrote (or none returned) is no count to allow on.
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
      throw new StoreUnavailableError('the vend quota could not be counted; nothing was issued, try again');
    }
    return decideQuota(count, this.options.limit, window, now);
  }
}
