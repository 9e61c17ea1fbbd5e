// The security-team handlers, built by their factories as functions/*.ts build them, from in-memory
// ports and a frozen clock: only tvm-security and tvm-admin get in, unknown parameters are
// refused, and a member gets the use case's answer.
import { jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomIds } from '../../shared/adapters/system.js';
import { makeGetAccessHandler } from '../../shared/http/routes/get-access.js';
import { makeGetKeyTraceHandler } from '../../shared/http/routes/get-key-trace.js';
import { makeListAlertsHandler } from '../../shared/http/routes/list-alerts.js';
import { makeListAuditEventsHandler } from '../../shared/http/routes/list-audit-events.js';
import { makeVerifyAuditHandler } from '../../shared/http/routes/verify-audit.js';
import { aGrant, aPrincipal, aProfile } from '../fixtures/builders.js';
import { FakeTokenVerifier, InMemoryAuditLog, InMemoryChainAnchorStore, InMemoryDelegationStore } from '../fixtures/in-memory.js';
import { anAlert, anIssuance, aUse, KEY } from '../fixtures/key-events.js';

const TOKENS = { developer: 'token-developer', security: 'token-security', admin: 'token-admin' } as const;
const verifier = new FakeTokenVerifier({
  [TOKENS.developer]: aPrincipal({ id: 'alice@example.com', groups: ['developers'] }),
  [TOKENS.security]: aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] }),
  [TOKENS.admin]: aPrincipal({ id: 'admin@example.com', groups: ['tvm-admin'] }),
});
const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();
const audit = new InMemoryAuditLog();
const grant = aGrant({ validFrom: at(-86_400_000), validUntil: at(86_400_000) });
const store = new InMemoryDelegationStore({ audit, profiles: [aProfile()], grants: [grant] });
const deps = {
  verifier,
  adminGroup: 'tvm-admin',
  securityGroup: 'tvm-security',
  audit,
  store,
  anchors: new InMemoryChainAnchorStore(),
  clock: { now: () => new Date(NOW) },
  ids: randomIds,
  warn: () => undefined,
};

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const routes: Record<string, { handler: unknown; path: string; valid: Record<string, string>; pathParameters?: Record<string, string> }> = {
  'GET /audit/events': { handler: makeListAuditEventsHandler(deps), path: '/audit/events', valid: { accessKeyId: KEY } },
  'GET /audit/keys/{accessKeyId}': {
    handler: makeGetKeyTraceHandler(deps),
    path: `/audit/keys/${KEY}`,
    valid: {},
    pathParameters: { accessKeyId: KEY },
  },
  'GET /audit/access': { handler: makeGetAccessHandler(deps), path: '/audit/access', valid: { profile: 'dev-readonly' } },
  'GET /audit/verify': { handler: makeVerifyAuditHandler(deps), path: '/audit/verify', valid: {} },
  'GET /alerts': { handler: makeListAlertsHandler(deps), path: '/alerts', valid: { rule: 'use-after-revocation' } },
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
  const result = await (route.handler as Handler)(anEvent(routeKey, token, query, pathParameters), context);
  return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as Record<string, unknown> & { error?: { code: string; message: string } } };
}

beforeAll(async () => {
  const issuance = anIssuance({ at: at(-60_000), expiration: at(3_600_000) });
  await audit.append(issuance);
  await audit.append(aUse(issuance, { eventTime: at(-30_000) }));
  await audit.append(anAlert({ at: at(-10_000) }));
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
