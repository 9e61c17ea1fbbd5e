// The one wrapper every event function uses (a stream batch, a schedule, S3, EventBridge, SQS): the
// Lambda request id on every log line and never the event (a CloudTrail record may carry
// credentials, as AssumeRole's responseElements do), and one error policy: what fails is logged
// once and thrown, so the platform delivers the event again.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../logger.js';

/** Where an event function's outcome is reported. */
export interface EventLog {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** What an event function knows of its invocation. */
export interface Invocation {
  readonly requestId: string;
  readonly functionArn: string;
  /** Milliseconds left before the platform stops the invocation. */
  readonly remainingMs: () => number;
}

export function createEventHandler<E, R>(log: EventLog, run: (event: E, invocation: Invocation) => Promise<R>) {
  return middy(async (event: E, context: Context): Promise<R> => {
    const invocation = {
      requestId: context.awsRequestId,
      functionArn: context.invokedFunctionArn,
      remainingMs: () => (typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Infinity),
    };
    try {
      return await run(event, invocation);
    } catch (error) {
      log.error('event not handled; the platform delivers it again', { error });
      throw error;
    }
  }).use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }));
}
