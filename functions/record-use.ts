// recordUse: CloudTrail records of calls made by sessions of tvm's target roles, delivered by an
// EventBridge rule ("AWS API Call via CloudTrail"), directly (an async invoke) or through SQS.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { auditLog, config } from '../shared/composition.js';
import { recordUses, useInputFromEnvelope, type RecordUsesResult, type UseCounts, type UseInput } from '../shared/domain/record-use.js';
import { logger } from '../shared/logger.js';

const deps = { audit: auditLog(), roleArnPattern: config().roleArnPattern, ignoredSources: config().alerts.ignoredSources };
// Only the local stack's records may say they came from it.
const envelopeOptions = { acceptLocalMarker: config().offline };

export type CloudTrailApiCallEvent = EventBridgeEvent<'AWS API Call via CloudTrail', unknown>;

/**
 * An EventBridge event → its counts; if its use could not be written, throws so that the async
 * invocation is retried. An SQS batch → the messages whose use could not be written, for SQS to
 * deliver again (malformed and unrelated ones are consumed: retrying would not change them).
 */
async function recordUse(event: CloudTrailApiCallEvent | SQSEvent): Promise<UseCounts | SQSBatchResponse> {
  if (isSqsEvent(event)) {
    const result = await recordUses(deps, event.Records.map(fromSqsMessage));
    report(result, 'sqs');
    return { batchItemFailures: result.failed.map(({ ref }) => ({ itemIdentifier: ref })) };
  }
  const result = await recordUses(deps, [useInputFromEnvelope(event, 'event', envelopeOptions)]);
  report(result, 'eventbridge');
  const [failure] = result.failed;
  if (failure) throw failure.error;
  return result.counts;
}

// The Lambda request id on every log line; never the event (a record may carry credentials, as
// AssumeRole's responseElements do).
export const handler = middy(recordUse).use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }));

function isSqsEvent(event: CloudTrailApiCallEvent | SQSEvent): event is SQSEvent {
  return 'Records' in event && Array.isArray(event.Records);
}

function fromSqsMessage(message: SQSEvent['Records'][number]): UseInput<string> {
  try {
    return useInputFromEnvelope(JSON.parse(message.body) as unknown, message.messageId, envelopeOptions);
  } catch {
    return { ref: message.messageId, skip: 'malformed', reason: 'the message body is not JSON' };
  }
}

function report(result: RecordUsesResult<string>, source: 'sqs' | 'eventbridge'): void {
  logger.info('uses recorded', { source, ...result.counts });
  if (result.malformed.length > 0) logger.warn('malformed CloudTrail records skipped', { source, samples: result.malformed });
  for (const { ref, cloudTrailEventId, error } of result.failed) {
    logger.error('use not recorded; it will be retried', { source, ref, cloudTrailEventId, error });
  }
}
