// The alert function. It accepts three event shapes:
// - a DynamoDB stream batch from the audit table (INSERT, NEW_IMAGE): each new use or denial is
//   evaluated; the answer lists the records to retry (ReportBatchItemFailures);
// - an EventBridge "Scheduled Event" (every 5 minutes): the window before the event's time is
//   evaluated again, catching what the stream could not see yet;
// - `{"source": "tvm.manual", "since": "<ISO time>"}` (or relative: `"-90m"`, `"-4h"`): the same
//   from `since` until now, at most a day back (the local stack's interval and the tests invoke it
//   this way).
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import { decodeAuditStreamRecord } from '../shared/adapters/dynamodb-audit-stream.js';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { alertSink, auditLog, config, delegationStore, lockdownStore } from '../shared/composition.js';
import type { AlertRaisedEvent } from '../shared/domain/audit.js';
import { ValidationError } from '../shared/domain/errors.js';
import {
  raiseAlertsForNewEvents,
  raiseAlertsForWindow,
  scheduledWindow,
  type AlertWindow,
  type RaiseAlertsDeps,
  type WindowOutcome,
} from '../shared/domain/raise-alerts.js';
import { logger } from '../shared/logger.js';

const deps: RaiseAlertsDeps = {
  audit: auditLog(),
  grants: delegationStore(),
  lockdown: lockdownStore(),
  sink: alertSink(),
  clock: systemClock,
  ids: randomIds,
  settings: config().alerts,
};

const scheduledEventSchema = z.object({ 'detail-type': z.literal('Scheduled Event'), time: z.string().datetime() });
const manualRunSchema = z
  .object({ source: z.literal('tvm.manual'), since: z.union([z.string().datetime({ offset: true }), z.string().regex(/^-\d{1,4}[mh]$/)]) })
  .strict();
const MAX_MANUAL_SPAN_MS = 24 * 3_600_000;
/** A window run stops evaluating this long before the invocation's time is up, to say so (recheck-truncated). */
const DEADLINE_MARGIN_MS = 3_000;

export interface WindowSummary extends Omit<WindowOutcome, 'raised'> {
  readonly raised: Pick<AlertRaisedEvent, 'id' | 'rule' | 'severity' | 'dedupeKey'>[];
}

export async function handler(event: unknown, context?: Context): Promise<DynamoDBBatchResponse | WindowSummary> {
  if (context) logger.addContext(context);
  const meta = { requestId: context?.awsRequestId ?? randomIds.next() };
  if (isStreamBatch(event)) return onStreamBatch(event, meta);

  const scheduled = scheduledEventSchema.safeParse(event);
  // The scheduled time, not the clock: a retried invocation evaluates the same window.
  const deadline = typeof context?.getRemainingTimeInMillis === 'function' ? new Date(deps.clock.now().getTime() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS) : undefined;
  if (scheduled.success) return onWindow(scheduledWindow(new Date(scheduled.data.time), deps.settings), meta, deadline);

  const manual = manualRunSchema.safeParse(event);
  if (manual.success) {
    const now = deps.clock.now();
    const since = sinceTime(manual.data.since, now);
    if (since > now || now.getTime() - since.getTime() > MAX_MANUAL_SPAN_MS) {
      throw new ValidationError('"since" must lie within the last 24 hours');
    }
    return onWindow({ from: since, to: now }, meta, deadline);
  }
  throw new ValidationError(
    'expected a DynamoDB stream batch, an EventBridge "Scheduled Event" or {"source":"tvm.manual","since":"<ISO time, or -90m, -4h>"}',
  );
}

/** An ISO time, or minutes or hours before `now` (`-90m`, `-4h`). */
function sinceTime(since: string, now: Date): Date {
  const relative = /^-(\d+)([mh])$/.exec(since);
  if (!relative) return new Date(since);
  return new Date(now.getTime() - Number(relative[1]) * (relative[2] === 'h' ? 3_600_000 : 60_000));
}

async function onStreamBatch(event: DynamoDBStreamEvent, meta: { requestId: string }): Promise<DynamoDBBatchResponse> {
  const records = event.Records.map((record) => ({
    // Without a sequence number the item is reported as '', which fails the whole batch: safe.
    sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
    decoded: decodeAuditStreamRecord(record),
  }));
  for (const { sequenceNumber, decoded } of records) {
    if ('skipped' in decoded && decoded.skipped === 'malformed') {
      logger.warn('skipped an audit stream record that is not a readable event', { sequenceNumber });
    }
    if ('skipped' in decoded && decoded.skipped === 'not-intact') {
      // An item whose hash does not recompute was written around tvm: never evaluated, always reported.
      logger.warn('skipped an audit item that is not intact (written outside tvm?)', { sequenceNumber });
    }
  }
  const evaluable = records.flatMap(({ decoded }, position) => ('event' in decoded ? [{ position, event: decoded.event }] : []));
  const outcome = await raiseAlertsForNewEvents(deps, evaluable.map(({ event: audited }) => audited), meta);
  logRaised(outcome.raised);
  const failed = outcome.failedAt === undefined ? undefined : evaluable[outcome.failedAt];
  if (!failed) return { batchItemFailures: [] };
  // A stream shard is ordered: the failed record and every later one are retried, in order.
  const retry = records.slice(failed.position);
  logger.error('alert evaluation failed; retrying from this record', {
    eventId: failed.event.id,
    sequenceNumber: retry[0]?.sequenceNumber,
    retried: retry.length,
    error: outcome.error,
  });
  return { batchItemFailures: retry.map(({ sequenceNumber }) => ({ itemIdentifier: sequenceNumber })) };
}

async function onWindow(window: AlertWindow, meta: { requestId: string }, deadline: Date | undefined): Promise<WindowSummary> {
  const outcome = await raiseAlertsForWindow(deps, window, meta, deadline);
  logRaised(outcome.raised);
  if (outcome.truncated) logger.warn('the alert window held more events than one run reads', { from: outcome.from, to: outcome.to });
  return {
    ...outcome,
    raised: outcome.raised.map(({ id, rule, severity, dedupeKey }) => ({ id, rule, severity, dedupeKey })),
  };
}

function isStreamBatch(event: unknown): event is DynamoDBStreamEvent {
  return typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);
}

function logRaised(raised: readonly AlertRaisedEvent[]): void {
  if (raised.length === 0) return;
  logger.info('alerts raised', { alerts: raised.map(({ id, rule, severity, dedupeKey }) => ({ id, rule, severity, dedupeKey })) });
}
