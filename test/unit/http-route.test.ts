// The middy chain every HTTP function uses, driven with hand-built API Gateway v2 events and a fake
// TokenVerifier: authentication, route authorization, strict input parsing and error mapping.
import { jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { IdentityProviderUnavailableError, NoGrantError } from '../../shared/domain/errors.js';
import type { Principal } from '../../shared/domain/model.js';
import { profileNameSchema, vendQuerySchema, vendRequestSchema } from '../../shared/domain/schemas.js';
import { json } from '../../shared/http/responses.js';
import { MAX_BODY_BYTES, createRoute, type RouteRequest } from '../../shared/http/route.js';
import { aPrincipal } from '../fixtures/builders.js';
import { FakeTokenVerifier } from '../fixtures/in-memory.js';

const LAMBDA_REQUEST_ID = '7f8e9d0c-1b2a-4c3d-8e4f-5a6b7c8d9e0f';
const ALICE = aPrincipal({ id: 'alice@example.com', groups: ['developers'] });
const ADMIN = aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] });
const ALICE_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.alice-token.c2lnbmF0dXJl';
const ADMIN_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.admin-token.c2lnbmF0dXJl';
const IDP_DOWN_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.idp-down.c2lnbmF0dXJl';

// ---------------------------------------------------------------------------------------------
// Events, context and routes

function anEvent(overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /credentials',
    rawPath: '/credentials',
    rawQueryString: '',
    headers: {
      authorization: `Bearer ${ALICE_TOKEN}`,
      'content-type': 'application/json',
      'user-agent': 'tvm-cli/0.1.0',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: {
        method: 'POST',
        path: '/credentials',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'tvm-cli/0.1.0',
      },
      requestId: 'api-gw-request-1',
      routeKey: 'POST /credentials',
      stage: '$default',
      time: '01/Jun/2026:12:00:00 +0000',
      timeEpoch: 1780315200000,
    },
    isBase64Encoded: false,
    ...overrides,
  };
}

function withHeaders(headers: Record<string, string | undefined>): Partial<APIGatewayProxyEventV2> {
  return { headers: { ...anEvent().headers, ...headers } };
}

function aContext(awsRequestId = LAMBDA_REQUEST_ID): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'tvm-test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tvm-test-function',
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: '/aws/lambda/tvm-test-function',
    logStreamName: '2026/06/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

type Route = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

interface Response {
  readonly status: number | undefined;
  readonly headers: Record<string, unknown>;
  readonly body: Record<string, unknown>;
  readonly rawBody: string;
}

async function invoke(route: Route, event: APIGatewayProxyEventV2, context = aContext()): Promise<Response> {
  const result = await route(event, context);
  const rawBody = result.body ?? '';
  return {
    status: result.statusCode,
    headers: (result.headers ?? {}) as Record<string, unknown>,
    body: JSON.parse(rawBody) as Record<string, unknown>,
    rawBody,
  };
}

const verifier = new FakeTokenVerifier({ [ALICE_TOKEN]: ALICE, [ADMIN_TOKEN]: ADMIN }).failing(
  IDP_DOWN_TOKEN,
  new IdentityProviderUnavailableError('identity provider https://idp.example.com is unavailable'),
);

/** Every request a handler was called with, so a test can prove the handler never ran. */
const handled: RouteRequest<unknown, unknown, unknown, Principal | undefined>[] = [];

function echo<B, Q, P, A extends Principal | undefined>(request: RouteRequest<B, Q, P, A>): APIGatewayProxyStructuredResultV2 {
  handled.push(request);
  return json(200, { echo: request }, request.requestId);
}

const vendRoute = createRoute(
  { verifier },
  { access: 'caller', body: vendRequestSchema, query: vendQuerySchema },
  async (request) => echo(request),
);
const noInputRoute = createRoute({ verifier }, { access: 'caller' }, async (request) => echo(request));
const profileRoute = createRoute(
  { verifier },
  { access: 'caller', path: z.object({ name: profileNameSchema }).strict() },
  async (request) => echo(request),
);
const adminRoute = createRoute(
  { verifier },
  { access: { anyOfGroups: ['tvm-admin', 'tvm-security'] } },
  async (request) => echo(request),
);
const publicRoute = createRoute({}, { access: 'public' }, async (request) => echo(request));
const failingRoute = createRoute({ verifier }, { access: 'caller' }, async () => {
  throw new Error('connect ECONNREFUSED 10.0.0.12:5432 (user=tvm password=hunter2)');
});
const throwingStringRoute = createRoute({ verifier }, { access: 'caller' }, async () => {
  throw 'a string, not an Error';
});
const refusingRoute = createRoute({ verifier }, { access: 'caller' }, async () => {
  throw new NoGrantError('no active grant for profile "prod-admin"', { details: { profile: 'prod-admin' } });
});

const VEND_BODY = JSON.stringify({ profile: 'dev-readonly', durationSeconds: 900 });
const vendEvent = (overrides: Partial<APIGatewayProxyEventV2> = {}) => anEvent({ body: VEND_BODY, ...overrides });
const getEvent = (overrides: Partial<APIGatewayProxyEventV2> = {}) =>
  anEvent({ routeKey: 'GET /me', rawPath: '/me', ...withHeaders({ 'content-type': undefined }), ...overrides });

function errorOf(response: Response): { code?: unknown; message?: unknown; requestId?: unknown } {
  return response.body.error as { code?: unknown; message?: unknown; requestId?: unknown };
}

// ---------------------------------------------------------------------------------------------

let logLines: string[] = [];

beforeEach(() => {
  handled.length = 0;
  logLines = [];
  // The Powertools logger writes JSON lines to stdout (errors to stderr): keep them for inspection,
  // out of the test output.
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      logLines.push(String(chunk));
      return true;
    });
  }
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('createRoute', () => {
  describe('a successful request', () => {
    it('hands the handler the principal, the parsed input, the Lambda request id and the caller details', async () => {
      // Prepare
      const event = vendEvent({ queryStringParameters: { format: 'credential_process' } });

      // Act
      const response = await invoke(vendRoute, event);

      // Assess
      expect(response.status).toBe(200);
      expect(handled).toEqual([
        {
          principal: ALICE,
          body: { profile: 'dev-readonly', durationSeconds: 900 },
          query: { format: 'credential_process' },
          path: undefined,
          requestId: LAMBDA_REQUEST_ID,
          meta: { requestId: LAMBDA_REQUEST_ID, sourceIp: '203.0.113.7', userAgent: 'tvm-cli/0.1.0' },
        },
      ]);
      expect(verifier.tokens).toContain(ALICE_TOKEN);
    });

    it('decodes a base64-encoded body', async () => {
      // Prepare
      const event = anEvent({ body: Buffer.from(VEND_BODY, 'utf8').toString('base64'), isBase64Encoded: true });

      // Act
      const response = await invoke(vendRoute, event);

      // Assess
      expect(response.status).toBe(200);
      expect(handled[0]?.body).toEqual({ profile: 'dev-readonly', durationSeconds: 900 });
    });

    it('accepts a JSON content-type with parameters, and a body without content-type', async () => {
      // Prepare
      const withCharset = vendEvent(withHeaders({ 'content-type': 'application/json; charset=utf-8' }));
      const withoutContentType = vendEvent(withHeaders({ 'content-type': undefined }));

      // Act
      const responses = [await invoke(vendRoute, withCharset), await invoke(vendRoute, withoutContentType)];

      // Assess
      expect(responses.map((response) => response.status)).toEqual([200, 200]);
    });

    it('validates path parameters', async () => {
      // Prepare
      const good = getEvent({ pathParameters: { name: 'dev-readonly' } });
      const bad = getEvent({ pathParameters: { name: '../etc/passwd' } });

      // Act
      const ok = await invoke(profileRoute, good);
      const refused = await invoke(profileRoute, bad);

      // Assess
      expect(ok.status).toBe(200);
      expect(handled[0]?.path).toEqual({ name: 'dev-readonly' });
      expect(refused.status).toBe(400);
      expect(errorOf(refused)).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/^path\.name: /) });
    });

    it('lets a public route through without a token', async () => {
      // Prepare
      const event = getEvent(withHeaders({ authorization: undefined, 'content-type': undefined }));

      // Act
      const response = await invoke(publicRoute, event);

      // Assess
      expect(response.status).toBe(200);
      expect(handled[0]?.principal).toBeUndefined();
    });
  });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', undefined],
      ['an empty header', ''],
      ['the Basic scheme', 'Basic YWxpY2U6cGFzc3dvcmQ='],
      ['Bearer without a token', 'Bearer '],
      ['Bearer with two tokens', `Bearer ${ALICE_TOKEN} ${ADMIN_TOKEN}`],
      ['a bare token', ALICE_TOKEN],
    ])('answers 401 UNAUTHENTICATED for %s, without calling the verifier or the handler', async (_label, header) => {
      // Prepare
      const verifierCalls = verifier.tokens.length;
      const event = getEvent(withHeaders({ authorization: header }));

      // Act
      const response = await invoke(noInputRoute, event);

      // Assess
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        error: {
          code: 'UNAUTHENTICATED',
          message: 'missing or malformed Authorization: Bearer <token> header',
          requestId: LAMBDA_REQUEST_ID,
        },
      });
      expect(verifier.tokens).toHaveLength(verifierCalls);
      expect(handled).toEqual([]);
    });

    it('answers 401 with the reason when the verifier refuses the token', async () => {
      // Prepare
      const event = getEvent(withHeaders({ authorization: 'Bearer eyJ.forged.token' }));

      // Act
      const response = await invoke(noInputRoute, event);

      // Assess
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        error: { code: 'UNAUTHENTICATED', message: 'invalid token', requestId: LAMBDA_REQUEST_ID },
      });
      expect(handled).toEqual([]);
    });

    it('accepts the scheme in any case', async () => {
      // Prepare
      const event = getEvent(withHeaders({ authorization: `bearer ${ALICE_TOKEN}` }));

      // Act
      const response = await invoke(noInputRoute, event);

      // Assess
      expect(response.status).toBe(200);
    });

    it('answers 503 IDP_UNAVAILABLE when the identity provider cannot be reached', async () => {
      // Prepare
      const event = getEvent(withHeaders({ authorization: `Bearer ${IDP_DOWN_TOKEN}` }));

      // Act
      const response = await invoke(noInputRoute, event);

      // Assess
      expect(response.status).toBe(503);
      expect(response.body).toEqual({
        error: {
          code: 'IDP_UNAVAILABLE',
          message: 'identity provider https://idp.example.com is unavailable',
          requestId: LAMBDA_REQUEST_ID,
        },
      });
      expect(handled).toEqual([]);
    });

    it('never writes the bearer token to the log', async () => {
      // Prepare
      const events = [
        getEvent(),
        getEvent(withHeaders({ authorization: `Bearer ${IDP_DOWN_TOKEN}` })),
        getEvent(withHeaders({ authorization: `Basic ${ALICE_TOKEN}` })),
      ];

      // Act
      for (const event of events) await invoke(noInputRoute, event);
      await invoke(failingRoute, getEvent());

      // Assess
      expect(logLines.length).toBeGreaterThan(0);
      const logged = logLines.join('');
      expect(logged).not.toContain(ALICE_TOKEN);
      expect(logged).not.toContain(IDP_DOWN_TOKEN);
    });
  });

  describe('authorization', () => {
    it('answers 403 FORBIDDEN to a caller outside the required groups', async () => {
      // Prepare
      const event = getEvent();

      // Act
      const response = await invoke(adminRoute, event);

      // Assess
      expect(response.status).toBe(403);
      expect(errorOf(response)).toEqual({
        code: 'FORBIDDEN',
        message: 'this route requires membership of tvm-admin or tvm-security',
        requestId: LAMBDA_REQUEST_ID,
      });
      expect(handled).toEqual([]);
    });

    it('lets a member of one of the groups through', async () => {
      // Prepare
      const event = getEvent(withHeaders({ authorization: `Bearer ${ADMIN_TOKEN}` }));

      // Act
      const response = await invoke(adminRoute, event);

      // Assess
      expect(response.status).toBe(200);
      expect(handled[0]?.principal).toEqual(ADMIN);
    });
  });

  describe('input', () => {
    it('answers 413 PAYLOAD_TOO_LARGE to a body over 16 KiB', async () => {
      // Prepare
      const padding = 'x'.repeat(MAX_BODY_BYTES);
      const event = anEvent({ body: JSON.stringify({ profile: 'dev-readonly', reason: padding }) });

      // Act
      const response = await invoke(vendRoute, event);

      // Assess
      expect(MAX_BODY_BYTES).toBe(16 * 1024);
      expect(response.status).toBe(413);
      expect(errorOf(response)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', requestId: LAMBDA_REQUEST_ID });
      expect(handled).toEqual([]);
    });

    it('counts bytes, not characters, and counts them after base64 decoding', async () => {
      // Prepare: 6,000 three-byte characters are 18,000 bytes.
      const multiByte = JSON.stringify({ profile: 'dev-readonly', reason: '€'.repeat(6000) });
      const events = [
        anEvent({ body: multiByte }),
        anEvent({ body: Buffer.from(multiByte, 'utf8').toString('base64'), isBase64Encoded: true }),
      ];

      // Act
      const responses = await Promise.all(events.map((event) => invoke(vendRoute, event)));

      // Assess
      expect(responses.map((response) => errorOf(response).code)).toEqual(['PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE']);
    });

    it('parses a body of exactly 16 KiB', async () => {
      // Prepare
      const skeleton = JSON.stringify({ profile: 'dev-readonly', reason: '' });
      const body = JSON.stringify({ profile: 'dev-readonly', reason: 'x'.repeat(MAX_BODY_BYTES - skeleton.length) });

      // Act
      const response = await invoke(vendRoute, anEvent({ body }));

      // Assess: refused by the schema (reason is at most 256 characters), not by the size limit.
      expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
      expect(errorOf(response)).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/^body\.reason: /) });
    });

    it.each([
      ['invalid JSON', vendEvent({ body: '{"profile":' }), /^body: not valid JSON$/],
      ['an empty body (read as {})', vendEvent({ body: '' }), /^body\.profile: Required$/],
      ['a JSON array', vendEvent({ body: '[]' }), /^body must be a JSON object$/],
      ['JSON false', vendEvent({ body: 'false' }), /^body must be a JSON object$/],
      ['JSON null', vendEvent({ body: 'null' }), /^body must be a JSON object$/],
      ['JSON 0', vendEvent({ body: '0' }), /^body must be a JSON object$/],
      ['a JSON string', vendEvent({ body: '"x"' }), /^body must be a JSON object$/],
      // serverless-offline's shapes: the value it parsed, or nothing for a falsy one it dropped.
      ['a parsed false', vendEvent({ body: false as unknown as string }), /^body must be a JSON object$/],
      ['a parsed 0', vendEvent({ body: 0 as unknown as string }), /^body must be a JSON object$/],
      [
        'a dropped null (no body, but a content-length)',
        vendEvent({ body: undefined, ...withHeaders({ 'content-length': '4' }) }),
        /^body must be a JSON object$/,
      ],
      ['the wrong content-type', vendEvent(withHeaders({ 'content-type': 'text/plain' })), /^body: content-type must be application\/json$/],
      [
        'form encoding',
        vendEvent(withHeaders({ 'content-type': 'application/x-www-form-urlencoded' })),
        /content-type must be application\/json/,
      ],
      ['an unknown field', vendEvent({ body: '{"profile":"dev-readonly","roleArn":"arn:aws:iam::1:role/x"}' }), /^body\.roleArn: unknown field/],
      ['a missing field', vendEvent({ body: '{"durationSeconds":900}' }), /^body\.profile: Required$/],
      ['a field of the wrong type', vendEvent({ body: '{"profile":42}' }), /^body\.profile: Expected string, received number$/],
      [
        'a nested field of the wrong type',
        vendEvent({ body: '{"profile":"dev-readonly","scope":{"actions":[42]}}' }),
        /^body\.scope\.actions\.0: Expected string, received number$/,
      ],
      ['a string where a number belongs', vendEvent({ body: '{"profile":"dev-readonly","durationSeconds":"900"}' }), /^body\.durationSeconds: /],
      ['an unknown query parameter', vendEvent({ queryStringParameters: { debug: 'true' } }), /^query\.debug: unknown field/],
      ['a query value outside its enum', vendEvent({ queryStringParameters: { format: 'xml' } }), /^query\.format: /],
    ])('answers 400 VALIDATION_FAILED to %s, naming the field', async (_label, event, message) => {
      // Act
      const response = await invoke(vendRoute, event);

      // Assess
      expect(response.status).toBe(400);
      expect(errorOf(response)).toEqual({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(message),
        requestId: LAMBDA_REQUEST_ID,
      });
      expect(handled).toEqual([]);
    });

    it('answers 400 to a query parameter on a route without a query schema', async () => {
      // Prepare
      const event = getEvent({ queryStringParameters: { profile: 'dev-readonly' } });

      // Act
      const response = await invoke(noInputRoute, event);

      // Assess
      expect(response.status).toBe(400);
      expect(errorOf(response)).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'query.profile: unknown field (not accepted by this route)',
      });
      expect(handled).toEqual([]);
    });

    it('answers 400 to a body on a route without a body schema', async () => {
      // Prepare
      const event = getEvent({ body: '{"profile":"dev-readonly"}' });

      // Act
      const response = await invoke(noInputRoute, event);

      // Assess
      expect(response.status).toBe(400);
      expect(errorOf(response)).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'body: this route takes no request body',
      });
      expect(handled).toEqual([]);
    });
  });

  describe('errors', () => {
    it('answers 500 INTERNAL with a generic message to an unexpected exception', async () => {
      // Act
      const response = await invoke(failingRoute, getEvent());

      // Assess
      expect(response.status).toBe(500);
      expect(response.body).toEqual({
        error: { code: 'INTERNAL', message: 'internal error', requestId: LAMBDA_REQUEST_ID },
      });
      expect(response.rawBody).not.toContain('hunter2');
      expect(response.rawBody).not.toContain('ECONNREFUSED');
      expect(response.rawBody).not.toMatch(/\bat .*\.(ts|js):\d+/);
      // The details go to the log instead, as a server fault.
      expect(logLines.join('')).toMatch(/"level":"ERROR","message":"request failed"/);
    });

    it('answers 500 INTERNAL when something other than an Error is thrown', async () => {
      // Act
      const response = await invoke(throwingStringRoute, getEvent());

      // Assess
      expect(response.status).toBe(500);
      expect(errorOf(response)).toEqual({ code: 'INTERNAL', message: 'internal error', requestId: LAMBDA_REQUEST_ID });
    });

    it("maps a domain error from the handler to its status, with the error's details", async () => {
      // Act
      const response = await invoke(refusingRoute, getEvent());

      // Assess
      expect(response.status).toBe(403);
      expect(response.body).toEqual({
        error: {
          code: 'NO_GRANT',
          message: 'no active grant for profile "prod-admin"',
          requestId: LAMBDA_REQUEST_ID,
          profile: 'prod-admin',
        },
      });
    });

    it('fails closed with 500 INTERNAL when a protected route has no verifier', async () => {
      // Prepare: a wiring mistake, not a caller's fault.
      const unwired = createRoute({}, { access: 'caller' }, async (request) => echo(request));

      // Act
      const response = await invoke(unwired, getEvent());

      // Assess
      expect(response.status).toBe(500);
      expect(errorOf(response)).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
      expect(handled).toEqual([]);
    });

    it('makes up a request id when the context has none', async () => {
      // Act
      const response = await invoke(refusingRoute, getEvent(), aContext(''));

      // Assess
      const requestId = errorOf(response).requestId;
      expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(response.headers['x-request-id']).toBe(requestId);
    });

    it('uses a fresh request id per invocation', async () => {
      // Act
      const first = await invoke(refusingRoute, getEvent(), aContext('request-one'));
      const second = await invoke(refusingRoute, getEvent(), aContext('request-two'));

      // Assess
      expect([errorOf(first).requestId, errorOf(second).requestId]).toEqual(['request-one', 'request-two']);
    });
  });

  describe('every response', () => {
    it.each<[string, Route, APIGatewayProxyEventV2, number]>([
      ['a success', vendRoute, vendEvent(), 200],
      ['a public success', publicRoute, getEvent(withHeaders({ authorization: undefined })), 200],
      ['a 400', vendRoute, vendEvent({ body: '{' }), 400],
      ['a 401', noInputRoute, getEvent(withHeaders({ authorization: undefined })), 401],
      ['a 403', adminRoute, getEvent(), 403],
      ['a 413', vendRoute, vendEvent({ body: 'x'.repeat(MAX_BODY_BYTES + 1) }), 413],
      ['a 500', failingRoute, getEvent(), 500],
      ['a 503', noInputRoute, getEvent(withHeaders({ authorization: `Bearer ${IDP_DOWN_TOKEN}` })), 503],
    ])('is uncacheable JSON carrying the request id: %s', async (_label, route, event, status) => {
      // Act
      const response = await invoke(route, event);

      // Assess
      expect(response.status).toBe(status);
      expect(response.headers).toMatchObject({
        'cache-control': 'no-store',
        'content-type': 'application/json',
        'x-request-id': LAMBDA_REQUEST_ID,
      });
    });
  });
});
