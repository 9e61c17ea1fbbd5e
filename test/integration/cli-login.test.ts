// `tvm login` against the real dev issuer over HTTP, driving the loopback flow as a browser would:
// the authorization URL opens the issuer's sign-in form, the form redirects to tvm's listener on
// 127.0.0.1 with the code, tvm redeems it (PKCE) and keeps the token 0600 until it expires; later
// commands use it, TVM_TOKEN and a token_command still win, `tvm logout` forgets it; a redirect
// without tvm's state changes nothing.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevIssuer, type DevIssuer } from '../../local/dev-issuer.js';
import { defaultContext, runCli, type CliContext } from '../../cli/main.js';
import { resolveSettings } from '../../cli/settings.js';
import { tokenFilePath } from '../../cli/token-store.js';
import { EXIT } from '../../cli/errors.js';
import type { HttpFetch, HttpRequestInit } from '../../cli/http-fetch.js';

let dir: string;
let issuer: DevIssuer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tvm-login-'));
  issuer = await startDevIssuer({ dir, port: 0 });
});

afterAll(async () => {
  await issuer.close();
  await rm(dir, { recursive: true, force: true });
});

interface Captured {
  text: string;
  write(chunk: string | Uint8Array): boolean;
}
const capture = (): Captured => ({
  text: '',
  write(chunk) {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  },
});

/** A person at the dev issuer's form: opens the URL, signs in as `user` (ticking MFA when told to), follows the redirect home. */
function browserSigningInAs(user: string, groups: string, tamper?: (location: URL) => void, { mfa = false } = {}) {
  const visited: string[] = [];
  const forms: string[] = [];
  return {
    visited,
    forms,
    open: async (url: string) => {
      visited.push(url);
      const authorize = new URL(url);
      const shown = await fetch(authorize);
      expect(shown.status).toBe(200); // the sign-in form
      forms.push(await shown.text());
      const form = new URLSearchParams(authorize.searchParams);
      form.set('user', user);
      form.set('groups', groups);
      if (mfa) form.set('mfa', 'on');
      const submitted = await fetch(new URL('/authorize', authorize), { method: 'POST', body: form, redirect: 'manual' });
      const location = new URL(submitted.headers.get('location') ?? '');
      tamper?.(location);
      // The browser follows the redirect to tvm's listener; what it shows there is the person's business.
      void fetch(location).then((answer) => answer.text());
      return true;
    },
  };
}

async function aHome(env: Record<string, string> = {}): Promise<{ context: CliContext; stdout: Captured; stderr: Captured }> {
  const home = await mkdtemp(join(dir, 'home-'));
  const stdout = capture();
  const stderr = capture();
  const context: CliContext = {
    repoRoot: defaultContext().repoRoot,
    // No local stack: its stack.json is named where there is none.
    env: { XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache'), TVM_STACK_FILE: join(home, 'no-stack.json'), ...env },
    stdout,
    stderr,
    homeDir: home,
  };
  return { context, stdout, stderr };
}

/**
 * An identity provider of the test's own (discovery and a token endpoint answering `tokens(nonce)`,
 * the nonce the CLI sent), and a browser that signs in there at once.
 */
async function aStandInIdentityProvider(tokens: (nonce: string) => { access_token: string; id_token: string }) {
  const { createServer } = await import('node:http');
  let nonce = '';
  const idp = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token` }));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tokens(nonce)));
    }
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(idp.address() as { port: number }).port}`,
    open: async (url: string) => {
      const authorize = new URL(url);
      nonce = authorize.searchParams.get('nonce') ?? '';
      const back = new URL(authorize.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', 'a-code');
      back.searchParams.set('state', authorize.searchParams.get('state') ?? '');
      void fetch(back).then((answer) => answer.text());
      return true;
    },
    close: async () => {
      idp.closeAllConnections();
      await new Promise((resolve) => idp.close(resolve));
    },
  };
}

/** A JWT's shape, unsigned: what the CLI reads of a token it only stores. */
const unsignedJwt = (claims: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

it('signs in through the loopback redirect and keeps the token, readable by its owner only, for later commands', async () => {
  // Prepare
  const { context, stderr } = await aHome();
  const browser = browserSigningInAs('alice@example.com', 'engineering');

  // Act
  const code = await runCli(['login', '--issuer', issuer.issuer], { ...context, openUrl: browser.open });

  // Assess
  expect({ code, stderr: stderr.text }).toMatchObject({ code: EXIT.ok, stderr: expect.stringContaining(`signed in as alice@example.com at ${issuer.issuer}`) });
  const authorize = new URL(browser.visited[0] ?? '');
  expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
    response_type: 'code',
    client_id: 'tvm-cli',
    code_challenge_method: 'S256',
    redirect_uri: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/callback$/),
  });
  const path = tokenFilePath(context);
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700);
  const stored = JSON.parse(await readFile(path, 'utf8')) as { token: string; issuer: string; expiresAt: string };
  expect(stored.issuer).toBe(issuer.issuer);
  const claims = JSON.parse(Buffer.from(stored.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string; groups: string[]; iss: string };
  expect(claims).toMatchObject({ sub: 'alice@example.com', groups: ['engineering'], iss: issuer.issuer });
  const settings = await resolveSettings(context, { url: 'https://tvm.example.com' });
  expect(await settings.token()).toBe(stored.token);
});

it('lets TVM_TOKEN and a token_command win over the kept token, and tvm logout forget it', async () => {
  // Prepare
  const { context } = await aHome();
  await runCli(['login', '--issuer', issuer.issuer], { ...context, openUrl: browserSigningInAs('bob@example.com', '').open });
  const withEnv = { ...context, env: { ...context.env, TVM_TOKEN: 'from-the-environment' } };

  // Act
  const fromEnv = await (await resolveSettings(withEnv, { url: 'https://tvm.example.com' })).token();
  const fromCommand = await (await resolveSettings(context, { url: 'https://tvm.example.com', tokenCommand: 'echo from-a-command' })).token();
  const out = await runCli(['logout'], context);

  // Assess
  expect([fromEnv, fromCommand, out]).toEqual(['from-the-environment', 'from-a-command', EXIT.ok]);
  await expect(stat(tokenFilePath(context))).rejects.toMatchObject({ code: 'ENOENT' });
  await expect((await resolveSettings(context, { url: 'https://tvm.example.com' })).token()).rejects.toMatchObject({ code: 'NO_TOKEN', message: expect.stringContaining('tvm login') });
});

it('ignores a redirect to its listener that does not carry its state, and keeps waiting for the real one', async () => {
  // Prepare: the first redirect is a forgery (another state); the person then signs in for real
  const { context } = await aHome();
  const forged = browserSigningInAs('mallory@example.com', 'tvm-admin', (location) => location.searchParams.set('state', 'forged'));
  const real = browserSigningInAs('carol@example.com', '');
  const open = async (url: string) => {
    await forged.open(url);
    return real.open(url);
  };

  // Act
  const code = await runCli(['login', '--issuer', issuer.issuer], { ...context, openUrl: open });

  // Assess
  expect(code).toBe(EXIT.ok);
  const stored = JSON.parse(await readFile(tokenFilePath(context), 'utf8')) as { token: string };
  expect(JSON.parse(Buffer.from(stored.token.split('.')[1] ?? '', 'base64url').toString('utf8'))).toMatchObject({ sub: 'carol@example.com' });
});

it('refuses an issuer over plain http anywhere but this machine, before opening anything', async () => {
  // Prepare
  const { context, stderr } = await aHome();
  const browser = browserSigningInAs('dave@example.com', '');

  // Act
  const code = await runCli(['login', '--issuer', 'http://idp.example.com/'], { ...context, openUrl: browser.open });

  // Assess
  expect(code).toBe(EXIT.usage);
  expect(stderr.text).toContain('must be https');
  expect(browser.visited).toEqual([]);
});

it('refuses tokens answered for another sign-in (an ID token whose nonce is not the one sent), and keeps nothing', async () => {
  // Prepare: an identity provider whose token endpoint answers with someone else's ID token
  const idp = await aStandInIdentityProvider(() => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    return { access_token: unsignedJwt({ sub: 'victim', exp }), id_token: unsignedJwt({ nonce: 'someone-elses', exp }) };
  });
  const { context, stderr } = await aHome();

  try {
    // Act
    const code = await runCli(['login', '--issuer', idp.origin], { ...context, openUrl: idp.open });

    // Assess
    expect(code).toBe(EXIT.auth);
    expect(stderr.text).toContain('nonce does not match');
    await expect(stat(tokenFilePath(context))).rejects.toMatchObject({ code: 'ENOENT' });
  } finally {
    await idp.close();
  }
});

describe('step-up (RFC 9470)', () => {
  const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  const keptToken = async (context: CliContext) => (JSON.parse(await readFile(tokenFilePath(context), 'utf8')) as { token: string }).token;
  const STEP_UP = {
    status: 401,
    headers: { 'www-authenticate': 'Bearer error="insufficient_user_authentication", error_description="profile prod needs a recent sign-in with MFA", max_age=900' },
    body: { error: { code: 'STEP_UP_REQUIRED', message: 'profile prod needs a recent sign-in with MFA.', requestId: 'r-1', maxAgeSeconds: 900 } },
  };
  const VENDED = {
    status: 200,
    headers: {},
    body: {
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session', expiration: new Date(Date.now() + 900_000).toISOString() },
      profile: 'prod',
      cutOffEpoch: 0,
    },
  };

  /** A stand-in for the API answering each request with the next of `answers`; what it was sent. */
  function anApi(...answers: { status: number; headers: Record<string, string>; body: unknown }[]) {
    const sent: HttpRequestInit[] = [];
    const fetch: HttpFetch = async (_url, init) => {
      sent.push(init);
      const answer = answers.shift() ?? { status: 599, headers: {}, body: { error: { code: 'UNEXPECTED_REQUEST', message: 'no answer left' } } };
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers });
    };
    return { sent, fetch, tokens: () => sent.map((init) => init.headers.authorization?.replace(/^Bearer /, '') ?? '') };
  }

  /** Someone signed in with tvm login, without MFA, at a terminal. */
  async function signedInWithoutMfa(user = 'alice@example.com') {
    const home = await aHome({ TVM_URL: 'https://tvm.example.com' });
    expect(await runCli(['login', '--issuer', issuer.issuer], { ...home.context, openUrl: browserSigningInAs(user, 'engineering').open })).toBe(EXIT.ok);
    return { ...home, before: await keptToken(home.context) };
  }

  it('tvm login --max-age and --acr-values ask the issuer for them, and the token shows the sign-in they got', async () => {
    // Prepare
    const { context } = await aHome();
    const browser = browserSigningInAs('alice@example.com', '', undefined, { mfa: true });

    // Act
    const code = await runCli(['login', '--issuer', issuer.issuer, '--max-age', '900', '--acr-values', 'urn:example:mfa phr'], { ...context, openUrl: browser.open });

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(Object.fromEntries(new URL(browser.visited[0] ?? '').searchParams)).toMatchObject({ max_age: '900', acr_values: 'urn:example:mfa phr' });
    expect(browser.forms[0]).toContain('A fresh sign-in is required');
    expect(claimsOf(await keptToken(context))).toMatchObject({ sub: 'alice@example.com', amr: ['pwd', 'mfa'], acr: 'urn:example:mfa' });
  });

  it('signs a person at a terminal in again, as the challenge asks, keeps the new token and sends the request once more', async () => {
    // Prepare
    const { context, stdout, stderr, before } = await signedInWithoutMfa();
    const api = anApi(STEP_UP, VENDED);
    const browser = browserSigningInAs('alice@example.com', 'engineering', undefined, { mfa: true });

    // Act
    const code = await runCli(['credentials', 'prod', '--no-cache'], { ...context, fetch: api.fetch, openUrl: browser.open, atTerminal: () => true });

    // Assess
    expect({ code, stderr: stderr.text }).toMatchObject({ code: EXIT.ok });
    expect(new URL(browser.visited[0] ?? '').searchParams.get('max_age')).toBe('900');
    const [first, second] = api.tokens();
    expect(first).toBe(before);
    expect(claimsOf(second ?? '')).toMatchObject({ sub: 'alice@example.com', amr: ['pwd', 'mfa'] });
    expect(await keptToken(context)).toBe(second);
    expect(stdout.text).toContain('export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n');
    expect(stderr.text).toContain(`tvm: STEP_UP_REQUIRED: profile prod needs a recent sign-in with MFA\ntvm: signing you in again in your browser at ${issuer.issuer}:`);
  });

  it('tries once: still refused after the new sign-in (MFA left unticked), it says so in one line and exits 3', async () => {
    // Prepare
    const { context, stderr } = await signedInWithoutMfa();
    const api = anApi(STEP_UP, STEP_UP, VENDED);
    const browser = browserSigningInAs('alice@example.com', 'engineering');

    // Act
    const code = await runCli(['credentials', 'prod', '--no-cache'], { ...context, fetch: api.fetch, openUrl: browser.open, atTerminal: () => true });

    // Assess
    expect({ code, requests: api.sent.length, signIns: browser.visited.length }).toEqual({ code: EXIT.auth, requests: 2, signIns: 1 });
    expect(stderr.text.trimEnd().split('\n').at(-1)).toBe(
      'tvm: STEP_UP_REQUIRED: profile prod needs a recent sign-in with MFA; sign in again with MFA (within the last 15 min): run `tvm login --max-age 900`',
    );
  });

  it('retries nothing for someone else signing in at the browser, and keeps the sign-in it had', async () => {
    // Prepare
    const { context, stderr, before } = await signedInWithoutMfa();
    const api = anApi(STEP_UP, VENDED);

    // Act
    const code = await runCli(['approve', '0f6c7f43-35d1-4a55-9d6e-0b1a3e0e8a11'], {
      ...context,
      fetch: api.fetch,
      openUrl: browserSigningInAs('mallory@example.com', 'tvm-admin', undefined, { mfa: true }).open,
      atTerminal: () => true,
    });

    // Assess
    expect({ code, requests: api.sent.length }).toEqual({ code: EXIT.auth, requests: 1 });
    expect(stderr.text).toContain('tvm: STEP_UP_FAILED: signed in as mallory@example.com, not alice@example.com');
    expect(await keptToken(context)).toBe(before);
  });

  it('refuses a sign-in older than the max_age asked for (an issuer that ignored it), keeping nothing new', async () => {
    // Prepare: an identity provider that hands back an hour-old sign-in whatever it is asked
    const idp = await aStandInIdentityProvider((nonce) => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: 'alice', exp: now + 600, auth_time: now - 3600, nonce };
      return { access_token: unsignedJwt(claims), id_token: unsignedJwt(claims) };
    });
    const { context, stderr } = await aHome();

    try {
      // Act
      const code = await runCli(['login', '--issuer', idp.origin, '--max-age', '900'], { ...context, openUrl: idp.open });

      // Assess
      expect(code).toBe(EXIT.auth);
      expect(stderr.text).toContain('tvm: LOGIN_FAILED: the identity provider did not sign you in again within 900 s');
      await expect(stat(tokenFilePath(context))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await idp.close();
    }
  });
});
