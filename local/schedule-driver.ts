// The local stand-in for an EventBridge schedule: invokes a function through serverless-offline's
// Lambda invoke API with the "Scheduled Event" AWS would send, every `everyMs`, and on demand (the
// loop control's POST /anchor and /repair). Runs never overlap: one asked for during a run waits for it.
import { describeInvocationError, describeInvocationFailure, invocationSucceeded, invokeLambda, scheduledEvent } from './invoke-lambda.js';

export interface ScheduleDriverOptions {
  /** serverless-offline's Lambda endpoint, e.g. http://localhost:3002. */
  readonly lambdaEndpoint: string;
  /** e.g. tvm-dev-anchorChainHeads, tvm-dev-repairRevocations. */
  readonly functionName: string;
  readonly everyMs: number;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default 000000000000, the local STS's account. */
  readonly accountId?: string;
  /** One invocation's limit. Default 60 s. */
  readonly invokeTimeoutMs?: number;
}

export interface ScheduleDriver {
  /** One run now, answering what the function returned; rejects with why when it failed. */
  runNow(): Promise<unknown>;
  /** Stops the timer and waits for a run in flight. */
  stop(): Promise<void>;
}

export function startScheduleDriver(options: ScheduleDriverOptions): ScheduleDriver {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const stopping = new AbortController();
  let running: Promise<unknown> = Promise.resolve();

  async function invokeOnce(): Promise<unknown> {
    const event = scheduledEvent(options.functionName, { region, accountId });
    let result;
    try {
      result = await invokeLambda({
        lambdaEndpoint: options.lambdaEndpoint,
        functionName: options.functionName,
        event,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(options.invokeTimeoutMs ?? 60_000)]),
      });
    } catch (error) {
      throw new Error(`could not invoke ${options.functionName}: ${describeInvocationError(error)}`);
    }
    if (!invocationSucceeded(result)) throw new Error(`${options.functionName} failed: ${describeInvocationFailure(result)}`);
    return result.payload;
  }

  function runNow(): Promise<unknown> {
    const run = running.then(invokeOnce);
    running = run.catch(() => undefined);
    return run;
  }

  const timer = setInterval(() => {
    runNow().catch((error: unknown) => {
      if (!stopping.signal.aborted) console.error(`schedule-driver: ${error instanceof Error ? error.message : String(error)}`);
    });
  }, options.everyMs);

  return {
    runNow,
    stop: async () => {
      stopping.abort();
      clearInterval(timer);
      await running;
    },
  };
}
