// The alert function. It accepts three event shapes:
// - a DynamoDB stream batch from the audit table (INSERT, NEW_IMAGE): each new use or denial is
//   evaluated; the answer lists the records to retry (ReportBatchItemFailures);
// - an EventBridge "Scheduled Event" (every 5 minutes): the window before the event's time is
//   evaluated again, catching what the stream could not see yet;
// - `{"source": "tvm.manual", "since": "<ISO time>"}` (or relative: `"-90m"`, `"-4h"`): the same
//   from `since` until now, at most a day back (the local stack's interval and the tests invoke it
//   this way).
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import { decodeAuditStreamRecord } from '../adapters/dynamodb-audit-stream.js';
import type { AlertRaisedEvent } from '../domain/audit.js';
import { ValidationError } from '../domain/errors.js';
import {
  manualWindow,
  raiseAlertsForStream,
  raiseAlertsForWindow,
  scheduledWindow,
  type AlertWindow,
  type RaiseAlertsDeps,
  type WindowOutcome,
} from '../domain/raise-alerts.js';
import { createEventHandler, type EventLog } from './event-handler.js';

const scheduledEventSchema = /* @__PURE__ */ (() => z.object({ 'detail-type': z.literal('Scheduled Event'), time: z.string().datetime() }))();
const manualRunSchema = /* @__PURE__ */ (() =>
  z.object({ source: z.literal('tvm.manual'), since: z.union([z.string().datetime({ offset: true }), z.string().regex(/^-\d{1,4}[mh]$/)]) }).strict())();
/** A window run stops evaluating this long before the invocation's time is up, to say so (recheck-truncated). */
const DEADLINE_MARGIN_MS = 3_000;

export interface AlertHandlerDeps extends RaiseAlertsDeps {
  readonly log: EventLog;
}

export interface WindowSummary extends Omit<WindowOutcome, 'raised'> {
  readonly raised: Pick<AlertRaisedEvent, 'id' | 'rule' | 'severity' | 'dedupeKey'>[];
}

export const makeAlertHandler = (deps: AlertHandlerDeps) =>
  createEventHandler(deps.log, async (event: unknown, invocation): Promise<DynamoDBBatchResponse | WindowSummary> => {
    const meta = { requestId: invocation.requestId };
    if (isStreamBatch(event)) return onStreamBatch(deps, event, meta);
    const remaining = invocation.remainingMs();
    const deadline = Number.isFinite(remaining) ? new Date(deps.clock.now().getTime() + remaining - DEADLINE_MARGIN_MS) : undefined;
    const scheduled = scheduledEventSchema.safeParse(event);
    // The scheduled time, not the clock: a retried invocation evaluates the same window.
    if (scheduled.success) return onWindow(deps, scheduledWindow(new Date(scheduled.data.time), deps.settings), meta, deadline);
    const manual = manualRunSchema.safeParse(event);
    if (manual.success) return onWindow(deps, manualWindow(manual.data.since, deps.clock.now()), meta, deadline);
    throw new ValidationError(
      'expected a DynamoDB stream batch, an EventBridge "Scheduled Event" or {"source":"tvm.manual","since":"<ISO time, or -90m, -4h>"}',
    );
  });

async function onStreamBatch(deps: AlertHandlerDeps, event: DynamoDBStreamEvent, meta: { requestId: string }): Promise<DynamoDBBatchResponse> {
  const records = event.Records.map((record) => {
    // Without a sequence number the item is reported as '', which fails the whole batch: safe.
    const ref = record.dynamodb?.SequenceNumber ?? '';
    const decoded = decodeAuditStreamRecord(record);
    if ('skipped' in decoded && decoded.skipped === 'malformed') deps.log.warn('skipped an audit stream record that is not a readable event', { sequenceNumber: ref });
    // An item whose hash does not recompute was written around tvm: never evaluated, always reported.
    if ('skipped' in decoded && decoded.skipped === 'not-intact') deps.log.warn('skipped an audit item that is not intact (written outside tvm?)', { sequenceNumber: ref });
    return { ref, ...decoded };
  });
  const outcome = await raiseAlertsForStream(deps, records, meta);
  logRaised(deps.log, outcome.raised);
  if (outcome.failed) {
    deps.log.error('alert evaluation failed; retrying from this record', {
      eventId: outcome.failed.eventId,
      sequenceNumber: outcome.retry[0],
      retried: outcome.retry.length,
      error: outcome.failed.error,
    });
  }
  return { batchItemFailures: outcome.retry.map((itemIdentifier) => ({ itemIdentifier })) };
}

async function onWindow(deps: AlertHandlerDeps, window: AlertWindow, meta: { requestId: string }, deadline: Date | undefined): Promise<WindowSummary> {
  const outcome = await raiseAlertsForWindow(deps, window, meta, deadline);
  logRaised(deps.log, outcome.raised);
  if (outcome.truncated) deps.log.warn('the alert window held more events than one run reads', { from: outcome.from, to: outcome.to });
  return { ...outcome, raised: outcome.raised.map(summary) };
}

const summary = ({ id, rule, severity, dedupeKey }: AlertRaisedEvent) => ({ id, rule, severity, dedupeKey });

function isStreamBatch(event: unknown): event is DynamoDBStreamEvent {
  return typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);
}

function logRaised(log: EventLog, raised: readonly AlertRaisedEvent[]): void {
  if (raised.length > 0) log.info('alerts raised', { alerts: raised.map(summary) });
}
