// The local stand-in for CloudTrail + EventBridge: turns what the local STS/IAM endpoint saw into
// the CloudTrail record AWS would have written and delivers it to `recordUse` wrapped as EventBridge's
// "AWS API Call via CloudTrail" event, through serverless-offline's Lambda invoke API.
//
// Field names and shapes follow real records (test/fixtures/aws/cloudtrail, e.g. ct-10 and eb-01),
// so the function cannot tell the difference; `additionalEventData.tvmLocal` says where it came from.
// Left out because nothing local has them: tlsDetails (the endpoint is plain HTTP), request
// parameters and response elements (STS logs none for GetCallerIdentity; for the rest tvm does not
// read them).
//
// Delivery is EventBridge's contract, not CloudTrail's: best effort, retried a bounded number of times
// with backoff, then dropped with a log line; the trail's log files are the complete record.
// deliver() only queues, so the STS response never waits for it.
import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent } from 'aws-lambda';
import type { SignedRequestRecord, SignedRequestSession } from './sts/local-sts.js';
import { describeInvocationError, describeInvocationFailure, invocationSucceeded, invokeLambda } from './invoke-lambda.js';

/** A record of a request signed by an issued session: the only kind CloudTrail files as AssumedRole. */
export type SessionRequestRecord = SignedRequestRecord & { session: SignedRequestSession };

export interface CloudTrailRecord {
  eventVersion: '1.08';
  userIdentity: {
    type: 'AssumedRole';
    principalId: string;
    arn: string;
    accountId: string;
    accessKeyId: string;
    sessionContext: {
      sessionIssuer: { type: 'Role'; principalId: string; arn: string; accountId: string; userName: string };
      attributes: { creationDate: string; mfaAuthenticated: 'false' };
      sourceIdentity?: string;
    };
  };
  eventTime: string;
  eventSource: 'sts.amazonaws.com' | 'iam.amazonaws.com';
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: null;
  responseElements: null;
  additionalEventData: { tvmLocal: true };
  requestID: string;
  eventID: string;
  readOnly: boolean;
  eventType: 'AwsApiCall';
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: 'Management';
}

export type CloudTrailApiCallEvent = EventBridgeEvent<'AWS API Call via CloudTrail', CloudTrailRecord>;

export interface CloudTrailContext {
  /** The region STS was called in; IAM's events are always recorded in us-east-1. */
  readonly region: string;
  /** The account whose trail records the call. */
  readonly accountId: string;
}

/** The CloudTrail record AWS writes for this request, field for field in CloudTrail's order. */
export function toCloudTrailRecord(record: SessionRequestRecord, context: CloudTrailContext): CloudTrailRecord {
  const { session } = record;
  const roleName = session.roleArn.slice(session.roleArn.lastIndexOf('/') + 1);
  const sessionContext: CloudTrailRecord['userIdentity']['sessionContext'] = {
    sessionIssuer: {
      type: 'Role',
      principalId: session.principalId.split(':')[0] ?? session.principalId,
      arn: session.roleArn,
      accountId: session.accountId,
      userName: roleName,
    },
    attributes: { creationDate: toIsoSeconds(session.issuedAt), mfaAuthenticated: 'false' },
  };
  // CloudTrail leaves the field out when the session has none.
  if (session.sourceIdentity !== undefined) sessionContext.sourceIdentity = session.sourceIdentity;
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: session.principalId,
      arn: session.assumedRoleArn,
      accountId: session.accountId,
      accessKeyId: record.accessKeyId,
      sessionContext,
    },
    eventTime: toIsoSeconds(record.eventTime),
    eventSource: record.eventSource,
    eventName: record.eventName,
    awsRegion: record.eventSource === 'iam.amazonaws.com' ? 'us-east-1' : context.region,
    sourceIPAddress: record.sourceIPAddress,
    userAgent: record.userAgent,
    ...(record.errorCode === undefined ? {} : { errorCode: record.errorCode }),
    ...(record.errorMessage === undefined ? {} : { errorMessage: record.errorMessage }),
    requestParameters: null,
    responseElements: null,
    additionalEventData: { tvmLocal: true },
    requestID: record.requestId,
    eventID: randomUUID(),
    readOnly: isReadOnly(record.eventName),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: context.accountId,
    eventCategory: 'Management',
  };
}

/** The record as EventBridge's default bus hands it to a rule's target. */
export function toEventBridgeEvent(record: CloudTrailRecord): CloudTrailApiCallEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: record.eventSource === 'iam.amazonaws.com' ? 'aws.iam' : 'aws.sts',
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

/**
 * EventBridge's `wildcard` filter on `detail.userIdentity.sessionContext.sessionIssuer.arn`: `*`
 * matches any run of characters, everything else itself. (EventBridge has no `?`.)
 */
export function matchesRolePattern(pattern: string, roleArn: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(roleArn);
}

export interface CloudTrailBridgeOptions {
  /** serverless-offline's Lambda endpoint, e.g. http://localhost:3002. */
  readonly lambdaEndpoint: string;
  /** e.g. tvm-dev-recordUse. */
  readonly functionName: string;
  /** The EventBridge rule's role filter: TVM_ROLE_ARN_PATTERN. */
  readonly targetRolePattern: string;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default 000000000000, the local STS's account. */
  readonly accountId?: string;
  /** Attempts per event, the first included. Default 4. */
  readonly maxAttempts?: number;
  /** First retry delay; doubles per attempt up to 5 s. Default 250 ms. */
  readonly retryBaseMs?: number;
  /** Events waiting beyond this are dropped (and counted). Default 1,000. */
  readonly maxQueue?: number;
  /** One invocation's limit; recordUse's own timeout is 25 s. Default 30 s. */
  readonly invokeTimeoutMs?: number;
}

export interface CloudTrailBridgeStats {
  /** Records seen. */
  readonly received: number;
  /** Not a session of a target role, so no rule would match them. */
  readonly skipped: number;
  readonly delivered: number;
  /** Gave up after the last attempt. */
  readonly failed: number;
  /** The queue was full. */
  readonly dropped: number;
  readonly retries: number;
  /** Waiting or being delivered now. */
  readonly queued: number;
}

export interface CloudTrailBridge {
  /** Queues the record if a target role's session signed it; returns at once. */
  deliver(record: SignedRequestRecord): void;
  /** Resolves once everything queued so far has been delivered or given up on; rejects after timeoutMs. */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops delivering: abandons the queue and any retry, waits for the invocation in flight. */
  stop(): Promise<void>;
  stats(): CloudTrailBridgeStats;
}

const LOG_PREFIX = 'cloudtrail-bridge:';
const MAX_RETRY_DELAY_MS = 5_000;

export function startCloudTrailBridge(options: CloudTrailBridgeOptions): CloudTrailBridge {
  const context: CloudTrailContext = { region: options.region ?? 'us-east-1', accountId: options.accountId ?? '000000000000' };
  const maxAttempts = options.maxAttempts ?? 4;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const maxQueue = options.maxQueue ?? 1_000;
  const invokeTimeoutMs = options.invokeTimeoutMs ?? 30_000;
  const queue: CloudTrailApiCallEvent[] = [];
  const counts = { received: 0, skipped: 0, delivered: 0, failed: 0, dropped: 0, retries: 0 };
  const stopping = new AbortController();
  let worker: Promise<void> | undefined;

  function deliver(record: SignedRequestRecord): void {
    counts.received += 1;
    if (stopping.signal.aborted || !isTargetSession(record)) {
      counts.skipped += 1;
      return;
    }
    if (queue.length >= maxQueue) {
      counts.dropped += 1;
      console.error(`${LOG_PREFIX} queue full (${maxQueue}), dropped ${record.eventName} request ${record.requestId}`);
      return;
    }
    queue.push(toEventBridgeEvent(toCloudTrailRecord(record, context)));
    startWorker();
  }

  function startWorker(): void {
    if (worker !== undefined || queue.length === 0 || stopping.signal.aborted) return;
    worker = work().finally(() => {
      worker = undefined;
      // A record queued while the worker was finishing would otherwise wait for the next one.
      startWorker();
    });
  }

  function isTargetSession(record: SignedRequestRecord): record is SessionRequestRecord {
    return record.session !== undefined && matchesRolePattern(options.targetRolePattern, record.session.roleArn);
  }

  // One event at a time, in the order the requests were answered.
  async function work(): Promise<void> {
    for (let event = queue[0]; event !== undefined && !stopping.signal.aborted; event = queue[0]) {
      await deliverWithRetries(event);
      queue.shift();
    }
  }

  async function deliverWithRetries(event: CloudTrailApiCallEvent): Promise<void> {
    const what = `${event.detail.eventName} event ${event.detail.eventID}`;
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await invokeOnce(event);
      if (outcome === undefined) {
        counts.delivered += 1;
        return;
      }
      if (stopping.signal.aborted) return;
      if (attempt >= maxAttempts) {
        counts.failed += 1;
        console.error(`${LOG_PREFIX} gave up on ${what} after ${attempt} attempts to ${options.functionName}: ${outcome}`);
        return;
      }
      counts.retries += 1;
      await sleep(Math.min(retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS), stopping.signal);
      if (stopping.signal.aborted) return;
    }
  }

  /** undefined when delivered, else why not. */
  async function invokeOnce(event: CloudTrailApiCallEvent): Promise<string | undefined> {
    try {
      const result = await invokeLambda({
        lambdaEndpoint: options.lambdaEndpoint,
        functionName: options.functionName,
        event,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(invokeTimeoutMs)]),
      });
      return invocationSucceeded(result) ? undefined : describeInvocationFailure(result);
    } catch (error) {
      return describeInvocationError(error);
    }
  }

  return {
    deliver,
    drain: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (worker !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          worker.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now())))),
        ]);
        clearTimeout(timer);
        if (timedOut) throw new Error(`${LOG_PREFIX} ${queue.length} event(s) still undelivered after ${timeoutMs} ms`);
      }
    },
    stop: async () => {
      stopping.abort();
      await worker;
      queue.length = 0;
    },
    stats: () => ({ ...counts, queued: queue.length }),
  };
}

/** CloudTrail's `readOnly`: reads, and STS's token calls, which CloudTrail files as read-only (ct-08). */
function isReadOnly(eventName: string): boolean {
  return /^(Get|List|Describe|Assume|Decode)/.test(eventName);
}

function toIsoSeconds(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
