// The workflow commands as a user runs them: the real `tvm` process (node bin/tvm.js) against an
// in-process fake of the API over HTTP. What only a real process shows: the request on the wire,
// stdout for answers and stderr for errors, the exit status, and the token never printed.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EXIT } from '../../cli/errors.js';
import { fakeToken, makeTvmHome, startFakeApi, type FakeApi, type TvmHome } from './support/cli-harness.js';

const TOKEN = fakeToken('admin@example.com');

let api: FakeApi;
let home: TvmHome;

beforeAll(async () => {
  api = await startFakeApi();
  home = await makeTvmHome({ TVM_URL: api.url, TVM_TOKEN: TOKEN });
});

afterAll(async () => {
  await api.close();
  await home.remove();
});

beforeEach(() => api.requests.splice(0));

/** A port nothing listens on: bound, noted and released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('tvm workflow commands, as a process', () => {
  it('grants create sends the JSON body with the bearer token and prints the API answer with --json', async () => {
    // Prepare
    const created = { id: 'grant-0002', profile: 'billing-read', subject: { type: 'user', id: 'bob@example.com' }, status: 'active' };
    api.route('POST', '/grants', () => ({ status: 201, body: created }));

    // Act
    const run = await home.run(['grants', 'create', '--profile', 'billing-read', '--user', 'bob@example.com', '--valid-until', '2027-01-01T00:00:00Z', '--json']);

    // Assess
    expect(run).toMatchObject({ code: EXIT.ok, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual(created);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({
      method: 'POST',
      url: '/grants',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: { profile: 'billing-read', subject: { type: 'user', id: 'bob@example.com' }, validUntil: '2027-01-01T00:00:00.000Z' },
    });
  });

  it('a refusal goes to stderr with its code and exit status 4, and the token appears nowhere', async () => {
    // Prepare
    api.route('DELETE', '/lockdown', () => ({
      status: 403,
      body: { error: { code: 'SECOND_APPROVER_REQUIRED', message: 'a lockdown must be lifted by someone other than whoever activated it', requestId: 'r1' } },
    }));

    // Act
    const run = await home.run(['lockdown', 'off', '--reason', 'all clear']);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('tvm: SECOND_APPROVER_REQUIRED: a lockdown must be lifted by someone other than whoever activated it\n');
    expect(api.requests[0]?.body).toEqual({ reason: 'all clear' });
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it('a usage error exits 2 without a request', async () => {
    // Act
    const run = await home.run(['audit', 'events', '--type', 'credential.stolen']);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/^tvm: USAGE: option '--type <type>' argument 'credential.stolen' is invalid/);
    expect(api.requests).toEqual([]);
  });

  it('audit verify exits 4 on a broken chain, after printing what broke', async () => {
    // Prepare
    api.route('GET', '/audit/verify', () => ({
      body: { ok: false, checked: 3, broken: [{ id: '2026-06-01T10:00:00.000Z#x', reason: 'hash-mismatch' }], from: 'a', to: 'b' },
    }));

    // Act
    const run = await home.run(['audit', 'verify', '--from', '-2h']);

    // Assess
    expect(run.code).toBe(EXIT.refused);
    expect(run.stdout).toMatch(/^BROKEN: 3 events checked/);
    expect(run.stdout).toContain('2026-06-01T10:00:00.000Z#x  hash-mismatch');
    expect(run.stderr).toMatch(/AUDIT_CHAIN_BROKEN/);
    const sent = new URL(api.requests[0]?.url ?? '', api.url);
    expect([sent.pathname, [...sent.searchParams.keys()]]).toEqual(['/audit/verify', ['from']]);
    expect(Date.now() - Date.parse(sent.searchParams.get('from') ?? '')).toBeGreaterThanOrEqual(2 * 3_600_000);
  });

  it('takes the token from --token-command when TVM_TOKEN is not set', async () => {
    // Prepare
    api.route('GET', '/me', () => ({ body: { principal: 'carol@example.com', groups: [], grants: [] } }));

    // Act
    const run = await home.run(['me', '--token-command', 'echo token-from-sso'], { TVM_TOKEN: undefined });

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(api.requests[0]?.headers.authorization).toBe('Bearer token-from-sso');
    expect(run.stdout).toContain('principal: carol@example.com');
  });

  it('an API nobody answers at exits 5', async () => {
    // Act
    const run = await home.run(['alerts'], { TVM_URL: `http://127.0.0.1:${await closedPort()}` });

    // Assess
    expect(run.code).toBe(EXIT.server);
    expect(run.stderr).toMatch(/^tvm: UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});
