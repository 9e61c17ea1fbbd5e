// The local stand-in for an EventBridge schedule: invokes a function through serverless-offline's
// Lambda invoke API with a "Scheduled Event", every `everyMs` and whenever asked (runNow, which the
// tests use through the stack's loop control instead of waiting).
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { describeInvocationError, describeInvocationFailure, invocationSucceeded, invokeLambda } from './invoke-lambda.js';

export interface ScheduleDriverOptions {
  /** serverless-offline's Lambda endpoint, e.g. http://localhost:3002. */
  readonly lambdaEndpoint: string;
  /** e.g. tvm-dev-repairRevocations. */
  readonly functionName: string;
  /** Default 5 minutes, the deployed rules' rate. */
  readonly everyMs?: number;
  readonly region?: string;
  readonly accountId?: string;
  /** One invocation's limit. Default 60 s. */
  readonly invokeTimeoutMs?: number;
}

export interface ScheduleDriver {
  /** One scheduled invocation now; rejects when it did not complete. */
  runNow(): Promise<unknown>;
  /** Stops the timer and waits for an invocation in flight. */
  stop(): Promise<void>;
}

export function startScheduleDriver(options: ScheduleDriverOptions): ScheduleDriver {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const stopping = new AbortController();
  const inFlight = new Set<Promise<unknown>>();

  async function invoke(): Promise<unknown> {
    const event: ScheduledEvent<Record<string, never>> = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: accountId,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [`arn:aws:events:${region}:${accountId}:rule/${options.functionName}-schedule`],
      detail: {},
    };
    const result = await invokeLambda({
      lambdaEndpoint: options.lambdaEndpoint,
      functionName: options.functionName,
      event,
      signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(options.invokeTimeoutMs ?? 60_000)]),
    });
    if (!invocationSucceeded(result)) throw new Error(`${options.functionName}: ${describeInvocationFailure(result)}`);
    return result.payload;
  }

  function runNow(): Promise<unknown> {
    const run = invoke();
    inFlight.add(run);
    void run.then(
      () => inFlight.delete(run),
      () => inFlight.delete(run),
    );
    return run;
  }

  const timer = setInterval(() => {
    runNow().catch((error: unknown) => {
      if (!stopping.signal.aborted) console.error(`schedule-driver: ${options.functionName}: ${describeInvocationError(error)}`);
    });
  }, options.everyMs ?? 300_000);
  timer.unref();

  return {
    runNow,
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
      stopping.abort();
    },
  };
}
