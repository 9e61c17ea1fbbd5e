// The CLI facing a step-up (RFC 9470: `401 STEP_UP_REQUIRED` with a WWW-Authenticate challenge):
// one line saying what to do for where the token came from, exit code 3, and never a browser for
// the AWS tools' credential_process or a token tvm cannot renew. In-process, with a fake fetch and
// a fake browser; the sign-in itself is test/integration/cli-login.test.ts's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { InvalidArgumentError } from 'commander';
import { parseAcrValues, parseMaxAge } from '../../cli/commands/login.js';
import type { CliContext } from '../../cli/context.js';
import { EXIT } from '../../cli/errors.js';
import { runFastPath } from '../../cli/fast-path.js';
import { saveLogin } from '../../cli/token-store.js';
import { apiRefusal, runTvm, TEST_API_URL, type Reply } from '../fixtures/cli-in-process.js';

const SENTENCE = 'profile "prod" needs a sign-in with MFA within the last 15 minutes.';

/** The API's step-up refusal, as RFC 9470 and the error body put it. */
function stepUpRefusal(params = 'max_age=900', details: Record<string, unknown> = { maxAgeSeconds: 900 }): Reply {
  return {
    status: 401,
    headers: { 'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="${SENTENCE.replace(/"/g, '\\"')}", ${params}` },
    body: { error: { ...details, code: 'STEP_UP_REQUIRED', message: SENTENCE, requestId: 'req-1' } },
  };
}

/** A browser that records what it was asked to open, and opens nothing. */
function aBrowser() {
  const opened: string[] = [];
  return { opened, openUrl: async (url: string) => (opened.push(url), false) };
}

const jwt = (claims: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'tvm-step-up-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** The environment of someone signed in with `tvm login` (a kept token, no TVM_TOKEN), at a terminal or not. */
async function signedInWithLogin(atTerminal: boolean): Promise<Partial<CliContext>> {
  const env = { TVM_URL: TEST_API_URL, TVM_STACK_FILE: join(home, 'no-stack.json'), XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config') };
  const token = jwt({ iss: 'https://idp.example.com', sub: 'alice@example.com', exp: Math.floor(Date.now() / 1000) + 3600 });
  await saveLogin({ env, homeDir: home }, { token, issuer: 'https://idp.example.com', expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  return { env, homeDir: home, atTerminal: () => atTerminal };
}

describe('a STEP_UP_REQUIRED answer', () => {
  it('is one line on stderr naming `tvm login --max-age`, exit code 3, nothing on stdout, for a token kept by tvm login', async () => {
    // Prepare
    const context = await signedInWithLogin(false);

    // Act
    const run = await runTvm(['credentials', 'prod'], [stepUpRefusal()], context);

    // Assess
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: EXIT.auth, stdout: '' });
    expect(run.stderr).toBe(
      'tvm: STEP_UP_REQUIRED: profile "prod" needs a sign-in with MFA within the last 15 minutes; sign in again with MFA (within the last 15 min): run `tvm login --max-age 900`\n',
    );
  });

  it('names the ACR values to ask for, quoted for the shell, when the API asks for some', async () => {
    // Act
    const run = await runTvm(['credentials', 'prod'], [stepUpRefusal('max_age=3600, acr_values="urn:example:mfa phr"')], await signedInWithLogin(false));

    // Assess
    expect(run.code).toBe(EXIT.auth);
    expect(run.stderr).toContain("(within the last 1 h): run `tvm login --max-age 3600 --acr-values 'urn:example:mfa phr'`\n");
  });

  it('asks for a new sign-in (max_age 0) when the challenge names no age', async () => {
    // Act
    const run = await runTvm(['credentials', 'prod'], [stepUpRefusal('realm="tvm"', {})], await signedInWithLogin(false));

    // Assess
    expect(run.stderr).toMatch(/; sign in again with MFA: run `tvm login --max-age 0`\n$/);
  });

  it("reads the body's details when the answer carries no challenge header", async () => {
    // Prepare
    const { headers: _left, ...bodyOnly } = stepUpRefusal('max_age=900', { maxAgeSeconds: 300 });

    // Act
    const run = await runTvm(['credentials', 'prod'], [bodyOnly], await signedInWithLogin(false));

    // Assess
    expect(run.code).toBe(EXIT.auth);
    expect(run.stderr).toContain('(within the last 5 min): run `tvm login --max-age 300`');
  });

  it('tells someone whose token is TVM_TOKEN to renew that, for any command (an approval here)', async () => {
    // Act
    const run = await runTvm(['approve', '0f6c7f43-35d1-4a55-9d6e-0b1a3e0e8a11'], [stepUpRefusal()]);

    // Assess
    expect(run.code).toBe(EXIT.auth);
    expect(run.stderr).toBe(
      'tvm: STEP_UP_REQUIRED: profile "prod" needs a sign-in with MFA within the last 15 minutes; TVM_TOKEN holds an older or weaker sign-in: set it to a token from a sign-in with MFA (within the last 15 min); locally, tvm dev-token --sub <you> --amr pwd,mfa\n',
    );
  });

  it('tells someone whose token comes from a token_command to sign in again at their identity provider', async () => {
    // Act
    const run = await runTvm(['request', 'prod', '--duration', '1h', '--token-command', 'echo a.b.c'], [stepUpRefusal()]);

    // Assess
    expect(run.code).toBe(EXIT.auth);
    expect(run.stderr).toContain("; the token_command's token is from an older or weaker sign-in: sign in with MFA at your identity provider (within the last 15 min), then run this again\n");
  });

  it('is any other 401 still: UNAUTHENTICATED is not mistaken for a step-up', async () => {
    // Act
    const run = await runTvm(['credentials', 'prod'], [{ ...apiRefusal(401, 'UNAUTHENTICATED', 'the token has expired'), headers: { 'www-authenticate': 'Bearer error="invalid_token"' } }]);

    // Assess
    expect(run.code).toBe(EXIT.auth);
    expect(run.stderr).toMatch(/^tvm: UNAUTHENTICATED: the token has expired; sign in again with tvm login/);
  });
});

describe('signing in again', () => {
  it('never opens a browser for credential_process, even for a person at a terminal signed in with tvm login: one line, exit 3, once', async () => {
    // Prepare
    const browser = aBrowser();
    const context = await signedInWithLogin(true);

    // Act
    const run = await runTvm(['credentials', 'prod', '--format', 'credential-process'], [stepUpRefusal()], { ...context, openUrl: browser.openUrl });

    // Assess
    expect({ code: run.code, stdout: run.stdout, opened: browser.opened, requests: run.requests.length }).toEqual({ code: EXIT.auth, stdout: '', opened: [], requests: 1 });
    expect(run.stderr.split('\n')).toEqual([expect.stringMatching(/^tvm: STEP_UP_REQUIRED: .*`tvm login --max-age 900`$/), '']);
  });

  it('never opens a browser on the fast path either (the AWS CLI runs it)', async () => {
    // Prepare
    const browser = aBrowser();
    const { env, homeDir, atTerminal } = await signedInWithLogin(true);
    let stderr = '';
    let stdout = '';
    let asked = 0;
    const context: CliContext = {
      repoRoot: process.cwd(),
      env: env ?? {},
      homeDir: homeDir ?? home,
      stdout: { write: (chunk) => (stdout += String(chunk)) },
      stderr: { write: (chunk) => (stderr += String(chunk)) },
      openUrl: browser.openUrl,
      ...(atTerminal ? { atTerminal } : {}),
      fetch: async () => {
        asked++;
        const { status, headers, body } = stepUpRefusal();
        return new Response(JSON.stringify(body), { status: status ?? 401, ...(headers ? { headers } : {}) });
      },
    };

    // An issuer asked for its discovery document would be the start of a sign-in.
    const issuerAsked = jest.spyOn(globalThis, 'fetch').mockRejectedValue(new Error('no network in unit tests'));

    // Act
    const code = await runFastPath(['credentials', 'prod', '--format', 'credential-process', '--no-cache'], context).finally(() => issuerAsked.mockRestore());

    // Assess
    expect({ code, stdout, asked, opened: browser.opened, issuerAsked: issuerAsked.mock.calls.length }).toEqual({ code: EXIT.auth, stdout: '', asked: 1, opened: [], issuerAsked: 0 });
    expect(stderr).toMatch(/^tvm: STEP_UP_REQUIRED: [^\n]*\n$/);
  });

  it('is not tried when nobody is at a terminal: the same one line', async () => {
    // Prepare
    const browser = aBrowser();

    // Act
    const run = await runTvm(['credentials', 'prod', '--format', 'env'], [stepUpRefusal()], { ...(await signedInWithLogin(false)), openUrl: browser.openUrl });

    // Assess
    expect({ code: run.code, opened: browser.opened, requests: run.requests.length }).toEqual({ code: EXIT.auth, opened: [], requests: 1 });
  });

  it('is not tried for a token tvm cannot renew (TVM_TOKEN), even at a terminal', async () => {
    // Prepare
    const browser = aBrowser();

    // Act
    const run = await runTvm(['console', 'prod'], [stepUpRefusal()], { openUrl: browser.openUrl, atTerminal: () => true });

    // Assess
    expect({ code: run.code, opened: browser.opened, requests: run.requests.length }).toEqual({ code: EXIT.auth, opened: [], requests: 1 });
  });
});

describe('tvm login --max-age and --acr-values', () => {
  it.each([
    ['0', 0],
    ['900', 900],
    ['31536000', 31_536_000],
  ])('takes --max-age %s', (value, seconds) => {
    // Act / Assess
    expect(parseMaxAge(value)).toBe(seconds);
  });

  it.each(['-1', '1.5', '15m', '', '31536001', ' 900'])('refuses --max-age %j as a usage error', (value) => {
    // Act / Assess
    expect(() => parseMaxAge(value)).toThrow(InvalidArgumentError);
  });

  it('takes space-separated ACR values, in order', () => {
    // Act / Assess
    expect(parseAcrValues('urn:example:mfa  phr')).toEqual(['urn:example:mfa', 'phr']);
  });

  it.each(['', '   ', "it's", 'a"b', 'back\\slash', 'tab\there', Array.from({ length: 11 }, (_, i) => `v${i}`).join(' ')])('refuses --acr-values %j as a usage error', (value) => {
    // Act / Assess
    expect(() => parseAcrValues(value)).toThrow(InvalidArgumentError);
  });

  it('refuses a bad --max-age before anything is opened, with exit code 2', async () => {
    // Prepare
    const browser = aBrowser();

    // Act
    const run = await runTvm(['login', '--issuer', 'https://idp.example.com', '--max-age', 'soon'], [], { openUrl: browser.openUrl });

    // Assess
    expect({ code: run.code, opened: browser.opened, requests: run.requests }).toEqual({ code: EXIT.usage, opened: [], requests: [] });
    expect(run.stderr).toContain("tvm: USAGE: option '--max-age <seconds>' argument 'soon' is invalid.");
  });
});
