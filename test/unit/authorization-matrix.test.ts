// Authorization (OWASP API1 object level, API5 function level): every route × every role, through
// the real handlers with in-memory ports. The table below is the README's API table made exact for
// the seeded world (test/fixtures/handler-harness.ts):
//   user        alice: a grant on dev-readonly, no delegation
//   contractor  dev@agency.example: a contractor of engagement-0001 (an engagement grant)
//   delegator   lead: a canDelegate grant on dev-readonly; created grant-delegated-0001 (to eve)
//   owner       owner: a canDelegate grant on dev-readonly; owns engagement-0001
//   tvm-admin, tvm-security: the groups, no grants
// Each cell sends the request a permitted caller would send. 'ok' cells must succeed (2xx); every
// other cell names the refusal it must get and must change nothing (a refused vend records one
// credential.denied).
import { jest } from '@jest/globals';
import fc from 'fast-check';
import {
  ADMIN_GROUP,
  IDS,
  PRINCIPALS,
  ROLES,
  ROUTES,
  SECURITY_GROUP,
  call,
  resetWorld,
  snapshot,
  unexpectedChange,
  validRequest,
  type RawRequest,
  type Role,
} from '../fixtures/handler-harness.js';

type Cell = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'NO_GRANT' | 'SELF_APPROVAL_FORBIDDEN';
const STATUS: Record<Exclude<Cell, 'ok'>, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, NO_GRANT: 403, SELF_APPROVAL_FORBIDDEN: 403 };

const ANY_CALLER: Cell[] = ['UNAUTHENTICATED', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'];
const ADMIN_ONLY: Cell[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'ok', 'FORBIDDEN'];
const SECURITY_ONLY: Cell[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'ok'];
const SECURITY_OR_ADMIN: Cell[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'ok', 'ok'];

/** Operation → one cell per role, in ROLES order. */
//                                                anonymous          user         contractor   delegator    owner        tvm-admin    tvm-security
const MATRIX: Record<string, { route: string; request?: (role: Role) => RawRequest; cells: Cell[] }> = {
  'GET /health': { route: 'GET /health', cells: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'] },
  'GET /openapi.json': { route: 'GET /openapi.json', cells: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'] },
  'GET /me': { route: 'GET /me', cells: ANY_CALLER },
  'POST /credentials': { route: 'POST /credentials', cells: ['UNAUTHENTICATED', 'ok', 'ok', 'ok', 'ok', 'NO_GRANT', 'NO_GRANT'] },
  'GET /profiles': { route: 'GET /profiles', cells: ANY_CALLER },
  'GET /profiles/{name}': { route: 'GET /profiles/{name}', cells: ANY_CALLER },
  'PUT /profiles/{name}': { route: 'PUT /profiles/{name}', cells: ADMIN_ONLY },
  'DELETE /profiles/{name}': { route: 'DELETE /profiles/{name}', cells: ADMIN_ONLY },
  'POST /grants': { route: 'POST /grants', cells: ['UNAUTHENTICATED', 'FORBIDDEN', 'FORBIDDEN', 'ok', 'ok', 'ok', 'FORBIDDEN'] },
  'GET /grants': { route: 'GET /grants', cells: ADMIN_ONLY },
  // Everyone may list the grants they created (possibly none); only admins what someone else did.
  'GET /grants?createdBy=me': {
    route: 'GET /grants',
    request: (role) => ({ ...validRequest('GET /grants', role), query: { createdBy: 'me' } }),
    cells: ANY_CALLER,
  },
  'GET /grants?createdBy=<someone else>': {
    route: 'GET /grants',
    request: (role) => ({ ...validRequest('GET /grants', role), query: { createdBy: 'someone-else@example.com' } }),
    cells: ADMIN_ONLY,
  },
  // The delegator's own delegated grant: to anyone but its creator (and admins) it does not exist.
  'DELETE /grants/{id}': { route: 'DELETE /grants/{id}', cells: ['UNAUTHENTICATED', 'NOT_FOUND', 'NOT_FOUND', 'ok', 'NOT_FOUND', 'ok', 'NOT_FOUND'] },
  // alice's grant, an admin's root grant: she may give it up; not even a delegator holding a grant
  // on the same profile may revoke it.
  'DELETE /grants/{id} (someone else’s root grant)': {
    route: 'DELETE /grants/{id}',
    request: (role) => ({ ...validRequest('DELETE /grants/{id}', role), path: { id: IDS.userGrant } }),
    cells: ['UNAUTHENTICATED', 'ok', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'ok', 'NOT_FOUND'],
  },
  'GET /audit/events': { route: 'GET /audit/events', cells: SECURITY_OR_ADMIN },
  'GET /audit/keys/{accessKeyId}': { route: 'GET /audit/keys/{accessKeyId}', cells: SECURITY_OR_ADMIN },
  'GET /audit/access': { route: 'GET /audit/access', cells: SECURITY_OR_ADMIN },
  'GET /audit/verify': { route: 'GET /audit/verify', cells: SECURITY_OR_ADMIN },
  'GET /alerts': { route: 'GET /alerts', cells: SECURITY_OR_ADMIN },
  // Owned by the caller: admins, and anyone holding a delegable grant on the profile.
  'POST /engagements': { route: 'POST /engagements', cells: ['UNAUTHENTICATED', 'FORBIDDEN', 'FORBIDDEN', 'ok', 'ok', 'ok', 'FORBIDDEN'] },
  // Owned by someone else: admins only.
  'POST /engagements (for another owner)': {
    route: 'POST /engagements',
    request: (role) => {
      const request = validRequest('POST /engagements', role);
      const body = JSON.parse(request.body ?? '{}') as Record<string, unknown>;
      return { ...request, body: JSON.stringify({ ...body, owner: 'someone-else@example.com' }) };
    },
    cells: ADMIN_ONLY,
  },
  // Each sees the engagements they are part of (possibly none); admins and security all of them.
  'GET /engagements': { route: 'GET /engagements', cells: ANY_CALLER },
  'GET /engagements/{id}': { route: 'GET /engagements/{id}', cells: ['UNAUTHENTICATED', 'NOT_FOUND', 'ok', 'NOT_FOUND', 'ok', 'ok', 'ok'] },
  'POST /engagements/{id}/handover': {
    route: 'POST /engagements/{id}/handover',
    cells: ['UNAUTHENTICATED', 'NOT_FOUND', 'FORBIDDEN', 'NOT_FOUND', 'ok', 'ok', 'FORBIDDEN'],
  },
  // Anyone may ask for a requestable profile.
  'POST /requests': { route: 'POST /requests', cells: ANY_CALLER },
  // Each sees what is theirs (possibly nothing).
  'GET /requests': { route: 'GET /requests', cells: ANY_CALLER },
  // alice's request on prod-read, decided by `developers` (delegator, owner): the contractor is
  // neither requester nor approver, so it does not exist for them.
  'GET /requests/{id}': { route: 'GET /requests/{id}', cells: ['UNAUTHENTICATED', 'ok', 'NOT_FOUND', 'ok', 'ok', 'ok', 'ok'] },
  // Deciding is for approvers: anyone else is told so (FORBIDDEN), the requester that it is theirs.
  'POST /requests/{id}/approve': {
    route: 'POST /requests/{id}/approve',
    cells: ['UNAUTHENTICATED', 'SELF_APPROVAL_FORBIDDEN', 'FORBIDDEN', 'ok', 'ok', 'FORBIDDEN', 'FORBIDDEN'],
  },
  'POST /requests/{id}/deny': {
    route: 'POST /requests/{id}/deny',
    cells: ['UNAUTHENTICATED', 'SELF_APPROVAL_FORBIDDEN', 'FORBIDDEN', 'ok', 'ok', 'FORBIDDEN', 'FORBIDDEN'],
  },
  'POST /requests/{id}/cancel': { route: 'POST /requests/{id}/cancel', cells: ['UNAUTHENTICATED', 'ok', 'NOT_FOUND', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN'] },
  // alice's approved request: she, its approvers and admins may revoke it; security only looks.
  'POST /requests/{id}/revoke': { route: 'POST /requests/{id}/revoke', cells: ['UNAUTHENTICATED', 'ok', 'NOT_FOUND', 'ok', 'ok', 'ok', 'FORBIDDEN'] },
  'GET /lockdown': { route: 'GET /lockdown', cells: ANY_CALLER },
  'GET /cut-off-epoch': { route: 'GET /cut-off-epoch', cells: ANY_CALLER },
  'PUT /lockdown': { route: 'PUT /lockdown', cells: SECURITY_ONLY },
  'DELETE /lockdown': { route: 'DELETE /lockdown', cells: SECURITY_ONLY },
};

beforeEach(() => {
  // Keep the logger's JSON lines out of the test output.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(() => {
  jest.restoreAllMocks();
});

it('covers every route of serverless.yml', () => {
  // Assess
  expect(new Set(Object.values(MATRIX).map((row) => row.route))).toEqual(new Set(Object.keys(ROUTES)));
  expect(Object.values(MATRIX).every((row) => row.cells.length === ROLES.length)).toBe(true);
});

const cases = Object.entries(MATRIX).flatMap(([operation, row]) =>
  ROLES.map((role, index) => [operation, role, row.cells[index] as Cell] as const),
);

describe.each(cases)('%s as %s', (operation, role, expected) => {
  const row = MATRIX[operation] as (typeof MATRIX)[string];

  it(expected === 'ok' ? 'succeeds' : `is refused with ${expected} and changes nothing`, async () => {
    // Prepare
    const world = await resetWorld();
    const before = snapshot(world);
    const request = row.request ? row.request(role) : validRequest(row.route, role);

    // Act
    const response = await call(row.route, request);

    // Assess
    if (expected === 'ok') {
      // The body is in the message when this fails: it names the refusal.
      expect({ success: response.status >= 200 && response.status < 300, body: response.body }).toEqual({ success: true, body: response.body });
      return;
    }
    expect(response.status).toBe(STATUS[expected]);
    expect((response.body as { error: { code: string } }).error.code).toBe(expected);
    expect(unexpectedChange(row.route, before, snapshot(world))).toBeUndefined();
    if (row.route === 'POST /credentials') expect(world.issuer.calls).toBe(0);
  });
});

describe('look-alike identities get nothing their model has', () => {
  const NEAR_MISSES = (name: string) =>
    fc.constantFrom(
      name.toUpperCase(),
      ` ${name}`,
      `${name} `,
      `${name}\u200b`,
      name.replace('-', '\u2010'),
      name.replace('a', '\u0430'),
      `${name}/`,
      `partner:${name}`,
      name.slice(0, -1),
    ).filter((lookalike) => lookalike !== name);

  // Operations none of user, contractor, delegator and owner may perform: admin or security ones.
  const ADMIN_OR_SECURITY_OPERATIONS = Object.entries(MATRIX).filter(([, row]) => row.cells.slice(1, 5).every((cell) => cell !== 'ok'));

  it('a group that only looks like tvm-admin or tvm-security never opens their routes', async () => {
    // Prepare
    const groups = fc.array(fc.oneof(NEAR_MISSES(ADMIN_GROUP), NEAR_MISSES(SECURITY_GROUP)), { minLength: 1, maxLength: 4 });

    // Act and Assess
    await fc.assert(
      fc.asyncProperty(groups, fc.constantFrom(...ADMIN_OR_SECURITY_OPERATIONS), async (lookalikeGroups, [, row]) => {
        const world = await resetWorld();
        world.verifier.accepting('token-lookalike', { id: 'mallory@example.com', groups: lookalikeGroups, issuer: 'https://idp.example.com' });
        const before = snapshot(world);
        const request = row.request ? row.request('user') : validRequest(row.route, 'user');

        const response = await call(row.route, { ...request, headers: { ...request.headers, authorization: 'Bearer token-lookalike' } });

        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(unexpectedChange(row.route, before, snapshot(world))).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it("an id that only looks like the engagement's owner or contractor never sees or hands over the engagement", async () => {
    // Prepare
    const ids = fc.oneof(NEAR_MISSES(PRINCIPALS.owner.id), NEAR_MISSES(PRINCIPALS.contractor.id));
    const routes = fc.constantFrom('GET /engagements/{id}', 'POST /engagements/{id}/handover');

    // Act and Assess
    await fc.assert(
      fc.asyncProperty(ids, routes, async (id, routeKey) => {
        const world = await resetWorld();
        world.verifier.accepting('token-lookalike', { id, groups: ['developers'], issuer: 'https://idp.example.com' });
        const before = snapshot(world);
        const request = validRequest(routeKey, 'owner');

        const response = await call(routeKey, { ...request, headers: { ...request.headers, authorization: 'Bearer token-lookalike' } });

        expect({ status: response.status, code: (response.body as { error?: { code?: string } }).error?.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
        expect(unexpectedChange(routeKey, before, snapshot(world))).toBeUndefined();
      }),
      { numRuns: 40 },
    );
  });
});
