// recordUse: CloudTrail records of calls made by sessions of tvm's target roles, delivered by an
// EventBridge rule ("AWS API Call via CloudTrail"), directly (an async invoke) or through SQS.
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { recordUses, useInputFromEnvelope, type RecordUseDeps, type RecordUsesResult, type UseCounts, type UseInput } from '../domain/record-use.js';
import { createEventHandler, type EventLog } from './event-handler.js';

export type CloudTrailApiCallEvent = EventBridgeEvent<'AWS API Call via CloudTrail', unknown>;

export interface RecordUseHandlerDeps extends RecordUseDeps {
  /** Only the local stack's records may say they came from it. */
  readonly acceptLocalMarker: boolean;
  readonly log: EventLog;
}

/**
 * An EventBridge event → its counts; if its use could not be written, throws so that the async
 * invocation is retried. An SQS batch → the messages whose use could not be written, for SQS to
 * deliver again (malformed and unrelated ones are consumed: retrying would not change them).
 */
export const makeRecordUseHandler = (deps: RecordUseHandlerDeps) => {
  const options = { acceptLocalMarker: deps.acceptLocalMarker };
  const report = (result: RecordUsesResult<string>, source: 'sqs' | 'eventbridge') => {
    deps.log.info('uses recorded', { source, ...result.counts });
    if (result.malformed.length > 0) deps.log.warn('malformed CloudTrail records skipped', { source, samples: result.malformed });
    for (const { ref, cloudTrailEventId, error } of result.failed) deps.log.error('use not recorded; it will be retried', { source, ref, cloudTrailEventId, error });
  };
  return createEventHandler(deps.log, async (event: CloudTrailApiCallEvent | SQSEvent): Promise<UseCounts | SQSBatchResponse> => {
    if (isSqsEvent(event)) {
      const result = await recordUses(deps, event.Records.map((message) => fromSqsMessage(message, options)));
      report(result, 'sqs');
      return { batchItemFailures: result.failed.map(({ ref }) => ({ itemIdentifier: ref })) };
    }
    const result = await recordUses(deps, [useInputFromEnvelope(event, 'event', options)]);
    report(result, 'eventbridge');
    const [failure] = result.failed;
    if (failure) throw failure.error;
    return result.counts;
  });
};

function isSqsEvent(event: CloudTrailApiCallEvent | SQSEvent): event is SQSEvent {
  return 'Records' in event && Array.isArray(event.Records);
}

function fromSqsMessage(message: SQSEvent['Records'][number], options: { acceptLocalMarker: boolean }): UseInput<string> {
  try {
    return useInputFromEnvelope(JSON.parse(message.body) as unknown, message.messageId, options);
  } catch {
    return { ref: message.messageId, skip: 'malformed', reason: 'the message body is not JSON' };
  }
}
