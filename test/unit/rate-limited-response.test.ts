// A rate-limited vend over HTTP: 429 RATE_LIMITED with the seconds to wait both in the body and as
// the Retry-After header clients and proxies honour; no other error grows that header.
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { NoGrantError, RateLimitedError, StoreUnavailableError, type TvmError } from '../../shared/domain/errors.js';
import { vendQuerySchema, vendRequestSchema } from '../../shared/domain/schemas.js';
import { mapError } from '../../shared/http/error-mapping.js';
import { createRoute } from '../../shared/http/route.js';
import { aPrincipal } from '../fixtures/builders.js';
import { FakeTokenVerifier } from '../fixtures/in-memory.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.alice-token.c2lnbmF0dXJl';
const LAMBDA_REQUEST_ID = '0c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

function aVendEvent(): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /credentials',
    rawPath: '/credentials',
    rawQueryString: '',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: { method: 'POST', path: '/credentials', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'tvm-cli/0.1.0' },
      requestId: 'api-gw-request-1',
      routeKey: 'POST /credentials',
      stage: '$default',
      time: '01/Jun/2026:12:00:00 +0000',
      timeEpoch: 1780315200000,
    },
    body: JSON.stringify({ profile: 'dev-readonly' }),
    isBase64Encoded: false,
  };
}

function aContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'tvm-test-vendCredentials',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tvm-test-vendCredentials',
    memoryLimitInMB: '256',
    awsRequestId: LAMBDA_REQUEST_ID,
    logGroupName: '/aws/lambda/tvm-test-vendCredentials',
    logStreamName: '2026/06/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The vend route's middy chain with a handler that fails as the use case would. */
function vendRouteFailingWith(error: TvmError) {
  return createRoute(
    { verifier: new FakeTokenVerifier({ [TOKEN]: aPrincipal() }) },
    { access: 'caller', body: vendRequestSchema, query: vendQuerySchema },
    async () => {
      throw error;
    },
  );
}

describe('a rate-limited vend over HTTP', () => {
  it('answers 429 RATE_LIMITED with Retry-After and retryAfterSeconds in the body', async () => {
    // Prepare
    const route = vendRouteFailingWith(
      new RateLimitedError('too many credential requests; try again in 45 s', { details: { retryAfterSeconds: 45 } }),
    );

    // Act
    const response = await route(aVendEvent(), aContext());

    // Assess
    expect(response.statusCode).toBe(429);
    expect(response.headers).toEqual({
      'retry-after': '45',
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-request-id': LAMBDA_REQUEST_ID,
    });
    expect(JSON.parse(response.body ?? '')).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'too many credential requests; try again in 45 s',
        requestId: LAMBDA_REQUEST_ID,
        retryAfterSeconds: 45,
      },
    });
  });

  it('sends no Retry-After with refusals that do not say when to retry', async () => {
    // Prepare
    const route = vendRouteFailingWith(new NoGrantError('no active grant', { details: { profile: 'dev-readonly' } }));

    // Act
    const response = await route(aVendEvent(), aContext());

    // Assess
    expect(response.statusCode).toBe(403);
    expect(Object.keys(response.headers ?? {}).map((name) => name.toLowerCase())).not.toContain('retry-after');
  });
});

describe('mapError and Retry-After', () => {
  it.each([
    ['a fraction', 1.5],
    ['a negative number', -1],
    ['a string', '45'],
    ['infinity', Number.POSITIVE_INFINITY],
  ])('leaves the header out rather than send %s as delay-seconds', (_label, value) => {
    // Prepare
    const error = new StoreUnavailableError('the store is unavailable', { details: { retryAfterSeconds: value } });

    // Act
    const mapped = mapError(error, 'req-0001');

    // Assess
    expect(mapped.headers).toBeUndefined();
  });
});
