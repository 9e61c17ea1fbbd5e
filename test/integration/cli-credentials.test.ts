// `tvm credentials` as the AWS CLI runs it: the real CLI in a child process against a fake tvm API.
// stdout carries exactly the requested format and nothing else; the cache saves a vend per call
// within its window, and hands nothing out once a cut-off has been decided since its vend (or when
// the API cannot say); failures exit with distinct codes and print `tvm: <CODE>: <message>`.
import { jest } from '@jest/globals';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_TIMEOUT_MS, fakeToken, makeTvmHome, startFakeApi, type FakeApi, type RecordedRequest, type TvmHome, unusedUrl } from './support/cli-harness.js';

// Each run starts node + tsx; a test makes up to five runs.
jest.setTimeout(CLI_TIMEOUT_MS * 3);

const ALICE = fakeToken('alice@example.com');
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE+session/token==';

let api: FakeApi;
let home: TvmHome;
let vends = 0;
let expiresInMs = 3600_000;
/** The fake API's cut-off epoch, and what GET /cut-off-epoch answers besides 200 and 304. */
let epoch = 3;
let epochRefusal: { status: number; body: unknown } | undefined;

function vendReply(request: RecordedRequest) {
  vends += 1;
  const body = request.body as { profile: string };
  return {
    body: {
      credentials: {
        accessKeyId: `ASIAFAKE${String(vends).padStart(8, '0')}`,
        secretAccessKey: SECRET,
        sessionToken: SESSION_TOKEN,
        expiration: new Date(Date.now() + expiresInMs).toISOString(),
      },
      profile: body.profile,
      roleArn: `arn:aws:iam::000000000000:role/tvm-${body.profile}`,
      sessionName: 'alice@example.com',
      sourceIdentity: 'alice@example.com',
      grantId: 'g-1',
      requestId: `req-${vends}`,
      cutOffEpoch: epoch,
    },
  };
}

/** GET /cut-off-epoch as the API answers it: 304 while If-None-Match names the epoch. */
function epochReply(request: RecordedRequest) {
  if (epochRefusal) return epochRefusal;
  return request.headers['if-none-match'] === `"${epoch}"` ? { status: 304 } : { body: { cutOffEpoch: epoch } };
}

beforeAll(async () => {
  api = await startFakeApi();
  api.route('POST', '/credentials', vendReply);
  api.route('GET', '/cut-off-epoch', epochReply);
});

afterAll(async () => {
  await api.close();
});

beforeEach(async () => {
  vends = 0;
  expiresInMs = 3600_000;
  epoch = 3;
  epochRefusal = undefined;
  api.requests.length = 0;
  home = await makeTvmHome({ TVM_URL: api.url, TVM_TOKEN: ALICE });
});

afterEach(async () => {
  await home.remove();
});

async function cacheFiles(): Promise<string[]> {
  return readdir(join(home.dir, '.cache', 'tvm')).catch(() => []);
}

describe('tvm credentials', () => {
  it('prints exactly the credential_process JSON on stdout, nothing on stderr', async () => {
    // Act
    const result = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

    // Assess
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout.endsWith('\n')).toBe(true);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual(['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    expect(printed).toMatchObject({ Version: 1, AccessKeyId: 'ASIAFAKE00000001', SecretAccessKey: SECRET, SessionToken: SESSION_TOKEN });
    expect(new Date(printed.Expiration as string).getTime()).toBeGreaterThan(Date.now());
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: 'POST', url: '/credentials', body: { profile: 'demo-readonly' } });
    expect(api.requests[0]?.headers.authorization).toBe(`Bearer ${ALICE}`);
  });

  it('sends the duration, the scope and a reason', async () => {
    // Act
    const result = await home.run([
      'credentials',
      'demo-readonly',
      '--duration',
      '3600',
      '--action',
      's3:ListBucket',
      '--action',
      's3:GetObject',
      '--resource',
      'arn:aws:s3:::demo/*',
      '--reason',
      'INC-42',
      '--format',
      'json',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(api.requests[0]?.body).toEqual({
      profile: 'demo-readonly',
      durationSeconds: 3600,
      scope: { actions: ['s3:GetObject', 's3:ListBucket'], resources: ['arn:aws:s3:::demo/*'] },
      reason: 'INC-42',
    });
    expect(JSON.parse(result.stdout)).toMatchObject({ credentials: { accessKeyId: 'ASIAFAKE00000001' }, requestId: 'req-1', grantId: 'g-1' });
  });

  it('prints shell exports with --format env (the default)', async () => {
    // Act
    const result = await home.run(['credentials', 'demo-readonly']);

    // Assess
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      'export AWS_ACCESS_KEY_ID=ASIAFAKE00000001',
      `export AWS_SECRET_ACCESS_KEY=${SECRET}`,
      `export AWS_SESSION_TOKEN=${SESSION_TOKEN}`,
      expect.stringMatching(/^export AWS_CREDENTIAL_EXPIRATION=\d{4}-\d\d-\d\dT[\d:.]+Z$/),
    ]);
  });

  it('reuses cached credentials within the window: one vend for two calls, from a 0600 file', async () => {
    // Act
    const first = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
    const second = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

    // Assess
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.stdout).toBe(first.stdout);
    expect(vends).toBe(1);
    const files = await cacheFiles();
    expect(files).toHaveLength(1);
    expect((await stat(join(home.dir, '.cache', 'tvm', files[0] ?? ''))).mode & 0o777).toBe(0o600);
    expect((await stat(join(home.dir, '.cache', 'tvm'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(home.dir, '.cache', 'tvm', files[0] ?? ''), 'utf8')).not.toContain(ALICE);
  });

  it('vends again for another principal, profile or scope, and when the cached ones expire within 5 minutes', async () => {
    // Prepare
    expiresInMs = 4 * 60_000;
    await home.run(['credentials', 'demo-readonly']);

    // Act
    await home.run(['credentials', 'demo-readonly']);
    expiresInMs = 3600_000;
    await home.run(['credentials', 'demo-readonly'], { TVM_TOKEN: fakeToken('bob@example.com') });
    await home.run(['credentials', 'demo-deploy']);
    await home.run(['credentials', 'demo-readonly', '--action', 's3:GetObject']);

    // Assess
    expect(vends).toBe(5);
  });

  it('hands cached credentials out only after asking whether a cut-off was decided since their vend: one conditional GET, no vend', async () => {
    // Prepare
    await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
    api.requests.length = 0;

    // Act
    const cached = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

    // Assess
    expect({ code: cached.code, stderr: cached.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(cached.stdout).AccessKeyId).toBe('ASIAFAKE00000001');
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /cut-off-epoch']);
    expect(api.requests[0]?.headers).toMatchObject({ 'if-none-match': '"3"', authorization: `Bearer ${ALICE}` });
  });

  it('vends afresh once a cut-off has been decided since, replaces the cached credentials, and caches the new ones at the new epoch', async () => {
    // Prepare
    await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
    epoch = 4;

    // Act
    const afresh = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
    const cached = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

    // Assess
    expect({ code: afresh.code, stderr: afresh.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(afresh.stdout).AccessKeyId).toBe('ASIAFAKE00000002');
    expect(cached.stdout).toBe(afresh.stdout);
    expect(vends).toBe(2);
    const files = await cacheFiles();
    expect(files).toHaveLength(1);
    const file = await readFile(join(home.dir, '.cache', 'tvm', files[0] ?? ''), 'utf8');
    expect(file).not.toContain('ASIAFAKE00000001');
    expect(JSON.parse(file)).toMatchObject({ version: 2, response: { cutOffEpoch: 4 } });
  });

  it('takes the fresh vend’s refusal when the cut-off left no grant, and hands nothing out', async () => {
    // Prepare
    api.route('POST', '/credentials', (request) =>
      vends === 0 ? vendReply(request) : { status: 403, body: { error: { code: 'NO_GRANT', message: 'no active grant', requestId: 'r-2' } } },
    );
    try {
      await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
      epoch = 4;

      // Act
      const refused = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

      // Assess
      expect(refused).toEqual({ code: 4, stdout: '', stderr: 'tvm: NO_GRANT: no active grant\n' });
      expect(await cacheFiles()).toEqual([]);
    } finally {
      api.route('POST', '/credentials', vendReply);
    }
  });

  it('does not cache credentials from an API that does not say its cut-off epoch, and says so', async () => {
    // Prepare
    api.route('POST', '/credentials', (request) => {
      const { cutOffEpoch: _epoch, ...older } = vendReply(request).body;
      return { body: older };
    });
    try {
      // Act
      const first = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
      const second = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

      // Assess
      expect(first.code).toBe(0);
      expect(first.stderr).toBe('tvm: warning: credentials not cached: the API did not say its cut-off epoch (is it an older tvm?)\n');
      expect(JSON.parse(second.stdout).AccessKeyId).toBe('ASIAFAKE00000002');
      expect(await cacheFiles()).toEqual([]);
    } finally {
      api.route('POST', '/credentials', vendReply);
    }
  });

  it('with --no-cache neither reads nor writes the cache', async () => {
    // Prepare
    await home.run(['credentials', 'demo-readonly']);
    const [file] = await cacheFiles();
    const before = await readFile(join(home.dir, '.cache', 'tvm', file ?? ''), 'utf8');

    // Act
    const result = await home.run(['credentials', 'demo-readonly', '--no-cache', '--format', 'credential-process']);

    // Assess
    expect(result.code).toBe(0);
    expect(vends).toBe(2);
    expect(JSON.parse(result.stdout).AccessKeyId).toBe('ASIAFAKE00000002');
    expect(await cacheFiles()).toEqual([file]);
    expect(await readFile(join(home.dir, '.cache', 'tvm', file ?? ''), 'utf8')).toBe(before);
  });

  it('ignores a corrupt cache file and replaces it', async () => {
    // Prepare
    await home.run(['credentials', 'demo-readonly']);
    const [file] = await cacheFiles();
    const path = join(home.dir, '.cache', 'tvm', file ?? '');
    await writeFile(path, '{"version":1,"respo');

    // Act
    const result = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
    const again = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

    // Assess
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout).AccessKeyId).toBe('ASIAFAKE00000002');
    expect(JSON.parse(again.stdout).AccessKeyId).toBe('ASIAFAKE00000002');
    expect(vends).toBe(2);
  });

  it('gets the token from --token-command', async () => {
    // Act
    const result = await home.run(['--token-command', `printf '%s' '${ALICE}'`, 'credentials', 'demo-readonly'], { TVM_TOKEN: undefined });

    // Assess
    expect(result.code).toBe(0);
    expect(api.requests[0]?.headers.authorization).toBe(`Bearer ${ALICE}`);
  });
});

describe('tvm credentials failures', () => {
  beforeAll(() => {
    api.route('POST', '/credentials', (request) => {
      const profile = (request.body as { profile: string }).profile;
      const refusals: Record<string, [number, string]> = {
        'not-granted': [403, 'NO_GRANT'],
        expired: [401, 'UNAUTHENTICATED'],
        broken: [503, 'AUDIT_UNAVAILABLE'],
      };
      const refusal = refusals[profile];
      if (!refusal) return vendReply(request);
      return { status: refusal[0], body: { error: { code: refusal[1], message: `${refusal[1]} for ${profile}`, requestId: 'r-9' } } };
    });
  });

  it.each([
    ['refused by the API (403)', ['credentials', 'not-granted'], {}, 4, 'tvm: NO_GRANT: NO_GRANT for not-granted\n'],
    ['a rejected token (401)', ['credentials', 'expired'], {}, 3, 'tvm: UNAUTHENTICATED: UNAUTHENTICATED for expired; sign in again with tvm login (or refresh TVM_TOKEN / token_command; locally: tvm dev-token --sub <you>)\n'],
    ['a failing API (503)', ['credentials', 'broken'], {}, 5, 'tvm: AUDIT_UNAVAILABLE: AUDIT_UNAVAILABLE for broken\n'],
    ['no token', ['credentials', 'demo-readonly'], { TVM_TOKEN: undefined }, 3, 'tvm: NO_TOKEN: no token: run tvm login (or set TVM_TOKEN or a token_command; locally, tvm dev-token)\n'],
    ['a token command that fails', ['--token-command', 'exit 7', 'credentials', 'x'], { TVM_TOKEN: undefined }, 3, 'tvm: TOKEN_COMMAND: token_command exited with status 7\n'],
    ['no API URL', ['credentials', 'demo-readonly'], { TVM_URL: undefined }, 2, /^tvm: NO_URL: no API URL/],
    ['a missing profile argument', ['credentials'], {}, 2, /^tvm: USAGE: missing required argument 'profile'/],
    ['a duration out of range', ['credentials', 'x', '--duration', '60'], {}, 2, /^tvm: USAGE: option '--duration <seconds>' argument '60' is invalid/],
    ['an unknown format', ['credentials', 'x', '--format', 'yaml'], {}, 2, /^tvm: USAGE: option '--format <format>' argument 'yaml' is invalid/],
    ['an unknown option', ['credentials', 'x', '--bogus'], {}, 2, /^tvm: USAGE: unknown option '--bogus'/],
  ])('exits with a distinct code for %s, stderr only', async (_name, args, env, code, message) => {
    // Act
    const result = await home.run(args, env);

    // Assess
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code, stdout: '' });
    if (typeof message === 'string') expect(result.stderr).toBe(message);
    else expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain(ALICE);
    expect(await cacheFiles()).toEqual([]);
  });

  it('suggests the closest profiles the caller can use when the API does not know the one asked for', async () => {
    // Prepare: alice can use demo-readonly and demo-deploy
    api.route('POST', '/credentials', (request) => {
      const { profile } = request.body as { profile: string };
      if (['demo-readonly', 'demo-deploy'].includes(profile)) return vendReply(request);
      return { status: 404, body: { error: { code: 'NOT_FOUND', message: `profile "${profile}" does not exist`, requestId: 'r-4' } } };
    });
    api.route('GET', '/me', () => ({ body: { principal: 'alice@example.com', groups: [], grants: [{ profile: 'demo-readonly' }, { profile: 'demo-deploy' }] } }));
    try {
      // Act
      const typo = await home.run(['credentials', 'demo-readonyl']);
      const unknown = await home.run(['credentials', 'billing']);

      // Assess
      expect(typo).toEqual({ code: 4, stdout: '', stderr: 'tvm: NOT_FOUND: profile "demo-readonyl" does not exist; did you mean "demo-readonly"? (tvm me lists yours)\n' });
      expect(unknown.stderr).toBe('tvm: NOT_FOUND: profile "billing" does not exist; tvm me lists the profiles you can use\n');
    } finally {
      api.route('POST', '/credentials', vendReply);
    }
  });

  it('exits 5 when the API cannot be reached', async () => {
    // Prepare
    const url = await unusedUrl();

    // Act
    const result = await home.run(['credentials', 'demo-readonly'], { TVM_URL: url });

    // Assess
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 5, stdout: '' });
    expect(result.stderr).toBe(`tvm: UNREACHABLE: cannot reach ${url}: ECONNREFUSED (connect ECONNREFUSED ${url.slice('http://'.length)})\n`);
  });
});

describe('tvm credentials when the API cannot say whether cached credentials were cut off', () => {
  it.each([
    ['refuses the token (401)', 401, 'UNAUTHENTICATED', 3],
    ['fails (503)', 503, 'STORE_UNAVAILABLE', 5],
  ])('hands nothing out when the check %s: the API’s code, its exit code', async (_name, status, code, exitCode) => {
    // Prepare
    await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);
    epochRefusal = { status, body: { error: { code, message: `${code} on the check`, requestId: 'r-3' } } };

    // Act
    const result = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process']);

    // Assess
    const hint = code === 'UNAUTHENTICATED' ? '; sign in again with tvm login (or refresh TVM_TOKEN / token_command; locally: tvm dev-token --sub <you>)' : '';
    expect(result).toEqual({ code: exitCode, stdout: '', stderr: `tvm: ${code}: ${code} on the check${hint}\n` });
    expect(vends).toBe(1);
  });

  it('hands nothing out when the API cannot be reached (exit 5), though the credentials are cached', async () => {
    // Prepare: cached through an API that then goes away
    const gone = await startFakeApi();
    gone.route('POST', '/credentials', vendReply);
    await home.run(['credentials', 'demo-readonly', '--format', 'credential-process'], { TVM_URL: gone.url });
    expect(await cacheFiles()).toHaveLength(1);
    await gone.close();

    // Act
    const result = await home.run(['credentials', 'demo-readonly', '--format', 'credential-process'], { TVM_URL: gone.url });

    // Assess
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 5, stdout: '' });
    expect(result.stderr).toMatch(/^tvm: UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:\d+ to check that the cached credentials have not been cut off \(ECONNREFUSED\); nothing was handed out\n$/);
  });
});

describe('tvm --help', () => {
  it.each([[[]], [['credentials']], [['configure']], [['dev-token']]])('is available for %j and exits 0', async (command) => {
    // Act
    const result = await home.run([...command, '--help']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: tvm/);
  });
});
