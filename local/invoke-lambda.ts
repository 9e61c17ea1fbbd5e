// Invokes a function through serverless-offline's copy of the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations), the way AWS's event sources do locally.
// serverless-offline answers a RequestResponse invocation with the handler's result as the body;
// a handler that threw still gets 200, flagged by X-Amz-Function-Error (as AWS does), and an
// unknown function gets 404 with x-amzn-ErrorType. No signing: serverless-offline does not check it.
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';

export interface LambdaInvocationResult {
  readonly status: number;
  /** Set when the function failed (AWS's X-Amz-Function-Error) or the API refused the call. */
  readonly functionError?: string;
  /** The handler's result, parsed as JSON when it is JSON; undefined when it returned nothing. */
  readonly payload: unknown;
}

export interface InvokeLambdaOptions {
  readonly lambdaEndpoint: string;
  readonly functionName: string;
  readonly event: unknown;
  readonly signal?: AbortSignal;
}

export async function invokeLambda(options: InvokeLambdaOptions): Promise<LambdaInvocationResult> {
  const url = `${options.lambdaEndpoint.replace(/\/+$/, '')}/2015-03-31/functions/${encodeURIComponent(options.functionName)}/invocations`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
    body: JSON.stringify(options.event),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  const functionError = response.headers.get('x-amz-function-error') ?? response.headers.get('x-amzn-errortype') ?? undefined;
  return {
    status: response.status,
    ...(functionError === undefined ? {} : { functionError }),
    payload: parseJson(text),
  };
}

/** Did the invocation run the function to completion? */
export function invocationSucceeded(result: LambdaInvocationResult): boolean {
  return result.status >= 200 && result.status < 300 && result.functionError === undefined;
}

/** What went wrong, for a log line: status and error type only, never the payload (it may echo input). */
export function describeInvocationFailure(result: LambdaInvocationResult): string {
  return `status ${result.status}${result.functionError === undefined ? '' : `, ${result.functionError}`}`;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A failed fetch's reason: fetch says only "fetch failed" and keeps the why (ECONNREFUSED…) in its cause. */
export function describeInvocationError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ((error.cause as NodeJS.ErrnoException).code ?? error.cause.message) : undefined;
  return cause === undefined ? error.message : `${error.message} (${cause})`;
}

/** The "Scheduled Event" an EventBridge schedule rule named after `functionName` sends it. */
export function scheduledEvent(
  functionName: string,
  where: { readonly region: string; readonly accountId: string },
  now = new Date(),
): ScheduledEvent<Record<string, never>> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: where.accountId,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: [`arn:aws:events:${where.region}:${where.accountId}:rule/${functionName}-schedule`],
    detail: {},
  };
}
