// Redrive: what Lambda gave up on, from a stage's dead-letter queue (tvm-<stage>-dead-letters) back
// to the function that failed it. An async invocation's failure record carries the event
// (`requestPayload`) and the function (`requestContext.functionArn`): recordUse's CloudTrail
// events and ingestTrailLogs' log files are invoked again with their event, and their message
// deleted only once the function succeeded. Everything else stays in the queue, reported:
// a failed alert stream batch names stream positions, not events (the alert schedule re-evaluates
// recent windows; older ones: invoke alert with {"source":"tvm.manual","since":…}).
//
//   npm run redrive -- --stage prod [--region eu-west-1] [--max 100] [--dry-run]
import { DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

/** The functions whose failure records hold their whole event, and may be invoked with it again. */
export const REPLAYABLE_FUNCTIONS = ['recordUse', 'ingestTrailLogs'] as const;
/** How long a message received here stays invisible to others: enough for one invocation. */
const VISIBILITY_TIMEOUT_SECONDS = 330;

export interface RedriveOptions {
  readonly stage: string;
  /** At most this many messages are received in one run. */
  readonly max: number;
  /** Report what would be redriven; invoke and delete nothing. */
  readonly dryRun: boolean;
}

export interface RedriveReport {
  /** Invoked again successfully; the message was deleted. */
  readonly redriven: number;
  /** Left in the queue, with why (the message id and the reason, never the event). */
  readonly kept: { readonly messageId: string; readonly reason: string }[];
}

type Decision = { readonly replay: true; readonly functionName: string; readonly payload: unknown } | { readonly replay: false; readonly reason: string };

/** What to do with one message of `stage`'s dead-letter queue. */
export function decide(body: string | undefined, stage: string): Decision {
  let record: unknown;
  try {
    record = JSON.parse(body ?? '');
  } catch {
    return { replay: false, reason: 'the message is not JSON' };
  }
  const context = isObject(record) && isObject(record.requestContext) ? record.requestContext : undefined;
  const functionArn = typeof context?.functionArn === 'string' ? context.functionArn : undefined;
  if (!isObject(record) || functionArn === undefined) return { replay: false, reason: 'not a Lambda failure record' };
  // Put here by the function itself, for a reason no replay changes (ingestTrailLogs' cap).
  if (context?.condition === 'ObjectTooLarge') {
    return { replay: false, reason: 'a log file over TVM_TRAIL_MAX_OBJECT_BYTES: raise the cap (param trailMaxObjectBytes) and invoke ingestTrailLogs with its requestPayload, or read it by hand' };
  }
  // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
  const name = functionArn.split(':')[6] ?? '';
  const replayable = REPLAYABLE_FUNCTIONS.map((fn) => `tvm-${stage}-${fn}`);
  if (!replayable.includes(name)) return { replay: false, reason: `a failure of ${name || functionArn}, which is not replayed from its record` };
  if (!('requestPayload' in record)) return { replay: false, reason: `a failure of ${name} without its event` };
  return { replay: true, functionName: name, payload: record.requestPayload };
}

/** Receives up to `max` messages once each, replays what can be, deletes what was replayed. */
export async function redrive(clients: { readonly sqs: SQSClient; readonly lambda: LambdaClient }, options: RedriveOptions): Promise<RedriveReport> {
  const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: `tvm-${options.stage}-dead-letters` }));
  if (!QueueUrl) throw new Error(`no dead-letter queue tvm-${options.stage}-dead-letters`);
  const seen = new Set<string>();
  const kept: RedriveReport['kept'] = [];
  let redriven = 0;
  while (seen.size < options.max) {
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: Math.min(10, options.max - seen.size),
        VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
        WaitTimeSeconds: 1,
      }),
    );
    const fresh = Messages.filter((message) => message.MessageId !== undefined && !seen.has(message.MessageId));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(String(message.MessageId));
      const outcome = await redriveOne(clients, QueueUrl, message, options);
      if (outcome === undefined) redriven += 1;
      else kept.push({ messageId: String(message.MessageId), reason: outcome });
    }
  }
  return { redriven, kept };
}

/** Undefined when the message was replayed and deleted; otherwise why it stays. */
async function redriveOne(
  clients: { readonly sqs: SQSClient; readonly lambda: LambdaClient },
  queueUrl: string,
  message: Message,
  options: RedriveOptions,
): Promise<string | undefined> {
  const decision = decide(message.Body, options.stage);
  if (!decision.replay) return decision.reason;
  if (options.dryRun) return `would invoke ${decision.functionName} (dry run)`;
  const result = await clients.lambda.send(
    new InvokeCommand({ FunctionName: decision.functionName, InvocationType: 'RequestResponse', Payload: JSON.stringify(decision.payload) }),
  );
  if (result.FunctionError !== undefined || (result.StatusCode ?? 0) >= 300) {
    return `${decision.functionName} failed again (${result.FunctionError ?? `status ${String(result.StatusCode)}`}); it stays for the next redrive`;
  }
  await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stage: { type: 'string' }, region: { type: 'string' }, max: { type: 'string', default: '100' }, 'dry-run': { type: 'boolean', default: false } },
  });
  const max = Number(values.max);
  if (!values.stage || !Number.isInteger(max) || max < 1) {
    console.error('usage: npm run redrive -- --stage <stage> [--region <region>] [--max <n>] [--dry-run]');
    process.exitCode = 2;
    return;
  }
  const region = values.region ? { region: values.region } : {};
  const report = await redrive(
    { sqs: new SQSClient(region), lambda: new LambdaClient(region) },
    { stage: values.stage, max, dryRun: values['dry-run'] === true },
  );
  console.log(JSON.stringify(report, null, 2));
  if (report.kept.length > 0) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
