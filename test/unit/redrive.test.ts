// The dead-letter redrive (ops/redrive.ts) against mocked SQS and Lambda: what Lambda gave up on is
// invoked again with its own event and deleted only once that succeeds; what cannot be replayed
// from its record stays in the queue, said why.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { redrive } from '../../ops/redrive.js';

const sqs = mockClient(SQSClient);
const lambda = mockClient(LambdaClient);
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tvm-prod-dead-letters';
const ENVELOPE = { 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.s3', detail: { eventID: 'ct-1' } };

function failureOf(functionName: string, payload?: unknown) {
  return JSON.stringify({
    version: '1.0',
    requestContext: { requestId: 'r', functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    ...(payload === undefined ? { DDBStreamBatchInfo: { shardId: 'shardId-1', startSequenceNumber: '100', batchSize: 5 } } : { requestPayload: payload }),
  });
}

const message = (id: string, body: string) => ({ MessageId: id, ReceiptHandle: `handle-${id}`, Body: body });

beforeEach(() => {
  sqs.reset();
  lambda.reset();
  sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });
});

it('invokes each replayable failure again with its event, deletes it once that worked, and keeps the rest, saying why', async () => {
  // Prepare: one of each kind; SQS hands the kept ones back once their visibility ends
  const messages = [
    message('use', failureOf('tvm-prod-recordUse', ENVELOPE)),
    message('log', failureOf('tvm-prod-ingestTrailLogs', { source: 'aws.s3', 'detail-type': 'Object Created' })),
    message('fails-again', failureOf('tvm-prod-recordUse', { ...ENVELOPE, detail: { eventID: 'ct-2' } })),
    message('stream', failureOf('tvm-prod-alert')),
    message('other-stage', failureOf('tvm-dev-recordUse', ENVELOPE)),
    message('junk', 'not json'),
    message('too-large', JSON.stringify({ version: '1.0', requestContext: { functionArn: 'arn:aws:lambda:eu-west-1:1:function:tvm-prod-ingestTrailLogs', condition: 'ObjectTooLarge' }, requestPayload: {} })),
  ];
  sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages.slice(0, 4) }).resolvesOnce({ Messages: messages.slice(4) }).resolves({ Messages: [messages[2]!] });
  lambda.on(InvokeCommand).resolves({ StatusCode: 200 });
  lambda.on(InvokeCommand, { Payload: JSON.stringify({ ...ENVELOPE, detail: { eventID: 'ct-2' } }) }).resolves({ StatusCode: 200, FunctionError: 'Unhandled' });

  // Act
  const report = await redrive({ sqs: sqs as unknown as SQSClient, lambda: lambda as unknown as LambdaClient }, { stage: 'prod', max: 100, dryRun: false });

  // Assess
  expect(report.redriven).toBe(2);
  expect(report.kept).toEqual([
    { messageId: 'fails-again', reason: expect.stringContaining('tvm-prod-recordUse failed again (Unhandled)') },
    { messageId: 'stream', reason: expect.stringContaining('tvm-prod-alert, which is not replayed') },
    { messageId: 'other-stage', reason: expect.stringContaining('tvm-dev-recordUse, which is not replayed') },
    { messageId: 'junk', reason: 'the message is not JSON' },
    { messageId: 'too-large', reason: expect.stringContaining('TVM_TRAIL_MAX_OBJECT_BYTES') },
  ]);
  expect(lambda.commandCalls(InvokeCommand).map((call) => [call.args[0].input.FunctionName, call.args[0].input.Payload])).toEqual([
    ['tvm-prod-recordUse', JSON.stringify(ENVELOPE)],
    ['tvm-prod-ingestTrailLogs', JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Created' })],
    ['tvm-prod-recordUse', JSON.stringify({ ...ENVELOPE, detail: { eventID: 'ct-2' } })],
  ]);
  expect(sqs.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input)).toEqual([
    { QueueUrl: QUEUE_URL, ReceiptHandle: 'handle-use' },
    { QueueUrl: QUEUE_URL, ReceiptHandle: 'handle-log' },
  ]);
});

it('invokes and deletes nothing in a dry run, and stops at --max', async () => {
  // Prepare
  sqs.on(ReceiveMessageCommand).resolves({ Messages: [message('a', failureOf('tvm-prod-recordUse', ENVELOPE))] });

  // Act
  const report = await redrive({ sqs: sqs as unknown as SQSClient, lambda: lambda as unknown as LambdaClient }, { stage: 'prod', max: 1, dryRun: true });

  // Assess
  expect(report).toEqual({ redriven: 0, kept: [{ messageId: 'a', reason: 'would invoke tvm-prod-recordUse (dry run)' }] });
  expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
  expect(sqs.commandCalls(DeleteMessageCommand)).toEqual([]);
  expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
});
