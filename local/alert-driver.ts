// The local stand-in for the two triggers of the `alert` function: the DynamoDB stream on the audit
// table (Lambda's event source mapping) and the 5-minute EventBridge schedule. It polls DynamoDB
// Local's stream through the real Streams API and invokes the function through serverless-offline's
// Lambda invoke API with the events AWS would send.
//
// Like Lambda's mapping, per shard and in order: a batch is the records of one GetRecords call; a
// reply with batchItemFailures re-delivers from the first failed record (a batch with an identifier
// that is not in it counts as failed whole, as Lambda treats it); after `maxAttempts` deliveries the
// rest of the batch is logged and skipped. A parent shard is read to its end before its children.
// Unlike it: the first read starts at TRIM_HORIZON (so a persisted TVM_DATA_DIR replays up to a day of
// events; alerts are deduplicated), and `awsRegion` is the functions' region where DynamoDB Local's
// stream ARN says "ddblocal".
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { firstFailedIndex, toLambdaRecord } from './alert-driver-events.js';
import {
  describeInvocationError,
  describeInvocationFailure,
  invocationSucceeded,
  invokeLambda,
  scheduledEvent,
  type LambdaInvocationResult,
} from './invoke-lambda.js';

export interface AlertDriverOptions {
  readonly dynamodbEndpoint: string;
  readonly auditTable: string;
  /** serverless-offline's Lambda endpoint, e.g. http://localhost:3002. */
  readonly lambdaEndpoint: string;
  /** e.g. tvm-dev-alert. */
  readonly functionName: string;
  /** Between the end of one stream poll and the next. Default 1 s. */
  readonly pollMs?: number;
  /** Between scheduled invocations. Default 5 minutes, the deployed rule's rate. */
  readonly scheduleMs?: number;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default 000000000000, the local STS's account. */
  readonly accountId?: string;
  /** GetRecords' Limit, Lambda's default batch size for streams. Default 100. */
  readonly batchSize?: number;
  /** Deliveries of one batch before its remaining records are skipped. Default 3. */
  readonly maxAttempts?: number;
  /** One invocation's limit. Default 60 s (a cold alert function scans its windows first). */
  readonly invokeTimeoutMs?: number;
}

export interface PollResult {
  /** Records read from the stream in this round. */
  readonly read: number;
  /** Records the function accepted in this round. */
  readonly delivered: number;
  /** Whether records are still waiting for redelivery. */
  readonly pending: boolean;
}

export interface AlertDriverStats {
  readonly read: number;
  readonly delivered: number;
  /** Skipped after the last attempt. */
  readonly failed: number;
  readonly redeliveries: number;
  readonly scheduled: number;
  readonly scheduleFailures: number;
}

export interface AlertDriver {
  /** One round: every readable shard read once and its batch delivered. Rounds never overlap. */
  pollOnce(): Promise<PollResult>;
  /** Polls until everything written to the table so far has been delivered or skipped. */
  drain(timeoutMs?: number): Promise<void>;
  /** One scheduled invocation now, besides the timer's. */
  runSchedule(): Promise<void>;
  /** Stops both timers and waits for the poll and any scheduled invocation in flight. */
  stop(): Promise<void>;
  stats(): AlertDriverStats;
}

interface ShardState {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  iterator: string | undefined;
  /** The last record read, to resume an expired iterator after it. */
  lastSequenceNumber: string | undefined;
  /** The shard is closed and read to its end. */
  exhausted: boolean;
  /** Read but not yet accepted by the function. */
  pending: DynamoDBRecord[];
  attempts: number;
}

const LOG_PREFIX = 'alert-driver:';

export function startAlertDriver(options: AlertDriverOptions): AlertDriver {
  const pollMs = options.pollMs ?? 1_000;
  const scheduleMs = options.scheduleMs ?? 300_000;
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const batchSize = options.batchSize ?? 100;
  const maxAttempts = options.maxAttempts ?? 3;
  const invokeTimeoutMs = options.invokeTimeoutMs ?? 60_000;
  const clientConfig = {
    endpoint: options.dynamodbEndpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const dynamodb = new DynamoDBClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  const counts = { read: 0, delivered: 0, failed: 0, redeliveries: 0, scheduled: 0, scheduleFailures: 0 };
  const stopping = new AbortController();
  const shards = new Map<string, ShardState>();
  const inFlightSchedules = new Set<Promise<void>>();
  let streamArn: string | undefined;
  let rounds: Promise<unknown> = Promise.resolve();
  let lastLogged: string | undefined;

  function pollOnce(): Promise<PollResult> {
    const round = rounds.then(pollRound);
    rounds = round.catch(() => undefined);
    return round;
  }

  async function pollRound(): Promise<PollResult> {
    // 1. Find the audit table's stream (again, if the table was recreated).
    // 2. Learn of new shards (DynamoDB rolls shards over; children follow their closed parents).
    // 3. Per readable shard: redeliver what is pending, or read one batch and deliver it.
    if (stopping.signal.aborted) return { read: 0, delivered: 0, pending: false };
    const arn = await currentStreamArn();
    if (arn === undefined) return { read: 0, delivered: 0, pending: false };
    await discoverShards(arn);
    let read = 0;
    let delivered = 0;
    for (const shard of shards.values()) {
      if (stopping.signal.aborted) break;
      if (!parentDone(shard)) continue;
      if (shard.pending.length === 0 && !shard.exhausted) {
        const records = await readBatch(arn, shard);
        read += records.length;
        shard.pending = records;
      }
      if (shard.pending.length > 0) delivered += await deliverPending(arn, shard);
    }
    counts.read += read;
    lastLogged = undefined;
    return { read, delivered, pending: [...shards.values()].some((shard) => shard.pending.length > 0) };
  }

  async function currentStreamArn(): Promise<string | undefined> {
    if (streamArn !== undefined) return streamArn;
    const table = await dynamodb.send(new DescribeTableCommand({ TableName: options.auditTable }));
    streamArn = table.Table?.LatestStreamArn;
    if (streamArn === undefined) log(`table ${options.auditTable} has no stream; nothing to deliver`);
    return streamArn;
  }

  async function discoverShards(arn: string): Promise<void> {
    let exclusiveStartShardId: string | undefined;
    do {
      const description = await streams
        .send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: exclusiveStartShardId }))
        .then((out) => out.StreamDescription)
        .catch((error: unknown) => {
          if (error instanceof ResourceNotFoundException) forgetStream();
          throw error;
        });
      for (const shard of description?.Shards ?? []) {
        if (shard.ShardId === undefined || shards.has(shard.ShardId)) continue;
        shards.set(shard.ShardId, {
          shardId: shard.ShardId,
          parentShardId: shard.ParentShardId,
          iterator: undefined,
          lastSequenceNumber: undefined,
          exhausted: false,
          pending: [],
          attempts: 0,
        });
      }
      exclusiveStartShardId = description?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
  }

  function forgetStream(): void {
    streamArn = undefined;
    shards.clear();
  }

  /** A parent the stream no longer lists (trimmed) does not hold its children back. */
  function parentDone(shard: ShardState): boolean {
    const parent = shard.parentShardId === undefined ? undefined : shards.get(shard.parentShardId);
    return parent === undefined || (parent.exhausted && parent.pending.length === 0);
  }

  async function readBatch(arn: string, shard: ShardState): Promise<DynamoDBRecord[]> {
    try {
      if (shard.iterator === undefined) {
        const start =
          shard.lastSequenceNumber === undefined
            ? { ShardIteratorType: 'TRIM_HORIZON' as const }
            : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: shard.lastSequenceNumber };
        const out = await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.shardId, ...start }));
        shard.iterator = out.ShardIterator;
        if (shard.iterator === undefined) {
          shard.exhausted = true;
          return [];
        }
      }
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: batchSize }));
      shard.iterator = out.NextShardIterator;
      // No next iterator: the shard is closed and this was its end.
      if (shard.iterator === undefined) shard.exhausted = true;
      const records = (out.Records ?? []).map((record) => toLambdaRecord(record, arn, region));
      const last = records.at(-1)?.dynamodb?.SequenceNumber;
      if (last !== undefined) shard.lastSequenceNumber = last;
      return records;
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        shard.iterator = undefined;
        return [];
      }
      if (error instanceof TrimmedDataAccessException) {
        log(`shard ${shard.shardId}: records after ${shard.lastSequenceNumber ?? 'the start'} were trimmed; reading on from the oldest kept`);
        shard.iterator = undefined;
        shard.lastSequenceNumber = undefined;
        return [];
      }
      if (error instanceof ResourceNotFoundException) forgetStream();
      throw error;
    }
  }

  /** Delivers the shard's pending records once; returns how many the function accepted. */
  async function deliverPending(arn: string, shard: ShardState): Promise<number> {
    const batch = shard.pending;
    const event: DynamoDBStreamEvent = { Records: batch };
    const failedFrom = await invokeWithBatch(event);
    const accepted = failedFrom === undefined ? batch.length : failedFrom;
    counts.delivered += accepted;
    shard.pending = batch.slice(accepted);
    if (shard.pending.length === 0) {
      shard.attempts = 0;
      return accepted;
    }
    shard.attempts = accepted > 0 ? 1 : shard.attempts + 1;
    if (shard.attempts >= maxAttempts) {
      const first = shard.pending[0]?.dynamodb?.SequenceNumber;
      log(`skipped ${shard.pending.length} record(s) of ${arn} from sequence number ${first} after ${shard.attempts} failed deliveries to ${options.functionName}`);
      counts.failed += shard.pending.length;
      shard.pending = [];
      shard.attempts = 0;
    } else {
      counts.redeliveries += 1;
    }
    return accepted;
  }

  /** undefined when the whole batch was accepted, else the index to redeliver from. */
  async function invokeWithBatch(event: DynamoDBStreamEvent): Promise<number | undefined> {
    let result: LambdaInvocationResult;
    try {
      result = await invokeLambda({
        lambdaEndpoint: options.lambdaEndpoint,
        functionName: options.functionName,
        event,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(invokeTimeoutMs)]),
      });
    } catch (error) {
      if (!stopping.signal.aborted) log(`could not invoke ${options.functionName}: ${describeInvocationError(error)}`);
      return 0;
    }
    if (!invocationSucceeded(result)) {
      log(`${options.functionName} failed on a batch of ${event.Records.length}: ${describeInvocationFailure(result)}`);
      return 0;
    }
    return firstFailedIndex(event.Records, result.payload);
  }

  async function runSchedule(): Promise<void> {
    const event = scheduledEvent(options.functionName, { region, accountId });
    const run = (async () => {
      try {
        const result = await invokeLambda({
          lambdaEndpoint: options.lambdaEndpoint,
          functionName: options.functionName,
          event,
          signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(invokeTimeoutMs)]),
        });
        if (invocationSucceeded(result)) {
          counts.scheduled += 1;
          return;
        }
        counts.scheduleFailures += 1;
        log(`scheduled run of ${options.functionName} failed: ${describeInvocationFailure(result)}`);
      } catch (error) {
        counts.scheduleFailures += 1;
        if (!stopping.signal.aborted) log(`scheduled run of ${options.functionName} failed: ${describeInvocationError(error)}`);
      }
    })();
    inFlightSchedules.add(run);
    await run.finally(() => inFlightSchedules.delete(run));
  }

  /** The same failure every second is one log line, until a round succeeds. */
  function log(message: string): void {
    if (message === lastLogged) return;
    lastLogged = message;
    console.error(`${LOG_PREFIX} ${message}`);
  }

  let pollTimer: NodeJS.Timeout | undefined;
  const pollLoop = () => {
    pollTimer = setTimeout(() => {
      pollOnce()
        .catch((error: unknown) => log(`polling ${options.auditTable}'s stream failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => {
          if (!stopping.signal.aborted) pollLoop();
        });
    }, pollMs);
  };
  pollLoop();
  const scheduleTimer = setInterval(() => void runSchedule(), scheduleMs);

  return {
    pollOnce,
    drain: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const round = await pollOnce();
        if (round.read === 0 && !round.pending) return;
        if (Date.now() > deadline) throw new Error(`${LOG_PREFIX} the audit stream did not drain within ${timeoutMs} ms`);
      }
    },
    runSchedule,
    stop: async () => {
      stopping.abort();
      clearTimeout(pollTimer);
      clearInterval(scheduleTimer);
      await rounds;
      await Promise.all([...inFlightSchedules]);
      dynamodb.destroy();
      streams.destroy();
    },
    stats: () => ({ ...counts }),
  };
}
