// Hostile input against every HTTP route, through the real handlers (functions/*.ts) with in-memory
// ports: ~100 generated requests per route (wrong types, huge strings, deep nesting, unicode,
// prototype-pollution keys, control characters, policy injection in scopes, hostile principal ids
// and groups from the token). For each: never a 5xx, always JSON, every refusal a known error code
// with its status and request id, no state changed by a refusal (a refused vend records one
// credential.denied, nothing else), no AssumeRole request STS would refuse, no polluted prototype.
// test/stress/hostile-input.stress.test.ts runs the same with ≥ 1,000 requests per route.
import { jest } from '@jest/globals';
import { call, resetWorld, snapshot, unexpectedChange, validRequest } from '../fixtures/handler-harness.js';
import { checkHostileRequest, describeHostileInput } from '../fixtures/hostile-requests.js';

beforeEach(() => {
  // Keep the logger's JSON lines out of the test output.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describeHostileInput(100);

describe('defects the generators found, kept as examples', () => {
  // An offset zod's datetime pattern accepts but no Date can hold: toISOString() threw, a 500.
  const IMPOSSIBLE_OFFSET = '2026-01-01T00:00:00+99:99';

  it.each([
    ['GET /audit/verify', { query: { to: IMPOSSIBLE_OFFSET } }, 'query.to'],
    ['GET /audit/events', { query: { from: IMPOSSIBLE_OFFSET } }, 'query.from'],
    ['GET /alerts', { query: { since: IMPOSSIBLE_OFFSET } }, 'query.since'],
    ['POST /grants', { body: { profile: 'dev-readonly', subject: { type: 'user', id: 'eve@example.com' }, validUntil: IMPOSSIBLE_OFFSET } }, 'body.validUntil'],
    [
      'POST /engagements',
      {
        body: {
          name: 'n',
          owner: 'admin@example.com',
          contractors: ['dev-2@agency.example'],
          profiles: [{ profile: 'dev-readonly' }],
          validUntil: IMPOSSIBLE_OFFSET,
        },
      },
      'body.validUntil',
    ],
  ])('%s: a date-time with an impossible offset is 400 VALIDATION_FAILED naming the field, and changes nothing', async (routeKey, input, field) => {
    // Prepare
    const world = await resetWorld();
    const before = snapshot(world);
    const request = validRequest(routeKey, 'tvm-admin');
    const event = {
      ...request,
      ...('query' in input ? { query: input.query } : {}),
      ...('body' in input ? { body: JSON.stringify(input.body) } : {}),
    };

    // Act
    const response = await call(routeKey, event);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: `${field}: must be an ISO 8601 date-time` } });
    expect(unexpectedChange(routeKey, before, snapshot(world))).toBeUndefined();
  });

  it('a refused request with a hostile principal id changes nothing but the one credential.denied of a vend', async () => {
    // Prepare: a principal in the developers group (which holds a grant) asking for a scope it lacks.
    const hostile = { id: '"},{"Effect":"Allow","Action":"*","Resource":"*"}]}\u2028', groups: ['developers'], issuer: 'https://idp.example.com' };
    const request = {
      caller: { hostile },
      request: {
        headers: { authorization: 'Bearer token-hostile-principal', 'content-type': 'application/json' },
        body: JSON.stringify({ profile: 'dev-readonly', scope: { actions: ['iam:*'] } }),
      },
    };

    // Act
    const problems = await checkHostileRequest('POST /credentials', request);

    // Assess
    expect(problems).toEqual([]);
  });
});

// A name with a zero-width space or a bidi override looks like another's on every
// screen (an allow list, a grant list, an engagement), and must never be stored as someone's.
describe('identifiers that hide characters', () => {
  const HIDDEN = ['\u200b', '\u202e', '\u2060', '\ufeff', '\u2028', '\u2029', '\ufe0f', '\u034f', '\u3164', '\u00a0'];
  const withBody = (routeKey: string, role: 'tvm-admin' | 'tvm-security', change: (body: Record<string, unknown>) => Record<string, unknown>) => {
    const request = validRequest(routeKey, role);
    return { ...request, body: JSON.stringify(change(JSON.parse(String(request.body)) as Record<string, unknown>)) };
  };
  const cases = HIDDEN.flatMap((hidden) => [
    ['POST /grants', 'tvm-admin', 'body.subject.id', (b: Record<string, unknown>) => ({ ...b, subject: { type: 'user', id: `eve${hidden}@example.com` } })],
    ['POST /grants', 'tvm-admin', 'body.subject.id', (b: Record<string, unknown>) => ({ ...b, subject: { type: 'group', id: `eng${hidden}` } })],
    ['PUT /lockdown', 'tvm-security', 'body.allow.principals.0', (b: Record<string, unknown>) => ({ ...b, allow: { principals: [`boss${hidden}@example.com`] } })],
    ['PUT /lockdown', 'tvm-security', 'body.allow.groups.0', (b: Record<string, unknown>) => ({ ...b, allow: { groups: [`top${hidden}brass`] } })],
    ['POST /engagements', 'tvm-admin', 'body.contractors.0', (b: Record<string, unknown>) => ({ ...b, contractors: [`dev-2${hidden}@agency.example`] })],
  ] as const);

  it.each(cases)('%s as %s: %s with a hidden character is 400 VALIDATION_FAILED, and changes nothing', async (routeKey, role, field, change) => {
    // Prepare
    const world = await resetWorld();
    const before = snapshot(world);

    // Act
    const response = await call(routeKey, withBody(routeKey, role, change));

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringContaining(`${field}: must not contain invisible`) } });
    expect(unexpectedChange(routeKey, before, snapshot(world))).toBeUndefined();
  });

  it('stores a decomposed name in NFC: the grant names the very person a token in NFC names', async () => {
    // Prepare
    await resetWorld();

    // Act
    const response = await call('POST /grants', withBody('POST /grants', 'tvm-admin', (b) => ({ ...b, subject: { type: 'user', id: 'rene\u0301@example.com' } })));

    // Assess
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ subject: { type: 'user', id: 'ren\u00e9@example.com' } });
  });
});
