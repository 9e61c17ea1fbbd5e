// The dev OIDC issuer end to end: its tokens pass the production JoseTokenVerifier over real HTTP,
// its key is created once with mode 0600, and `tvm dev-token` prints a token that verifies.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { JoseTokenVerifier } from '../../shared/adapters/jose-token-verifier.js';
import type { OidcIssuerConfig } from '../../shared/config.js';
import { UnauthenticatedError } from '../../shared/domain/errors.js';
import { DEV_AUDIENCE, ensureDevIssuerKey, mintDevToken, startDevIssuer, type DevIssuer } from '../../local/dev-issuer.js';

const run = promisify(execFile);
const TVM_BIN = fileURLToPath(new URL('../../bin/tvm.js', import.meta.url));
const CLI_TIMEOUT_MS = 30_000;

let dir: string;
let devIssuer: DevIssuer;

function devIssuerConfig(overrides: Partial<OidcIssuerConfig> = {}): OidcIssuerConfig {
  return {
    issuer: devIssuer.issuer,
    audience: DEV_AUDIENCE,
    jwksUrl: devIssuer.jwksUrl,
    principalClaim: 'sub',
    groupsClaim: 'groups',
    principalPrefix: '',
    ...overrides,
  };
}

async function writeStackFile(contents: unknown): Promise<string> {
  const path = join(dir, `stack-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify(contents));
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tvm-dev-issuer-'));
  devIssuer = await startDevIssuer({ dir, port: 0 });
});

afterAll(async () => {
  await devIssuer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dev issuer', () => {
  it('publishes a discovery document pointing at its JWKS', async () => {
    // Act
    const response = await fetch(`${devIssuer.issuer}/.well-known/openid-configuration`);
    const discovery = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(devIssuer.issuer).toMatch(/^http:\/\/localhost:\d+$/);
    expect(discovery).toMatchObject({
      issuer: devIssuer.issuer,
      jwks_uri: devIssuer.jwksUrl,
      id_token_signing_alg_values_supported: ['ES256'],
    });
  });

  it('publishes only the public key', async () => {
    // Prepare
    const { kid, publicJwk } = await ensureDevIssuerKey(dir);

    // Act
    const jwks = (await (await fetch(devIssuer.jwksUrl)).json()) as { keys: Record<string, unknown>[] };

    // Assess
    expect(jwks.keys).toEqual([publicJwk]);
    expect(jwks.keys[0]).toMatchObject({ kid, alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('mints tokens that the production verifier accepts', async () => {
    // Prepare
    const verifier = new JoseTokenVerifier([devIssuerConfig({ principalPrefix: 'dev:' })]);
    const token = await mintDevToken({
      dir,
      issuer: devIssuer.issuer,
      audience: DEV_AUDIENCE,
      sub: 'alice@example.com',
      groups: ['engineering', 'tvm-admin'],
    });

    // Act
    const principal = await verifier.verify(token);

    // Assess
    expect(principal).toEqual({
      id: 'dev:alice@example.com',
      groups: ['dev:engineering', 'dev:tvm-admin'],
      issuer: devIssuer.issuer,
      // A dev token says it was a password sign-in, just now: not enough for a restricted profile.
      signIn: { methods: ['pwd'], at: expect.any(Number), strong: false },
    });
  });

  it('mints tokens with kid, iat, nbf, exp = iat + ttl, and extra claims that cannot override the standard ones', async () => {
    // Prepare
    const { kid } = await ensureDevIssuerKey(dir);

    // Act
    const token = await mintDevToken({
      dir,
      issuer: devIssuer.issuer,
      audience: DEV_AUDIENCE,
      sub: 'bob',
      ttlSeconds: 600,
      extraClaims: { email: 'bob@example.com', sub: 'admin', aud: 'elsewhere' },
    });

    // Assess
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toEqual({ alg: 'ES256', kid, typ: 'JWT' });
    expect(payload).toMatchObject({ iss: devIssuer.issuer, aud: DEV_AUDIENCE, sub: 'bob', groups: [], email: 'bob@example.com' });
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp).toBe(payload.iat + 600);
  });

  it('gives its tokens no bypass: a verifier for another audience rejects them', async () => {
    // Prepare
    const verifier = new JoseTokenVerifier([devIssuerConfig({ audience: 'production-api' })]);
    const token = await mintDevToken({ dir, issuer: devIssuer.issuer, audience: DEV_AUDIENCE, sub: 'alice' });

    // Act / Assess
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it("rejects a token signed with another state dir's key", async () => {
    // Prepare
    const otherDir = await mkdtemp(join(tmpdir(), 'tvm-dev-issuer-other-'));
    const verifier = new JoseTokenVerifier([devIssuerConfig()]);
    const token = await mintDevToken({ dir: otherDir, issuer: devIssuer.issuer, audience: DEV_AUDIENCE, sub: 'mallory' });

    // Act
    const result = verifier.verify(token);

    // Assess
    await expect(result).rejects.toBeInstanceOf(UnauthenticatedError);
    await rm(otherDir, { recursive: true, force: true });
  });
});

// The dev issuer signs people in as a real IdP does for the console (and later the
// CLI): authorization code with PKCE (S256), state and nonce; codes only for loopback redirects.
describe('dev issuer sign-in (authorization code + PKCE)', () => {
  const REDIRECT = 'http://localhost:5999/console/callback';
  const verifier = 'v'.repeat(20) + '-._~' + 'A'.repeat(30);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorizeParams = (overrides: Record<string, string> = {}) =>
    new URLSearchParams({
      response_type: 'code',
      client_id: 'tvm-console',
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'deep-link-state',
      nonce: 'nonce-123',
      ...overrides,
    });

  /** Signs in through the form as `user` (ticking MFA when asked to); the code and state the redirect carries. */
  async function signIn(user: string, groups: string, params = authorizeParams(), mfa = false): Promise<{ code: string; state: string | null }> {
    const form = new URLSearchParams([...params, ['user', user], ['groups', groups]]);
    if (mfa) form.set('mfa', 'on');
    const response = await fetch(`${devIssuer.issuer}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    return { code: location.searchParams.get('code') ?? '', state: location.searchParams.get('state') };
  }

  const redeem = (code: string, overrides: Record<string, string> = {}) =>
    fetch(`${devIssuer.issuer}/token`, {
      method: 'POST',
      headers: { origin: 'http://localhost:5999' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'tvm-console', code_verifier: verifier, ...overrides }),
    });

  it('names its endpoints in the discovery document', async () => {
    // Act
    const discovery = (await (await fetch(`${devIssuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;

    // Assess
    expect(discovery).toMatchObject({
      authorization_endpoint: `${devIssuer.issuer}/authorize`,
      token_endpoint: `${devIssuer.issuer}/token`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('shows a form with User, Groups and Sign in, carrying the request along', async () => {
    // Act
    const response = await fetch(`${devIssuer.issuer}/authorize?${authorizeParams().toString()}`);
    const html = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(html).toContain('<label for="user">User</label>');
    expect(html).toContain('<label for="groups">Groups</label>');
    expect(html).toContain('<button type="submit">Sign in</button>');
    expect(html).toContain('value="deep-link-state"');
  });

  it('exchanges the code, once, with the verifier, for a token the production verifier accepts with the nonce', async () => {
    // Prepare
    const { code, state } = await signIn('carol@example.com', 'engineering, tvm-security');

    // Act
    const answer = await redeem(code);
    const body = (await answer.json()) as { access_token: string; id_token: string; token_type: string; expires_in: number };
    const again = await redeem(code);

    // Assess
    expect(state).toBe('deep-link-state');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe('http://localhost:5999');
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const principal = await new JoseTokenVerifier([devIssuerConfig()]).verify(body.access_token);
    expect(principal).toMatchObject({ id: 'carol@example.com', groups: ['engineering', 'tvm-security'] });
    expect(JSON.parse(Buffer.from(body.id_token.split('.')[1] ?? '', 'base64url').toString())).toMatchObject({ nonce: 'nonce-123', amr: ['pwd'] });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it.each([
    ['another verifier', { code_verifier: 'w'.repeat(43) }],
    ['another redirect URI', { redirect_uri: 'http://localhost:5999/elsewhere' }],
    ['another client', { client_id: 'someone-else' }],
  ])('refuses the code with %s (invalid_grant), and it is gone after', async (_what, overrides) => {
    // Prepare
    const { code } = await signIn('dave@example.com', '');

    // Act
    const refused = await redeem(code, overrides);
    const afterwards = await redeem(code);

    // Assess
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
    expect(afterwards.status).toBe(400);
  });

  it.each([
    ['a redirect off this machine', { redirect_uri: 'https://evil.example/callback' }],
    ['the plain PKCE method', { code_challenge_method: 'plain' }],
    ['no code challenge', { code_challenge: '' }],
    ['the implicit flow', { response_type: 'token' }],
  ])('refuses %s with 400 and no code', async (_what, overrides) => {
    // Act
    const shown = await fetch(`${devIssuer.issuer}/authorize?${authorizeParams(overrides).toString()}`);
    const posted = await fetch(`${devIssuer.issuer}/authorize`, {
      method: 'POST',
      body: new URLSearchParams([...authorizeParams(overrides), ['user', 'mallory']]),
      redirect: 'manual',
    });

    // Assess
    expect(shown.status).toBe(400);
    expect(await shown.text()).toContain('role="alert"');
    expect(posted.status).toBe(400);
    expect(posted.headers.get('location')).toBeNull();
  });
  /** The claims of the access token a sign-in through the form gets. */
  async function claimsAfterSignIn(params: URLSearchParams, mfa: boolean): Promise<Record<string, unknown>> {
    const { code } = await signIn('erin@example.com', '', params, mfa);
    const { access_token: token } = (await (await redeem(code)).json()) as { access_token: string };
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
  }

  describe('step-up: MFA, max_age and acr_values', () => {
    it('shows an MFA checkbox, unticked, labelled and described', async () => {
      // Act
      const html = await (await fetch(`${devIssuer.issuer}/authorize?${authorizeParams().toString()}`)).text();

      // Assess
      expect(html).toContain('<input type="checkbox" id="mfa" name="mfa" aria-describedby="mfa-hint"><label for="mfa">MFA</label>');
      expect(html).toContain('<p id="mfa-hint" class="hint">');
      expect(html).not.toContain('fresh sign-in');
    });

    it('signs in with amr ["pwd","mfa"] when MFA is ticked, ["pwd"] when not, and auth_time the moment of the sign-in', async () => {
      // Prepare
      const before = Math.floor(Date.now() / 1000);

      // Act
      const withMfa = await claimsAfterSignIn(authorizeParams(), true);
      const without = await claimsAfterSignIn(authorizeParams(), false);

      // Assess
      const after = Math.ceil(Date.now() / 1000);
      expect(withMfa.amr).toEqual(['pwd', 'mfa']);
      expect(without.amr).toEqual(['pwd']);
      for (const claims of [withMfa, without]) {
        expect(claims.auth_time).toBeGreaterThanOrEqual(before);
        expect(claims.auth_time).toBeLessThanOrEqual(after);
        expect(claims).not.toHaveProperty('acr');
      }
    });

    it("takes the sign-in's moment as auth_time, not the code's redemption", async () => {
      // Prepare: an issuer on a clock of our own; a sign-in, and its code redeemed 45 s later
      let now = new Date('2026-12-05T10:00:00.000Z');
      const clocked = await startDevIssuer({ dir, port: 0, clock: () => now });
      try {
        const params = authorizeParams();
        const posted = await fetch(`${clocked.issuer}/authorize`, { method: 'POST', body: new URLSearchParams([...params, ['user', 'fay@example.com'], ['mfa', 'on']]), redirect: 'manual' });
        const code = new URL(posted.headers.get('location') ?? '').searchParams.get('code') ?? '';
        now = new Date('2026-12-05T10:00:45.000Z');

        // Act
        const answer = await fetch(`${clocked.issuer}/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'tvm-console', code_verifier: verifier }),
        });

        // Assess
        const { access_token: token } = (await answer.json()) as { access_token: string };
        const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
        expect(claims).toMatchObject({ auth_time: Date.parse('2026-12-05T10:00:00Z') / 1000, iat: Date.parse('2026-12-05T10:00:45Z') / 1000, amr: ['pwd', 'mfa'] });
      } finally {
        await clocked.close();
      }
    });

    it.each([
      ['0', 'A fresh sign-in is required: the application asked for a new one (max_age=0).'],
      ['900', 'A fresh sign-in is required: the application accepts one no older than 900 s (max_age=900).'],
    ])('says a fresh sign-in is required when max_age=%s is asked for, and carries it along', async (maxAge, notice) => {
      // Act
      const html = await (await fetch(`${devIssuer.issuer}/authorize?${authorizeParams({ max_age: maxAge }).toString()}`)).text();

      // Assess
      expect(html).toContain(`<p class="notice" id="step-up">${notice}</p>`);
      expect(html).toContain(`<input type="hidden" name="max_age" value="${maxAge}">`);
    });

    it.each(['-1', '15m', '1.5', '', '12345678901'])('refuses max_age=%j with 400 and no code', async (maxAge) => {
      // Act
      const shown = await fetch(`${devIssuer.issuer}/authorize?${authorizeParams({ max_age: maxAge }).toString()}`);
      const posted = await fetch(`${devIssuer.issuer}/authorize`, {
        method: 'POST',
        body: new URLSearchParams([...authorizeParams({ max_age: maxAge }), ['user', 'mallory']]),
        redirect: 'manual',
      });

      // Assess
      expect(shown.status).toBe(400);
      expect(await shown.text()).toContain('max_age: must be a whole number of seconds, 0 or more');
      expect(posted.status).toBe(400);
      expect(posted.headers.get('location')).toBeNull();
    });

    it('signs in with the first of the acr_values asked for, only when MFA is ticked, and says so on the form', async () => {
      // Prepare
      const params = authorizeParams({ max_age: '0', acr_values: 'urn:example:mfa urn:example:pwd' });

      // Act
      const html = await (await fetch(`${devIssuer.issuer}/authorize?${params.toString()}`)).text();
      const withMfa = await claimsAfterSignIn(params, true);
      const without = await claimsAfterSignIn(params, false);

      // Assess
      expect(html).toContain("It asks for urn:example:mfa or urn:example:pwd (acr_values): with MFA ticked, the token&#39;s acr is urn:example:mfa.");
      expect(withMfa).toMatchObject({ acr: 'urn:example:mfa', amr: ['pwd', 'mfa'] });
      expect(without).not.toHaveProperty('acr');
      expect(without.amr).toEqual(['pwd']);
    });

    it.each(['', 'two  spaces', 'tab\there'])('refuses acr_values=%j with 400', async (acrValues) => {
      // Act
      const shown = await fetch(`${devIssuer.issuer}/authorize?${authorizeParams({ acr_values: acrValues }).toString()}`);

      // Assess
      expect(shown.status).toBe(400);
      expect(await shown.text()).toContain('acr_values: must be 1 to 10 space-separated values');
    });

    it('keeps MFA ticked, max_age and acr_values when the form comes back for a missing user', async () => {
      // Act
      const again = await fetch(`${devIssuer.issuer}/authorize`, {
        method: 'POST',
        body: new URLSearchParams([...authorizeParams({ max_age: '900', acr_values: 'phr' }), ['user', ' '], ['mfa', 'on']]),
      });
      const html = await again.text();

      // Assess
      expect(again.status).toBe(400);
      expect(html).toContain('id="mfa" name="mfa" aria-describedby="mfa-hint" checked>');
      expect(html).toContain('<input type="hidden" name="max_age" value="900">');
      expect(html).toContain('<input type="hidden" name="acr_values" value="phr">');
      expect(html).not.toContain('name="mfa" value=');
    });
  });
});

describe('dev issuer key', () => {
  it('is created once, stored with mode 0600, and reused', async () => {
    // Prepare
    const keyDir = await mkdtemp(join(tmpdir(), 'tvm-dev-key-'));

    // Act
    const first = await ensureDevIssuerKey(keyDir);
    const second = await ensureDevIssuerKey(keyDir);

    // Assess
    expect(second).toEqual(first);
    expect(first.kid).toMatch(/^[A-Za-z0-9_-]{43}$/); // base64url SHA-256 JWK thumbprint
    expect(first.publicJwk).not.toHaveProperty('d');
    expect(first.privateJwk).toHaveProperty('d');
    expect((await stat(join(keyDir, 'dev-issuer-key.json'))).mode & 0o777).toBe(0o600);
    await rm(keyDir, { recursive: true, force: true });
  });

  it('ends up as one key when several callers create it at once', async () => {
    // Prepare
    const keyDir = await mkdtemp(join(tmpdir(), 'tvm-dev-key-race-'));

    // Act
    const keys = await Promise.all(Array.from({ length: 5 }, () => ensureDevIssuerKey(keyDir)));

    // Assess
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect((await ensureDevIssuerKey(keyDir)).kid).toBe(keys[0]?.kid);
    await rm(keyDir, { recursive: true, force: true });
  });
});

describe('tvm dev-token', () => {
  it(
    'prints only a token that the production verifier accepts',
    async () => {
      // Prepare
      const stackFile = await writeStackFile({ issuer: devIssuer.issuer, audience: DEV_AUDIENCE, stateDir: dir });
      const verifier = new JoseTokenVerifier([devIssuerConfig()]);

      // Act
      const { stdout } = await run(
        process.execPath,
        [TVM_BIN, 'dev-token', '--sub', 'alice@example.com', '--groups', 'engineering', '--stack', stackFile],
        { timeout: CLI_TIMEOUT_MS },
      );

      // Assess
      expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      await expect(verifier.verify(stdout.trim())).resolves.toEqual({
        id: 'alice@example.com',
        groups: ['engineering'],
        issuer: devIssuer.issuer,
        signIn: { methods: ['pwd'], at: expect.any(Number), strong: false },
      });
    },
    CLI_TIMEOUT_MS + 10_000,
  );

  it(
    'exits 2 with a clear message when no local stack is running, as every tvm error reads',
    async () => {
      // Prepare
      const missing = join(dir, 'no-such-stack.json');

      // Act
      const failure = await run(process.execPath, [TVM_BIN, 'dev-token', '--sub', 'alice', '--stack', missing], {
        timeout: CLI_TIMEOUT_MS,
      }).catch((error: { code?: number; stdout?: string; stderr?: string }) => error);

      // Assess
      expect(failure).toMatchObject({ code: 2, stdout: '' });
      expect((failure as { stderr: string }).stderr).toBe('tvm: NO_STACK: no local stack running: start it with `npm start`\n');
    },
    CLI_TIMEOUT_MS + 10_000,
  );

  it(
    'finds the stack file through TVM_STACK_FILE',
    async () => {
      // Prepare
      const stackFile = await writeStackFile({ issuer: devIssuer.issuer, audience: DEV_AUDIENCE, stateDir: dir });

      // Act
      const { stdout } = await run(process.execPath, [TVM_BIN, 'dev-token', '--sub', 'carol', '--ttl', '120'], {
        timeout: CLI_TIMEOUT_MS,
        env: { ...process.env, TVM_STACK_FILE: stackFile },
      });

      // Assess
      const payload = JSON.parse(Buffer.from(stdout.split('.')[1] ?? '', 'base64url').toString()) as Record<string, number>;
      expect(payload).toMatchObject({ sub: 'carol', iss: devIssuer.issuer });
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
    },
    CLI_TIMEOUT_MS + 10_000,
  );

  it(
    'puts --amr, --auth-time and --acr in the token, and amr ["pwd"] with auth_time now without them',
    async () => {
      // Prepare
      const stackFile = await writeStackFile({ issuer: devIssuer.issuer, audience: DEV_AUDIENCE, stateDir: dir });
      const claimsOf = (stdout: string) => JSON.parse(Buffer.from(stdout.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown> & { iat: number };

      // Act
      const stepped = await run(process.execPath, [TVM_BIN, 'dev-token', '--sub', 'dana', '--amr', 'pwd,mfa', '--auth-time', '-5m', '--acr', 'urn:example:mfa', '--stack', stackFile], {
        timeout: CLI_TIMEOUT_MS,
      });
      const plain = await run(process.execPath, [TVM_BIN, 'dev-token', '--sub', 'dana', '--stack', stackFile], { timeout: CLI_TIMEOUT_MS });

      // Assess
      const steppedClaims = claimsOf(stepped.stdout);
      expect(steppedClaims).toMatchObject({ sub: 'dana', amr: ['pwd', 'mfa'], acr: 'urn:example:mfa', auth_time: steppedClaims.iat - 300 });
      const plainClaims = claimsOf(plain.stdout);
      expect(plainClaims).toMatchObject({ amr: ['pwd'], auth_time: plainClaims.iat });
      expect(plainClaims).not.toHaveProperty('acr');
      await expect(new JoseTokenVerifier([devIssuerConfig()]).verify(stepped.stdout.trim())).resolves.toMatchObject({ id: 'dana' });
    },
    2 * CLI_TIMEOUT_MS + 10_000,
  );

  it.each([
    ['an auth time to come', ['--auth-time', '+5m']],
    ['an amr that is not a list of methods', ['--amr', 'pwd mfa']],
    ['a ttl below 60 s', ['--ttl', '59']],
    ['a ttl above 12 h', ['--ttl', '43201']],
    ['a non-numeric ttl', ['--ttl', '1h']],
    ['an empty group', ['--groups', 'a,,b']],
    ['a group with a space', ['--groups', 'eng ops']],
  ])(
    'refuses %s without printing a token',
    async (_label, args) => {
      // Prepare
      const stackFile = await writeStackFile({ issuer: devIssuer.issuer, audience: DEV_AUDIENCE, stateDir: dir });

      // Act
      const failure = await run(
        process.execPath,
        [TVM_BIN, 'dev-token', '--sub', 'alice', '--stack', stackFile, ...args],
        { timeout: CLI_TIMEOUT_MS },
      ).catch((error: { code?: number; stdout?: string }) => error);

      // Assess
      expect(failure).toMatchObject({ code: 2, stdout: '' }); // a usage error (cli/errors.ts EXIT.usage)
    },
    CLI_TIMEOUT_MS + 10_000,
  );
});
