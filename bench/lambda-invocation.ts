// What Lambda hands the vend function for one POST /credentials: the HTTP API (payload 2.0) event,
// as API Gateway and serverless-offline send it, and the context, with serverless.yml's timeout.
// The benchmark and test/integration/vend-aws-calls.test.ts call the real handler with these.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

const FUNCTION_NAME = 'tvm-local-vendCredentials';
const TIMEOUT_MS = 25_000;

export function vendEvent(token: string, body: string, userAgent: string): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: 'POST /credentials',
    rawPath: '/credentials',
    rawQueryString: '',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      host: 'localhost',
      'user-agent': userAgent,
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: 'POST', path: '/credentials', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent },
      requestId: randomUUID(),
      routeKey: 'POST /credentials',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body,
    isBase64Encoded: false,
  };
}

/** A fresh invocation's context: its own request id, and the time left of the function's timeout. */
export function lambdaContext(): Context {
  const deadline = Date.now() + TIMEOUT_MS;
  return {
    awsRequestId: randomUUID(),
    callbackWaitsForEmptyEventLoop: true,
    functionName: FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION_NAME}`,
    memoryLimitInMB: '1024',
    logGroupName: `/aws/lambda/${FUNCTION_NAME}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
