// The security-team handlers as deployed (functions/*.ts), with the composition root replaced by
// in-memory ports: only tvm-security and tvm-admin get in, unknown parameters are refused, and a
// member gets the use case's answer.
import { jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Config } from '../../shared/config.js';
import { aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { FakeTokenVerifier, InMemoryAuditLog, InMemoryChainAnchorStore, InMemoryDelegationStore } from '../fixtures/in-memory.js';
import { anAlert, anIssuance, aUse, KEY } from '../fixtures/key-events.js';

const TOKENS = { developer: 'token-developer', security: 'token-security', admin: 'token-admin' } as const;
const verifier = new FakeTokenVerifier({
  [TOKENS.developer]: aPrincipal({ id: 'alice@example.com', groups: ['developers'] }),
  [TOKENS.security]: aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] }),
  [TOKENS.admin]: aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] }),
});
const audit = new InMemoryAuditLog();
// The handlers run on the system clock: the grant is valid around now, whenever the test runs.
const grant = aGrant({ validFrom: new Date(Date.now() - 86_400_000).toISOString(), validUntil: new Date(Date.now() + 86_400_000).toISOString() });
const store = new InMemoryDelegationStore({ audit, profiles: [aProfile()], grants: [grant] });
const config = { adminGroup: 'tvm-admin', securityGroup: 'tvm-security' } as Config;

jest.unstable_mockModule('../../shared/composition.js', () => ({
  config: () => config,
  auditLog: () => audit,
  delegationStore: () => store,
  tokenVerifier: () => verifier,
  chainAnchorStore: () => new InMemoryChainAnchorStore(),
}));

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const routes: Record<string, { load: () => Promise<{ handler: unknown }>; path: string; valid: Record<string, string>; pathParameters?: Record<string, string> }> = {
  'GET /audit/events': { load: () => import('../../functions/list-audit-events.js'), path: '/audit/events', valid: { accessKeyId: KEY } },
  'GET /audit/keys/{accessKeyId}': {
    load: () => import('../../functions/get-key-trace.js'),
    path: `/audit/keys/${KEY}`,
    valid: {},
    pathParameters: { accessKeyId: KEY },
  },
  'GET /audit/access': { load: () => import('../../functions/get-access.js'), path: '/audit/access', valid: { profile: 'dev-readonly' } },
  'GET /audit/verify': { load: () => import('../../functions/verify-audit.js'), path: '/audit/verify', valid: {} },
  'GET /alerts': { load: () => import('../../functions/list-alerts.js'), path: '/alerts', valid: { rule: 'use-after-revocation' } },
};

function anEvent(routeKey: string, token: string, query: Record<string, string>, pathParameters?: Record<string, string>): APIGatewayProxyEventV2 {
  const path = routes[routeKey]?.path ?? '/';
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { authorization: `Bearer ${token}` },
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'tvm-cli/0.1.0' },
      requestId: 'api-gw-request-1',
      routeKey,
      stage: '$default',
      time: '01/Jun/2026:12:00:00 +0000',
      timeEpoch: 1780315200000,
    },
    isBase64Encoded: false,
  };
}

const context = { awsRequestId: 'lambda-request-1', getRemainingTimeInMillis: () => 10_000 } as Context;

async function call(routeKey: string, token: string, query: Record<string, string>, pathParameters?: Record<string, string>) {
  const route = routes[routeKey] as (typeof routes)[string];
  const { handler } = (await route.load()) as { handler: Handler };
  const result = await handler(anEvent(routeKey, token, query, pathParameters), context);
  return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as Record<string, unknown> & { error?: { code: string; message: string } } };
}

beforeAll(async () => {
  const issuance = anIssuance({ at: new Date(Date.now() - 60_000).toISOString(), expiration: new Date(Date.now() + 3_600_000).toISOString() });
  await audit.append(issuance);
  await audit.append(aUse(issuance, { eventTime: new Date(Date.now() - 30_000).toISOString() }));
  await audit.append(anAlert({ at: new Date(Date.now() - 10_000).toISOString() }));
});

beforeEach(() => {
  // Keep the logger's JSON lines out of the test output.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe.each(Object.keys(routes))('%s', (routeKey) => {
  const route = routes[routeKey] as (typeof routes)[string];

  it('answers 403 FORBIDDEN to a caller outside tvm-security and tvm-admin', async () => {
    // Act
    const response = await call(routeKey, TOKENS.developer, route.valid, route.pathParameters);

    // Assess
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'FORBIDDEN', message: 'this route requires membership of tvm-security or tvm-admin' });
  });

  it('answers 400 VALIDATION_FAILED to an unknown query parameter', async () => {
    // Act
    const response = await call(routeKey, TOKENS.security, { ...route.valid, debug: 'true' }, route.pathParameters);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'query.debug: unknown field (not accepted by this route)' });
  });

  it.each([['tvm-security', TOKENS.security], ['tvm-admin', TOKENS.admin]])('answers a member of %s', async (_group, token) => {
    // Act
    const response = await call(routeKey, token, route.valid, route.pathParameters);

    // Assess
    expect(response.status).toBe(200);
  });
});

describe('what the handlers answer', () => {
  it('GET /audit/keys/{accessKeyId}: the trace; 404 for a key never seen; 400 for a malformed key', async () => {
    // Act
    const trace = await call('GET /audit/keys/{accessKeyId}', TOKENS.security, {}, { accessKeyId: KEY });
    const unknown = await call('GET /audit/keys/{accessKeyId}', TOKENS.security, {}, { accessKeyId: 'ASIANEVERSEENKEY0001' });
    const malformed = await call('GET /audit/keys/{accessKeyId}', TOKENS.security, {}, { accessKeyId: 'not-a-key' });

    // Assess
    expect(trace.body).toMatchObject({ accessKeyId: KEY, issuance: { accessKeyId: KEY }, uses: [{ eventName: 'GetCallerIdentity' }], revocations: [] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.code).toBe('NOT_FOUND');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error?.message).toMatch(/^path\.accessKeyId: /);
  });

  it('GET /audit/access: grants and live sessions; 400 without a profile; 404 for an unknown one', async () => {
    // Act
    const access = await call('GET /audit/access', TOKENS.security, { profile: 'dev-readonly' });
    const missing = await call('GET /audit/access', TOKENS.security, {});
    const unknown = await call('GET /audit/access', TOKENS.security, { profile: 'prod-admin' });

    // Assess
    expect(access.body).toMatchObject({ profile: 'dev-readonly', grants: [{ id: 'grant-0001' }], sessions: [{ accessKeyId: KEY }] });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.message).toMatch(/^query\.profile: /);
    expect(unknown.status).toBe(404);
  });

  it('GET /audit/verify: the report; 400 for a window over 31 days', async () => {
    // Act
    const report = await call('GET /audit/verify', TOKENS.security, {});
    const tooLong = await call('GET /audit/verify', TOKENS.security, { from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' });

    // Assess
    expect(report.body).toMatchObject({ ok: true, broken: [] });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error?.code).toBe('VALIDATION_FAILED');
  });

  it('GET /alerts and GET /audit/events: pages, newest first', async () => {
    // Act
    const alerts = await call('GET /alerts', TOKENS.security, { rule: 'use-after-revocation' });
    const events = await call('GET /audit/events', TOKENS.security, { accessKeyId: KEY, limit: '2' });

    // Assess
    expect(alerts.body).toEqual({ alerts: [expect.objectContaining({ type: 'alert.raised', rule: 'use-after-revocation' })] });
    expect((events.body.events as { type: string }[]).map((event) => event.type)).toEqual(['alert.raised', 'credential.used']);
    expect(events.body.nextCursor).toEqual(expect.any(String));
  });
});
