// The recordUse function, built by its factory as functions/record-use.ts builds it, over the
// in-memory audit log: an EventBridge event (retried by throwing) and an SQS batch (batch item failures).
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import { makeRecordUseHandler } from '../../shared/events/record-use.js';
import { failureOf } from '../fixtures/failure.js';
import {
  aLambdaContext,
  anIssuance,
  aTargetRoleCall,
  FlakyAuditLog,
  IGNORED_SOURCES,
  inEnvelope,
  type JsonObject,
  loadCloudTrailFixture,
  TARGET_ROLE_PATTERN,
} from '../fixtures/cloudtrail-records.js';

const audit = new FlakyAuditLog();
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const deployed = makeRecordUseHandler({ audit, roleArnPattern: TARGET_ROLE_PATTERN, ignoredSources: IGNORED_SOURCES, acceptLocalMarker: true, log: quiet });
type Envelope = Parameters<typeof deployed>[0];
const handler = (event: Envelope) => deployed(event, aLambdaContext('tvm-dev-recordUse'));

await audit.append(anIssuance());

const EB01 = 'eb-01-aws-api-call-via-cloudtrail-envelope-s3-putobject.json';

function envelopeOf(eventID: string, extra: JsonObject = {}): Envelope {
  return inEnvelope({ ...aTargetRoleCall({ eventID }), ...extra }) as unknown as Envelope;
}

function sqsBatch(...bodies: [messageId: string, body: string][]): SQSEvent {
  return {
    Records: bodies.map(
      ([messageId, body]): SQSRecord => ({
        messageId,
        receiptHandle: `handle-${messageId}`,
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '1780000000000',
          SenderId: 'AIDAEXAMPLE',
          ApproximateFirstReceiveTimestamp: '1780000000000',
        },
        messageAttributes: {},
        md5OfBody: 'x',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:tvm-dev-record-use',
        awsRegion: 'us-east-1',
      }),
    ),
  };
}

function usesOf(prefix: string) {
  return audit.uses.filter((use) => use.cloudTrailEventId.startsWith(prefix));
}

beforeEach(() => {
  audit.failFor.clear();
});

describe('recordUse: an EventBridge event', () => {
  it('records the use with via "eventbridge" and returns the counts', async () => {
    // Act
    const result = await handler(envelopeOf('eb-one'));

    // Assess
    expect(result).toEqual({ recorded: 1, duplicates: 0, unrelated: 0, malformed: 0, failed: 0 });
    expect(usesOf('eb-one').map((use) => use.via)).toEqual(['eventbridge']);
  });

  it('records a use the local stack marked (detail.additionalEventData.tvmLocal) with via "local"', async () => {
    // Act
    await handler(envelopeOf('eb-local', { additionalEventData: { tvmLocal: true } }));

    // Assess
    expect(usesOf('eb-local').map((use) => use.via)).toEqual(['local']);
  });

  it('returns the same event delivered twice as a duplicate, recorded once', async () => {
    // Act
    await handler(envelopeOf('eb-twice'));
    const again = await handler(envelopeOf('eb-twice'));

    // Assess
    expect(again).toEqual({ recorded: 0, duplicates: 1, unrelated: 0, malformed: 0, failed: 0 });
    expect(usesOf('eb-twice')).toHaveLength(1);
  });

  it('throws when the use could not be written, so that the invocation is retried', async () => {
    // Prepare
    audit.failFor.add('eb-fails');

    // Act
    const error = await failureOf(handler(envelopeOf('eb-fails')));

    // Assess
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(usesOf('eb-fails')).toEqual([]);
  });

  it('returns counts, without throwing, for the real sample (an IAM user: unrelated) and a malformed record', async () => {
    // Prepare
    const sample = loadCloudTrailFixture(EB01) as unknown as Envelope;
    const malformed = envelopeOf('eb-malformed', { eventTime: 'yesterday' });

    // Act
    const results = [await handler(sample), await handler(malformed)];

    // Assess
    expect(results).toEqual([
      { recorded: 0, duplicates: 0, unrelated: 1, malformed: 0, failed: 0 },
      { recorded: 0, duplicates: 0, unrelated: 0, malformed: 1, failed: 0 },
    ]);
  });
});

describe('recordUse: an SQS batch of EventBridge events', () => {
  it('reports only the messages whose use could not be written; malformed and unrelated ones are consumed', async () => {
    // Prepare
    audit.failFor.add('sqs-fails');
    const batch = sqsBatch(
      ['m-1', JSON.stringify(envelopeOf('sqs-ok-1'))],
      ['m-2', '{"detail-type": "AWS API Call via CloudTrail", "detail": '],
      ['m-3', JSON.stringify(loadCloudTrailFixture(EB01))],
      ['m-4', JSON.stringify(envelopeOf('sqs-fails'))],
      ['m-5', JSON.stringify(envelopeOf('sqs-bad-time', { eventTime: '2021-02-21T23: 46: 28Z' }))],
      ['m-6', JSON.stringify(envelopeOf('sqs-ok-2'))],
    );

    // Act
    const response = await handler(batch);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-4' }] });
    expect(usesOf('sqs-').map((use) => use.cloudTrailEventId).sort()).toEqual(['sqs-ok-1', 'sqs-ok-2']);
  });

  it('records an event that arrives both directly and through SQS once', async () => {
    // Prepare
    await handler(envelopeOf('both-paths'));

    // Act
    const response = await handler(sqsBatch(['m-1', JSON.stringify(envelopeOf('both-paths'))]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(usesOf('both-paths')).toHaveLength(1);
  });
});

// What Lambda gave up on reaches the dead-letter queue wrapped in a failure record.
describe('recordUse: a failure record from the dead-letter queue', () => {
  const failureRecord = (envelope: Envelope, functionName = 'tvm-dev-recordUse') => ({
    version: '1.0',
    timestamp: '2026-06-01T12:00:00.000Z',
    requestContext: {
      requestId: 'e9a1b2c3-0000-4000-8000-000000000000',
      functionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: envelope,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'AuditUnavailableError', errorMessage: 'the audit trail could not record this request' },
  });

  it('records the use the failure record carries, directly or as an SQS message', async () => {
    // Act
    const direct = await handler(failureRecord(envelopeOf('dlq-direct')) as unknown as Envelope);
    const queued = await handler(sqsBatch(['m-1', JSON.stringify(failureRecord(envelopeOf('dlq-queued')))]));

    // Assess
    expect(direct).toEqual({ recorded: 1, duplicates: 0, unrelated: 0, malformed: 0, failed: 0 });
    expect(queued).toEqual({ batchItemFailures: [] });
    expect([...usesOf('dlq-direct'), ...usesOf('dlq-queued')].map((use) => use.via)).toEqual(['eventbridge', 'eventbridge']);
  });

  it('still refuses a payload that is not an AWS service\'s CloudTrail event, wrapped or not', async () => {
    // Act
    const result = await handler(failureRecord(inEnvelope(aTargetRoleCall({ eventID: 'dlq-forged' }), { source: 'my.app' }) as unknown as Envelope) as unknown as Envelope);

    // Assess
    expect(result).toEqual({ recorded: 0, duplicates: 0, unrelated: 1, malformed: 0, failed: 0 });
    expect(usesOf('dlq-forged')).toEqual([]);
  });
});
