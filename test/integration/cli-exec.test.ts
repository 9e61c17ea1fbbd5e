// `tvm exec <profile> -- <command>` as people run it: the real CLI in a child process against a fake
// tvm API. The command gets the credentials in its environment (and no profile setting that would
// shadow them), tvm prints nothing of them itself, the cache serves a second run, and tvm exits
// with the command's exit code; a refusal runs nothing.
import { jest } from '@jest/globals';
import { CLI_TIMEOUT_MS, fakeToken, makeTvmHome, startFakeApi, type FakeApi, type TvmHome } from './support/cli-harness.js';

jest.setTimeout(CLI_TIMEOUT_MS * 3);

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE+session/token==';
/** Prints what the AWS tools would see, as JSON. */
const SHOW_ENV =
  "process.stdout.write(JSON.stringify(Object.fromEntries(['AWS_ACCESS_KEY_ID','AWS_SECRET_ACCESS_KEY','AWS_SESSION_TOKEN','AWS_CREDENTIAL_EXPIRATION','TVM_PROFILE','AWS_PROFILE','AWS_DEFAULT_PROFILE','KEPT'].map((name) => [name, process.env[name] ?? null]))))";

let api: FakeApi;
let home: TvmHome;
let vends = 0;

beforeAll(async () => {
  api = await startFakeApi();
  api.route('POST', '/credentials', (request) => {
    const { profile } = request.body as { profile: string };
    if (profile === 'not-granted') return { status: 403, body: { error: { code: 'NO_GRANT', message: `no active grant on ${profile}`, requestId: 'r-1' } } };
    vends += 1;
    return {
      body: {
        credentials: { accessKeyId: `ASIAEXEC${String(vends).padStart(8, '0')}`, secretAccessKey: SECRET, sessionToken: SESSION_TOKEN, expiration: new Date(Date.now() + 3_600_000).toISOString() },
        profile,
        cutOffEpoch: 1,
      },
    };
  });
  api.route('GET', '/cut-off-epoch', (request) => (request.headers['if-none-match'] === '"1"' ? { status: 304 } : { body: { cutOffEpoch: 1 } }));
});

afterAll(async () => {
  await api.close();
});

beforeEach(async () => {
  vends = 0;
  home = await makeTvmHome({ TVM_URL: api.url, TVM_TOKEN: fakeToken('alice@example.com'), AWS_PROFILE: 'personal', AWS_DEFAULT_PROFILE: 'personal', KEPT: 'yes' });
});

afterEach(async () => {
  await home.remove();
});

describe('tvm exec', () => {
  it('runs the command with the credentials in its environment, shadowed by no profile, and says nothing itself', async () => {
    // Act
    const first = await home.run(['exec', 'demo-readonly', '--', process.execPath, '-e', SHOW_ENV]);
    const second = await home.run(['exec', 'demo-readonly', '--', process.execPath, '-e', SHOW_ENV]);

    // Assess
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const seen = JSON.parse(first.stdout) as Record<string, string | null>;
    expect(seen).toMatchObject({
      AWS_ACCESS_KEY_ID: 'ASIAEXEC00000001',
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      TVM_PROFILE: 'demo-readonly',
      AWS_PROFILE: null,
      AWS_DEFAULT_PROFILE: null,
      KEPT: 'yes',
    });
    expect(Date.parse(seen.AWS_CREDENTIAL_EXPIRATION ?? '')).toBeGreaterThan(Date.now());
    // The second run is served from the cache (after asking whether anything was cut off).
    expect(second.stdout).toBe(first.stdout);
    expect(vends).toBe(1);
  });

  it("exits with the command's exit code, and 128 + n when a signal ends it", async () => {
    // Act
    const failed = await home.run(['exec', 'demo-readonly', '--', process.execPath, '-e', 'process.exit(7)']);
    const killed = await home.run(['exec', 'demo-readonly', '--', process.execPath, '-e', "process.kill(process.pid, 'SIGTERM')"]);

    // Assess
    expect({ code: failed.code, stderr: failed.stderr }).toEqual({ code: 7, stderr: '' });
    expect(killed.code).toBe(128 + 15);
  });

  it('runs nothing when the API refuses, and says why as every command does', async () => {
    // Act
    const refused = await home.run(['exec', 'not-granted', '--', process.execPath, '-e', "process.stdout.write('ran')"]);

    // Assess
    expect(refused).toEqual({ code: 4, stdout: '', stderr: 'tvm: NO_GRANT: no active grant on not-granted\n' });
  });

  it('says so when the command cannot be run (127, as a shell would)', async () => {
    // Act
    const missing = await home.run(['exec', 'demo-readonly', '--', 'no-such-command-tvm-test']);

    // Assess
    expect(missing).toEqual({ code: 127, stdout: '', stderr: 'tvm: EXEC_FAILED: cannot run "no-such-command-tvm-test": ENOENT\n' });
  });
});
