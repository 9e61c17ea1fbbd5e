// Turning CloudTrail records into `credential.used` audit events: what was done with credentials
// tvm issued, and with any other session of its target roles.
import { createHash } from 'node:crypto';
import { definedFields, issuedSession, newAuditEventId, type CredentialIssuedEvent, type CredentialUsedEvent, type UseIssuance } from './audit.js';
import { isIgnoredSource } from './alert-rules.js';
import { parseCloudTrailRecord, parseEventBridgeEnvelope, type AssumedRoleCall, type EnvelopeOptions } from './cloudtrail.js';
import type { AuditLog } from './ports.js';
import { patternCovers } from './scope.js';

export type UseVia = CredentialUsedEvent['via'];

/** Writes in flight at once: enough to hide DynamoDB latency, few enough not to be throttled. */
export const DEFAULT_USE_CONCURRENCY = 16;
/** At most this many malformed records are described in a result (all are counted). */
export const MAX_MALFORMED_SAMPLES = 10;
/**
 * How long a lookup that found no issuance waits before its one second try. The issuance is found
 * through an index that lags the table by a moment, and a key used right after it was vended (the
 * local loop, a script) can be looked up within that moment: a miss then is not "tvm did not issue
 * it", which would be recorded for good (and alerted on as unknown-session).
 */
export const ISSUANCE_RETRY_DELAY_MS = 300;

export interface RecordUseDeps {
  readonly audit: Pick<AuditLog, 'append' | 'findIssuance'>;
  /** IAM-style pattern of the target roles (config: the roles profiles may name). */
  readonly roleArnPattern: string;
  /**
   * Sources that are AWS acting for the session (config: alerts.ignoredSources): a use from any
   * other is kept as its key's first counted use when the key has none (source-ip-change).
   */
  readonly ignoredSources: readonly string[];
  /** Waits (default: a timer); tests pass one that returns at once. */
  readonly pause?: (milliseconds: number) => Promise<void>;
}

/**
 * One record to consider, with `ref` saying where it came from (an SQS message id, a position in a
 * log file) so that what could not be written can be handed back for a retry.
 */
export type UseInput<Ref> =
  | { readonly ref: Ref; readonly via: UseVia; readonly record: unknown }
  /** Something that could not even be read as a record (bad JSON, another event type). */
  | { readonly ref: Ref; readonly skip: 'malformed' | 'unrelated'; readonly reason: string };

export interface UseCounts {
  recorded: number;
  duplicates: number;
  unrelated: number;
  malformed: number;
  failed: number;
}

export interface FailedUse<Ref> {
  readonly ref: Ref;
  readonly cloudTrailEventId: string;
  readonly error: unknown;
}

export interface RecordUsesResult<Ref> {
  readonly counts: UseCounts;
  /** Records whose use could not be written (or looked up): the caller must make them retried. */
  readonly failed: readonly FailedUse<Ref>[];
  /** The first few malformed records and why (no values from them). */
  readonly malformed: readonly { readonly ref: Ref; readonly reason: string }[];
}

export function noUses(): UseCounts {
  return { recorded: 0, duplicates: 0, unrelated: 0, malformed: 0, failed: 0 };
}

/** An EventBridge "AWS API Call via CloudTrail" event (parsed or not) as an input. */
export function useInputFromEnvelope<Ref>(envelope: unknown, ref: Ref, options: EnvelopeOptions = {}): UseInput<Ref> {
  const parsed = parseEventBridgeEnvelope(unwrapFailureRecord(envelope), options);
  if (parsed.kind !== 'record') return { ref, skip: parsed.kind, reason: parsed.reason };
  return { ref, via: parsed.local ? 'local' : 'eventbridge', record: parsed.record };
}

/**
 * The event inside a Lambda failure record (what an async invocation's on-failure destination, the
 * dead-letter queue, receives: the event as `requestPayload`), so a redriven message is recorded
 * like the original; anything else as it is. The payload is judged like any envelope.
 */
function unwrapFailureRecord(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('requestPayload' in value) || !('requestContext' in value)) return value;
  const { requestContext, requestPayload } = value as { requestContext: unknown; requestPayload: unknown };
  const isFailure = typeof requestContext === 'object' && requestContext !== null && typeof (requestContext as { functionArn?: unknown }).functionArn === 'string';
  return isFailure ? requestPayload : value;
}

/**
 * Records the uses in `inputs` (one EventBridge record, an SQS batch, or a whole log file, read as
 * it is consumed):
 * 1. Classify each record (cloudtrail.ts): a call by a session of a target role, or counted as
 *    unrelated / malformed and skipped.
 * 2. Join it to its issuance by access key id, looked up once per key per call (a miss is looked up
 *    once more after ISSUANCE_RETRY_DELAY_MS); SourceIdentity is the second key: a difference is
 *    recorded as `sourceIdentityMismatch`. No issuance → a session tvm did not issue:
 *    `issuance: null`, the principal is the session's ARN.
 * 3. Append one `credential.used` per CloudTrail eventID (the onceKey), whichever path delivers it
 *    and however often; at most `concurrency` lookups and writes in flight, and the next input is
 *    read only when one finishes.
 * 4. Never throw for a record: what could not be looked up or written is returned in `failed` for
 *    the caller to make the platform retry (an error reading `inputs` itself is thrown, after the
 *    writes in flight finish).
 */
export async function recordUses<Ref>(
  deps: RecordUseDeps,
  inputs: Iterable<UseInput<Ref>> | AsyncIterable<UseInput<Ref>>,
  options: {
    readonly concurrency?: number;
    /** Told of each input once it is handled: recorded, a duplicate or skipped (true), or failed (false). */
    readonly onSettled?: (ref: Ref, done: boolean) => void;
  } = {},
): Promise<RecordUsesResult<Ref>> {
  const counts = noUses();
  const failed: FailedUse<Ref>[] = [];
  const malformed: { ref: Ref; reason: string }[] = [];
  const isTargetRole = (roleArn: string) => patternCovers(deps.roleArnPattern, roleArn, false);
  const pause = deps.pause ?? ((milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds)));
  const findIssuance = cachedIssuanceLookup(deps.audit, pause);

  const skip = (kind: 'unrelated' | 'malformed', ref: Ref, reason: string): void => {
    if (kind === 'unrelated') {
      counts.unrelated++;
      return;
    }
    counts.malformed++;
    if (malformed.length < MAX_MALFORMED_SAMPLES) malformed.push({ ref, reason });
  };

  const recordOne = async (input: UseInput<Ref>): Promise<void> => {
    const done = await recordInput(input);
    options.onSettled?.(input.ref, done);
  };
  /** True when the input is settled for good (recorded, a duplicate, skipped). */
  const recordInput = async (input: UseInput<Ref>): Promise<boolean> => {
    if ('skip' in input) {
      skip(input.skip, input.ref, input.reason);
      return true;
    }
    const parsed = parseCloudTrailRecord(input.record, isTargetRole);
    if (parsed.kind !== 'call') {
      skip(parsed.kind, input.ref, parsed.reason);
      return true;
    }
    const { call } = parsed;
    try {
      const issuance = await findIssuance(call.accessKeyId);
      const event = credentialUsedEvent(call, issuance, input.via);
      const result = await deps.audit.append(event, {
        onceKey: `cloudtrail:${call.eventId}`,
        firstCountedUse: !isIgnoredSource(event.sourceIPAddress, deps.ignoredSources),
      });
      if (result === 'duplicate') counts.duplicates++;
      else counts.recorded++;
      return true;
    } catch (error) {
      counts.failed++;
      failed.push({ ref: input.ref, cloudTrailEventId: call.eventId, error });
      return false;
    }
  };

  await forEachBounded(inputs, options.concurrency ?? DEFAULT_USE_CONCURRENCY, recordOne);
  return { counts, failed, malformed };
}

/**
 * The audit id of a use: ordered by when the call was made, unique per CloudTrail eventID. An
 * eventID that is not already short and URL-safe (CloudTrail's are UUIDs) is shortened with a hash,
 * so two different eventIDs never share an id.
 */
export function useEventId(eventTime: Date, cloudTrailEventId: string): string {
  const safe = cloudTrailEventId.replace(/[^A-Za-z0-9_-]/g, '');
  if (safe === cloudTrailEventId && safe.length <= 60) return newAuditEventId(eventTime, `ct-${safe}`);
  const digest = createHash('sha256').update(cloudTrailEventId, 'utf8').digest('base64url').slice(0, 16);
  return newAuditEventId(eventTime, `ct-${safe.slice(0, 43)}-${digest}`);
}

function credentialUsedEvent(call: AssumedRoleCall, issued: CredentialIssuedEvent | undefined, via: UseVia): CredentialUsedEvent {
  const at = call.eventTime.toISOString();
  const issuance: UseIssuance | null = issued ? toUseIssuance(issued) : null;
  return {
    id: useEventId(call.eventTime, call.eventId),
    type: 'credential.used',
    at,
    principal: issuance?.principal ?? call.sessionArn,
    requestId: call.requestId ?? call.eventId,
    sourceIp: call.sourceIPAddress,
    ...(call.userAgent !== undefined ? { userAgent: call.userAgent } : {}),
    ...(issuance ? { profile: issuance.profile, grantId: issuance.grantId } : {}),
    accessKeyId: call.accessKeyId,
    issuance,
    cloudTrailEventId: call.eventId,
    eventTime: at,
    eventName: call.eventName,
    eventSource: call.eventSource,
    awsRegion: call.awsRegion,
    sourceIPAddress: call.sourceIPAddress,
    ...definedFields(call, ['recipientAccountId', 'errorCode', 'errorMessage']),
    roleArn: call.roleArn,
    sessionArn: call.sessionArn,
    ...(call.sourceIdentity !== undefined ? { sourceIdentity: call.sourceIdentity } : {}),
    // tvm sets SourceIdentity on every session and it cannot change: a record without it, or with
    // another, made with a key tvm issued is worth a second look.
    ...(issuance && issuance.sourceIdentity !== call.sourceIdentity ? { sourceIdentityMismatch: true } : {}),
    via,
  };
}

/** What a use keeps of its issuance. */
export function toUseIssuance(issued: CredentialIssuedEvent): UseIssuance {
  return { eventId: issued.id, profile: issued.profile, ...issuedSession(issued), ...definedFields(issued, ['groups']) };
}

/**
 * One lookup per access key for the whole call (a log file holds many calls per session), tried
 * twice when it finds nothing; a concurrent second lookup waits for the first. A failed lookup is
 * forgotten, so the next record with the key tries again.
 */
function cachedIssuanceLookup(
  audit: Pick<AuditLog, 'findIssuance'>,
  pause: (milliseconds: number) => Promise<void>,
): (accessKeyId: string) => Promise<CredentialIssuedEvent | undefined> {
  const cache = new Map<string, Promise<CredentialIssuedEvent | undefined>>();
  const lookUp = async (accessKeyId: string) => {
    const found = await audit.findIssuance(accessKeyId);
    if (found) return found;
    await pause(ISSUANCE_RETRY_DELAY_MS);
    return audit.findIssuance(accessKeyId);
  };
  return (accessKeyId) => {
    let lookup = cache.get(accessKeyId);
    if (lookup === undefined) {
      lookup = lookUp(accessKeyId);
      cache.set(accessKeyId, lookup);
      const pending = lookup;
      pending.catch(() => {
        if (cache.get(accessKeyId) === pending) cache.delete(accessKeyId);
      });
    }
    return lookup;
  };
}

/** Runs `work` (which must not reject) over `items`, at most `limit` at once, pulling lazily. */
async function forEachBounded<T>(items: Iterable<T> | AsyncIterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const item of items) {
      const running: Promise<void> = work(item).finally(() => inFlight.delete(running));
      inFlight.add(running);
      if (inFlight.size >= Math.max(1, limit)) await Promise.race(inFlight);
    }
  } finally {
    await Promise.all(inFlight);
  }
}
