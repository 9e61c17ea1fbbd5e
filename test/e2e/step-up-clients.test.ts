// The clients facing a step-up (RFC 9470), end to end, before the API itself asks for one: a
// stand-in answers an action STEP_UP_REQUIRED once and lets the rest reach the stack. The console,
// in Chromium, is refused its console sign-in or an approval (playwright's route answers for the
// API), says so, goes through the dev issuer's form with the challenge's max_age and acr_values,
// the person ticks MFA, and the action is done on return with the new token; someone else signing
// in at that browser gets nothing replayed. The CLI (bin/tvm.js under a pseudo-terminal, against a
// stand-in API) never opens a browser for credential_process, and signs a person in again otherwise.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EXIT } from '../../cli/errors.js';
import { saveLogin } from '../../cli/token-store.js';
import { outputOf } from '../../local/processes.js';
import { makeTvmHome, startFakeApi, TVM_BIN, type FakeApi, type TvmHome } from '../integration/support/cli-harness.js';
import { ADMIN_GROUPS, api, stackInfo, tokenFor } from './support/api.js';
import { accessibilityViolations, launchBrowser, signInThroughForm, watchErrors, type Browser, type Page } from './support/browser.js';

const unique = () => randomBytes(4).toString('hex');
const SANDBOX_ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-sandbox';
const SENTENCE = 'this profile is restricted: it needs a sign-in with MFA within the last 15 minutes';
const STEP_UP_HEADER = `Bearer error="insufficient_user_authentication", error_description="${SENTENCE}", max_age=900, acr_values="urn:example:mfa urn:example:phr"`;
const stepUpBody = (details: Record<string, unknown>) => ({ error: { ...details, code: 'STEP_UP_REQUIRED', message: `${SENTENCE}.`, requestId: 'stand-in' } });
const claimsOf = (token: string | undefined) => JSON.parse(Buffer.from((token ?? '').split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
/** Chromium logs the stand-in's 401 as a failed load: expected here, and nothing else is. */
const unexpected = (errors: readonly string[]) => errors.filter((error) => !error.includes('status of 401'));

let adminToken: string;
let browser: Browser;

beforeAll(async () => {
  adminToken = await tokenFor('admin@example.com', ADMIN_GROUPS);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

interface StandIn {
  /** The bearer token of every request it saw, in order. */
  readonly tokens: string[];
}

/**
 * Answers the first `POST <path>` STEP_UP_REQUIRED, as the API will for a restricted profile
 * (with the RFC 9470 header, or the body alone), and lets every later one through to the stack.
 */
async function stepUpOnce(page: Page, path: string | RegExp, refusal: { headers?: Record<string, string>; body: unknown }): Promise<StandIn> {
  const tokens: string[] = [];
  await page.route(
    (url) => (typeof path === 'string' ? url.pathname === path : path.test(url.pathname)),
    async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      tokens.push((route.request().headers().authorization ?? '').replace(/^Bearer /, ''));
      if (tokens.length > 1) return route.continue();
      return route.fulfill({ status: 401, contentType: 'application/json', headers: refusal.headers ?? {}, body: JSON.stringify(refusal.body) });
    },
  );
  return { tokens };
}

/** Holds the console's way to the issuer (its discovery request) until released, so what it says meanwhile can be read. */
async function holdTheWayOut(page: Page): Promise<() => void> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(`${stackInfo().issuer}/.well-known/openid-configuration`, async (route) => {
    await held;
    await route.continue();
  });
  return release;
}

/** At the dev issuer's form: signs in as `user` in `groups`, ticking MFA when told to. */
async function signInAtTheForm(page: Page, user: string, groups: string, mfa: boolean): Promise<void> {
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Groups').fill(groups);
  if (mfa) await page.getByLabel('MFA').check();
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const atTheIssuer = (page: Page) => page.waitForURL((url) => url.href.startsWith(`${stackInfo().issuer}/authorize?`));

describe('the console', () => {
  it('meets a step-up on "Open AWS console": says so, signs in again with max_age and acr_values, MFA ticked, and opens it on return', async () => {
    // Prepare: a grant of a fresh profile, a signed-in tab on the me page, the stand-in on the console vend
    const profile = `e2e-step-up-${unique()}`;
    const user = `sue-${unique()}@example.com`;
    expect((await api('PUT', `/profiles/${profile}`, { token: adminToken, body: { roleArn: SANDBOX_ROLE, maxSessionSeconds: 43_200 } })).status).toBe(200);
    const granted = await api('POST', '/grants', {
      token: adminToken,
      body: { profile, subject: { type: 'user', id: user }, validUntil: new Date(Date.now() + 7_200_000).toISOString() },
    });
    expect(granted.status).toBe(201);
    const context = await browser.newContext({ colorScheme: 'dark' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await signInThroughForm(page, `${stackInfo().consoleUrl}me`, user, '');
    const standIn = await stepUpOnce(page, '/credentials', { headers: { 'www-authenticate': STEP_UP_HEADER }, body: stepUpBody({ maxAgeSeconds: 900 }) });
    const release = await holdTheWayOut(page);

    // Act
    await page.getByRole('button', { name: `Open AWS console as ${profile}` }).click();

    // Assess: it says why it is leaving, accessibly
    await page.getByRole('status').filter({ hasText: 'This needs a recent sign-in with MFA (within the last 15 min): taking you to sign in again' }).waitFor();
    const violations = await accessibilityViolations(page);
    release();

    // Act: at the issuer, asked for what the challenge named; MFA ticked
    await atTheIssuer(page);
    const asked = Object.fromEntries(new URL(page.url()).searchParams);
    await page.getByText('A fresh sign-in is required: the application accepts one no older than 900 s (max_age=900).').waitFor();
    const formViolations = await accessibilityViolations(page);
    await signInAtTheForm(page, user, '', true);

    // Assess: back, the console sign-in is done with the new token
    await page.waitForURL((url) => url.href.startsWith(`${stackInfo().federationEndpoint}?`));
    await page.getByRole('heading', { name: 'Signed in to the local AWS console' }).waitFor();
    expect(asked).toMatchObject({ max_age: '900', acr_values: 'urn:example:mfa urn:example:phr' });
    expect(standIn.tokens).toHaveLength(2);
    expect(claimsOf(standIn.tokens[0])).toMatchObject({ sub: user, amr: ['pwd'] });
    expect(claimsOf(standIn.tokens[1])).toMatchObject({ sub: user, amr: ['pwd', 'mfa'], acr: 'urn:example:mfa' });
    expect({ violations, formViolations }).toEqual({ violations: [], formViolations: [] });
    expect(unexpected(errors)).toEqual([]);
    await context.close();
  });

  it("meets a step-up on an approval, reading the body's details alone, and approves with the comment given on return", async () => {
    // Prepare: a request for a profile one approval decides, and its approver's tab
    const approvers = [`e2e-step-up-approvers-${unique()}`];
    const profile = `e2e-step-up-req-${unique()}`;
    const put = await api('PUT', `/profiles/${profile}`, {
      token: adminToken,
      body: { roleArn: SANDBOX_ROLE, requestable: { approverGroups: approvers, approvals: 1, maxDurationSeconds: 7200, requireReason: false } },
    });
    expect(put.status).toBe(200);
    const asked = await api<{ id: string }>('POST', '/requests', { token: await tokenFor(`rae-${unique()}@example.com`), body: { profile, durationSeconds: 3600 } });
    expect(asked.status).toBe(201);
    const approver = `abe-${unique()}@example.com`;
    const context = await browser.newContext({ colorScheme: 'light' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await signInThroughForm(page, `${stackInfo().consoleUrl}requests/${asked.body.id}`, approver, approvers.join(', '));
    const standIn = await stepUpOnce(page, `/requests/${asked.body.id}/approve`, { body: stepUpBody({ maxAgeSeconds: 300 }) });
    const release = await holdTheWayOut(page);

    // Act
    await page.getByLabel('Comment on approving (optional)').fill('after a fresh sign-in');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: 'This needs a recent sign-in with MFA (within the last 5 min)' }).waitFor();
    release();
    await atTheIssuer(page);
    const params = new URL(page.url()).searchParams;
    await signInAtTheForm(page, approver, approvers.join(', '), true);

    // Assess
    await page.getByRole('status').filter({ hasText: 'Approved: the grant is created.' }).waitFor();
    await page.getByRole('table', { name: 'History, oldest first' }).getByRole('row').filter({ hasText: approver }).filter({ hasText: 'after a fresh sign-in' }).waitFor();
    expect({ maxAge: params.get('max_age'), acrValues: params.get('acr_values') }).toEqual({ maxAge: '300', acrValues: null });
    expect(claimsOf(standIn.tokens[1])).toMatchObject({ sub: approver, amr: ['pwd', 'mfa'] });
    expect(await page.evaluate('Object.keys(sessionStorage)')).toEqual(['tvm.token']);
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(unexpected(errors)).toEqual([]);
    await context.close();
  });

  it('replays nothing for someone else who signs in at that browser: their request is not sent', async () => {
    // Prepare: a requestable profile, the asker's tab on the requests page
    const profile = `e2e-step-up-ask-${unique()}`;
    const put = await api('PUT', `/profiles/${profile}`, {
      token: adminToken,
      body: { roleArn: SANDBOX_ROLE, requestable: { approverGroups: ['e2e-step-up-nobody'], approvals: 1, maxDurationSeconds: 7200, requireReason: false } },
    });
    expect(put.status).toBe(200);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInThroughForm(page, `${stackInfo().consoleUrl}requests?profile=${profile}`, `ida-${unique()}@example.com`, '');
    const standIn = await stepUpOnce(page, '/requests', { headers: { 'www-authenticate': STEP_UP_HEADER }, body: stepUpBody({ maxAgeSeconds: 900 }) });
    await page.getByRole('button', { name: 'Ask for access' }).click();
    await atTheIssuer(page);

    // Act: another person signs in, with MFA
    const other = `mal-${unique()}@example.com`;
    await signInAtTheForm(page, other, '', true);

    // Assess: back on the page as the other person, with nothing asked in their name
    await page.getByRole('table', { name: /^My requests/ }).getByText('You have asked for nothing yet.').waitFor();
    expect(await page.evaluate('Object.keys(sessionStorage)')).toEqual(['tvm.token']);
    expect(standIn.tokens).toHaveLength(1);
    const theirs = await api<{ requests: unknown[] }>('GET', '/requests?mine=true', { token: await tokenFor(other) });
    expect(theirs.body.requests).toEqual([]);
    await context.close();
  });
});

describe('the CLI at a terminal', () => {
  let fakeApi: FakeApi;
  let home: TvmHome;
  const user = 'terry@example.com';

  beforeEach(async () => {
    fakeApi = await startFakeApi();
    home = await makeTvmHome({ TVM_URL: fakeApi.url });
    // Signed in with tvm login at the stack's dev issuer, without MFA.
    await saveLogin({ env: home.env, homeDir: home.dir }, { token: await tokenFor(user), issuer: stackInfo().issuer, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    // The browser: records what it is asked to open, and signs in at the dev issuer's form, with MFA, as TVM_E2E_SIGN_IN_AS.
    const opener = join(home.dir, 'bin', 'xdg-open');
    await writeFile(join(home.dir, 'opened'), '');
    await mkdir(dirname(opener), { recursive: true });
    await writeFile(
      opener,
      `#!/usr/bin/env node
const url = new URL(process.argv[2]);
require('node:fs').appendFileSync(process.env.TVM_E2E_OPENED, url.href + '\\n');
const user = process.env.TVM_E2E_SIGN_IN_AS;
if (user) {
  const form = new URLSearchParams(url.searchParams);
  form.set('user', user);
  form.set('mfa', 'on');
  fetch(new URL('/authorize', url), { method: 'POST', body: form, redirect: 'manual' })
    .then((answer) => fetch(answer.headers.get('location')))
    .then((back) => back.text())
    .catch((error) => { console.error(String(error)); process.exit(1); });
}
`,
    );
    await chmod(opener, 0o755);
  });

  afterEach(async () => {
    await fakeApi.close();
    await home.remove();
  });

  /** Runs `tvm <args>` under a pseudo-terminal (util-linux script), as a person types it: its exit code and what the terminal showed. */
  async function atATerminal(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; shown: string }> {
    const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, TVM_BIN, ...args].map(quote).join(' ');
    const run = await outputOf(
      spawn('script', ['-qec', command, '/dev/null'], {
        env: { ...home.env, PATH: `${join(home.dir, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, TVM_E2E_OPENED: join(home.dir, 'opened'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      }),
    );
    return { code: run.code, shown: run.stdout.replace(/\r/g, '') };
  }

  const STEP_UP = { status: 401, headers: { 'www-authenticate': STEP_UP_HEADER }, body: stepUpBody({ maxAgeSeconds: 900 }) };

  it('as credential_process: never opens a browser, says what to do in one line, exits 3', async () => {
    // Prepare
    fakeApi.route('POST', '/credentials', () => STEP_UP);

    // Act
    const run = await atATerminal(['credentials', 'prod', '--format', 'credential-process'], { TVM_E2E_SIGN_IN_AS: user });

    // Assess
    expect(run.code).toBe(EXIT.auth);
    expect(run.shown).toBe(`tvm: STEP_UP_REQUIRED: ${SENTENCE}; sign in again with MFA (within the last 15 min): run \`tvm login --max-age 900 --acr-values 'urn:example:mfa urn:example:phr'\`\n`);
    expect(await readFile(join(home.dir, 'opened'), 'utf8')).toBe('');
    expect(fakeApi.requests).toHaveLength(1);
  }, 90_000);

  it('for a person: signs them in again in the browser (max_age, acr_values), and the command succeeds with the new token', async () => {
    // Prepare
    let asked = 0;
    fakeApi.route('POST', '/credentials', () =>
      ++asked === 1
        ? STEP_UP
        : { body: { credentials: { accessKeyId: 'ASIASTEPPEDUP', secretAccessKey: 's', sessionToken: 't', expiration: new Date(Date.now() + 900_000).toISOString() }, profile: 'prod', cutOffEpoch: 0 } },
    );

    // Act
    const run = await atATerminal(['credentials', 'prod', '--no-cache'], { TVM_E2E_SIGN_IN_AS: user });

    // Assess
    expect({ code: run.code, shown: run.shown }).toMatchObject({ code: EXIT.ok, shown: expect.stringContaining('export AWS_ACCESS_KEY_ID=ASIASTEPPEDUP\n') });
    const opened = (await readFile(join(home.dir, 'opened'), 'utf8')).trim().split('\n');
    expect(opened).toHaveLength(1);
    expect(Object.fromEntries(new URL(opened[0] ?? '').searchParams)).toMatchObject({ max_age: '900', acr_values: 'urn:example:mfa urn:example:phr' });
    const tokens = fakeApi.requests.map((request) => String(request.headers.authorization).replace(/^Bearer /, ''));
    expect(tokens).toHaveLength(2);
    expect(claimsOf(tokens[1])).toMatchObject({ sub: user, amr: ['pwd', 'mfa'], acr: 'urn:example:mfa', iss: stackInfo().issuer });
  }, 90_000);
});
