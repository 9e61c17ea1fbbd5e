// GET /cut-off-epoch through the real handler (test/fixtures/handler-harness.ts): the epoch with its
// entity tag, `304` with no body while If-None-Match still names it, the new epoch once a cut-off
// has been decided; and never without a token.
import { jest } from '@jest/globals';
import { call, OPEN_PROFILE, resetWorld, tokenOf, type World } from '../fixtures/handler-harness.js';

let world: World;
afterEach(() => {
  jest.restoreAllMocks();
});

beforeEach(async () => {
  // Keep the logger's JSON lines out of the test output.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  world = await resetWorld();
  world.lockdown.cutOffEpoch = 41;
});

const epoch = (headers: Record<string, string> = {}) =>
  call('GET /cut-off-epoch', { headers: { authorization: `Bearer ${tokenOf('user')}`, ...headers } });

describe('GET /cut-off-epoch', () => {
  it('answers the epoch, tagged, never to be cached', async () => {
    // Act
    const answer = await epoch();

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ cutOffEpoch: 41 });
    expect(answer.headers).toMatchObject({ etag: '"41"', 'cache-control': 'no-store' });
  });

  it.each([['"41"'], ['W/"41"'], ['"40", "41"'], ['*']])('answers 304 with no body while If-None-Match is %s', async (ifNoneMatch) => {
    // Act
    const answer = await epoch({ 'if-none-match': ifNoneMatch });

    // Assess
    expect(answer.status).toBe(304);
    expect(answer.rawBody).toBe('');
    expect(answer.headers).toMatchObject({ etag: '"41"', 'cache-control': 'no-store' });
  });

  it('answers the new epoch to the old tag once a cut-off has been decided', async () => {
    // Prepare: a lockdown writes a cut-off order (the in-memory store raises the epoch with it, as
    // the adapter does in the order's transaction)
    const security = { authorization: `Bearer ${tokenOf('tvm-security')}`, 'content-type': 'application/json' };
    const lockdown = await call('PUT /lockdown', {
      headers: security,
      body: JSON.stringify({ profiles: [OPEN_PROFILE], allow: { groups: ['top-brass'] }, reason: 'drill', revokeActiveSessions: true }),
    });
    expect(lockdown.status).toBe(200);

    // Act
    const answer = await epoch({ 'if-none-match': '"41"' });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ cutOffEpoch: 42 });
    expect(answer.headers).toMatchObject({ etag: '"42"' });
  });

  it('refuses a caller without a token (401), telling nothing', async () => {
    // Act
    const answer = await call('GET /cut-off-epoch', { headers: { 'if-none-match': '"41"' } });

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect(answer.headers).not.toHaveProperty('etag');
  });
});
