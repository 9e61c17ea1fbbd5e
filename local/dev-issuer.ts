// The local OIDC issuer (dev only). It publishes a discovery document and a JWKS like a real IdP,
// and mints tokens with a key kept on disk; tvm verifies them with the same JoseTokenVerifier it
// uses for a real IdP. There is deliberately no "trust local tokens" switch anywhere.
//
// It also signs people in the way a real IdP does for a browser or a CLI: the authorization code
// flow with PKCE (S256 only), `state` passed back and `nonce` put in the token. Its /authorize is a
// dev-only form (User, Groups, MFA) that trusts whatever is typed: it hands codes only to loopback
// redirect URIs, so nothing but this machine can receive one. Every sign-in on the form is a new
// one, so `auth_time` is its moment and any `max_age` is met; MFA ticked makes `amr` ["pwd","mfa"]
// and, when `acr_values` were asked for, `acr` the first of them (what a step-up asks, RFC 9470).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { z } from 'zod';
import { listenOn } from './processes.js';

/** The `aud` the local stack expects in dev tokens. */
export const DEV_AUDIENCE = 'tvm-local';

const ALG = 'ES256';
const KEY_FILE = 'dev-issuer-key.json';

const jwkSchema = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string() }).passthrough();
const keyFileSchema = z.object({
  kid: z.string().min(1),
  privateJwk: jwkSchema.extend({ d: z.string().min(1) }),
  publicJwk: jwkSchema,
});

export interface DevIssuerKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  readonly kid: string;
}

/** Returns the dev signing key stored in `dir`, creating it (mode 0600) on first use. */
export async function ensureDevIssuerKey(dir: string): Promise<DevIssuerKey> {
  const path = join(dir, KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing) return existing;

  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const key: DevIssuerKey = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg: ALG, use: 'sig' },
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': if another process created the key meanwhile, keep theirs so both agree on one key.
    await writeFile(path, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readKeyFile(path);
    if (winner) return winner;
    throw error;
  }
  return key;
}

async function readKeyFile(path: string): Promise<DevIssuerKey | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a dev issuer key file; delete it to create a new key`);
  return parsed.data as DevIssuerKey;
}

export interface DevIssuer {
  /** `http://localhost:<port>`: the exact `iss` of minted tokens. */
  readonly issuer: string;
  readonly jwksUrl: string;
  close(): Promise<void>;
}

/** How long a code from /authorize can be exchanged at /token. */
const CODE_TTL_MS = 60_000;
/** The tokens /token hands out live this long. */
const SIGNED_IN_TTL_SECONDS = 3600;

/** What /authorize was asked for, kept with its code until /token redeems it (once). */
interface PendingCode {
  readonly user: string;
  readonly groups: string[];
  readonly amr: readonly string[];
  /** The moment of the sign-in, in epoch seconds. */
  readonly authTime: number;
  readonly acr?: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly nonce?: string;
  readonly expiresAt: number;
}

const authorizeSchema = z.object({
  response_type: z.literal('code'),
  client_id: z.string().min(1).max(200),
  redirect_uri: z.string().refine(isLoopbackRedirect, 'must be an http(s) URL on this machine (localhost, 127.0.0.1 or [::1])'),
  code_challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be the base64url SHA-256 of the code verifier (S256)'),
  code_challenge_method: z.literal('S256'),
  state: z.string().max(2000).optional(),
  nonce: z.string().max(200).optional(),
  scope: z.string().max(200).optional(),
  max_age: z.string().regex(/^\d{1,10}$/, 'must be a whole number of seconds, 0 or more').optional(),
  acr_values: z
    .string()
    .regex(/^[\x21-\x7e]{1,256}( [\x21-\x7e]{1,256}){0,9}$/, 'must be 1 to 10 space-separated values of printable characters')
    .optional(),
});

/** The form's own fields; every other one carries the authorization request along. */
const FORM_FIELDS = new Set(['user', 'groups', 'mfa']);

const tokenSchema = z.object({
  grant_type: z.literal('authorization_code'),
  code: z.string().min(1),
  redirect_uri: z.string(),
  client_id: z.string(),
  code_verifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, 'must be 43 to 128 unreserved characters (RFC 7636)'),
});

/** Serves discovery, the JWKS, /authorize and /token for the key in `dir`. Port 0 picks a free port. */
export async function startDevIssuer(options: { dir: string; port?: number; host?: string; clock?: () => Date }): Promise<DevIssuer> {
  const now = options.clock ?? (() => new Date());
  const { publicJwk } = await ensureDevIssuerKey(options.dir);
  const host = options.host ?? '127.0.0.1';
  let issuer = '';
  const codes = new Map<string, PendingCode>();

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void> = {
    'GET /.well-known/openid-configuration': (req, res) =>
      json(
        res,
        200,
        {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          id_token_signing_alg_values_supported: [ALG],
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none'],
          scopes_supported: ['openid'],
          subject_types_supported: ['public'],
        },
        corsFor(req),
      ),
    'GET /.well-known/jwks.json': (req, res) => json(res, 200, { keys: [publicJwk] }, corsFor(req)),
    'GET /authorize': (_req, res, url) => {
      const request = authorizeSchema.safeParse(Object.fromEntries(url.searchParams));
      if (!request.success) return sendHtml(res, 400, errorPage(request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')));
      sendHtml(res, 200, signInForm(url.searchParams), new URL(request.data.redirect_uri).origin);
    },
    'POST /authorize': async (req, res) => {
      const form = new URLSearchParams(await readBody(req));
      const request = authorizeSchema.safeParse(Object.fromEntries([...form].filter(([name]) => !FORM_FIELDS.has(name))));
      const user = (form.get('user') ?? '').trim();
      const mfa = form.has('mfa');
      if (!request.success) return sendHtml(res, 400, errorPage(request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')));
      if (user === '') {
        const again = new URLSearchParams(Object.entries(request.data).filter((entry): entry is [string, string] => entry[1] !== undefined));
        return sendHtml(res, 400, signInForm(again, 'Enter a user.', mfa), new URL(request.data.redirect_uri).origin);
      }
      const code = randomBytes(24).toString('base64url');
      const { client_id: clientId, redirect_uri: redirectUri, code_challenge: codeChallenge, nonce, state, acr_values: acrValues } = request.data;
      const groups = (form.get('groups') ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '');
      const acr = mfa ? acrValues?.split(' ')[0] : undefined;
      codes.set(code, {
        user,
        groups,
        amr: mfa ? ['pwd', 'mfa'] : ['pwd'],
        authTime: Math.floor(now().getTime() / 1000),
        ...(acr === undefined ? {} : { acr }),
        clientId,
        redirectUri,
        codeChallenge,
        ...(nonce ? { nonce } : {}),
        expiresAt: now().getTime() + CODE_TTL_MS,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      if (state !== undefined) back.searchParams.set('state', state);
      res.writeHead(303, { location: back.toString(), 'cache-control': 'no-store' }).end();
    },
    'OPTIONS /token': (req, res) => {
      res.writeHead(204, { ...corsFor(req), 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' }).end();
    },
    'POST /token': async (req, res) => {
      const cors = corsFor(req);
      const request = tokenSchema.safeParse(Object.fromEntries(new URLSearchParams(await readBody(req))));
      if (!request.success) return json(res, 400, { error: 'invalid_request', error_description: request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, cors);
      const { code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier } = request.data;
      const pending = codes.get(code);
      // A code is good once, for its client, redirect URI and verifier, within its minute.
      codes.delete(code);
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!pending || pending.expiresAt < now().getTime() || pending.clientId !== clientId || pending.redirectUri !== redirectUri || pending.codeChallenge !== challenge) {
        return json(res, 400, { error: 'invalid_grant', error_description: 'the code is unknown, used, expired, or not for this client, redirect URI and verifier' }, cors);
      }
      const token = await mintDevToken({
        dir: options.dir,
        issuer,
        audience: DEV_AUDIENCE,
        sub: pending.user,
        groups: pending.groups,
        ttlSeconds: SIGNED_IN_TTL_SECONDS,
        now: now(),
        amr: pending.amr,
        authTime: pending.authTime,
        ...(pending.acr === undefined ? {} : { acr: pending.acr }),
        ...(pending.nonce ? { extraClaims: { nonce: pending.nonce } } : {}),
      });
      json(res, 200, { access_token: token, id_token: token, token_type: 'Bearer', expires_in: SIGNED_IN_TTL_SECONDS }, cors);
    },
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dev-issuer');
    const route = routes[`${req.method ?? 'GET'} ${url.pathname}`];
    if (route === undefined) return json(res, 404, { error: 'not found' });
    Promise.resolve(route(req, res, url)).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: error instanceof Error ? error.message : String(error) });
    });
  });

  const port = await listenOn(server, options.port ?? 0, host);
  issuer = `http://localhost:${port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Verifiers keep JWKS connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      }),
  };
}

function isLoopbackRedirect(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) && url.hash === '';
  } catch {
    return false;
  }
}

/** Browsers on this machine may read discovery, the JWKS and /token answers (a console on another port). */
function corsFor(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  return origin !== undefined && isLoopbackRedirect(`${origin}/`) ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `returnsTo`: the origin the form's answer redirects to, which CSP's form-action must allow too. */
function sendHtml(res: ServerResponse, status: number, html: string, returnsTo = ''): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${returnsTo}; frame-ancestors 'none'`.replace('  ', ' '),
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#111;background:#fff}label{display:block;margin:1rem 0 .25rem;font-weight:600}input{font:inherit;width:100%;padding:.5rem;border:1px solid #555;border-radius:4px;box-sizing:border-box}button{font:inherit;margin-top:1.5rem;padding:.5rem 1.25rem;border:0;border-radius:4px;background:#1a4fb5;color:#fff}p.hint{color:#444}[role=alert]{color:#9b1c1c;font-weight:600}.check{display:flex;gap:.5rem;align-items:center;margin-top:1rem}.check input{width:auto;margin:0}.check label{margin:0}p.notice{border-left:4px solid #1a4fb5;padding:.25rem .75rem}@media (prefers-color-scheme:dark){body{background:#111;color:#eee}input{background:#222;color:#eee;border-color:#aaa}p.hint{color:#bbb}[role=alert]{color:#ff9b9b}p.notice{border-color:#8fb0f0}}</style></head>
<body><main>${body}</main></body></html>`;
}

/** The form; `params` is the authorization request, already validated. */
function signInForm(params: URLSearchParams, problem?: string, mfa = false): string {
  const hidden = [...params]
    .filter(([name]) => !FORM_FIELDS.has(name))
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return page(
    'Sign in (tvm dev issuer)',
    `<h1>Sign in</h1><p class="hint">tvm's local issuer, for development: whoever you type is who you are.</p>
${stepUpNotice(params)}${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/authorize">${hidden}
<label for="user">User</label><input id="user" name="user" autocomplete="username" required>
<label for="groups">Groups</label><input id="groups" name="groups" aria-describedby="groups-hint"><p id="groups-hint" class="hint">Comma-separated, e.g. engineering, tvm-security</p>
<div class="check"><input type="checkbox" id="mfa" name="mfa" aria-describedby="mfa-hint"${mfa ? ' checked' : ''}><label for="mfa">MFA</label></div><p id="mfa-hint" class="hint">Sign in as if with a second factor: the token's amr is pwd, mfa (else pwd)</p>
<button type="submit">Sign in</button></form>`,
  );
}

/** What the application asked of this sign-in (max_age, acr_values), said on the form. */
function stepUpNotice(params: URLSearchParams): string {
  const maxAge = params.get('max_age');
  const acrValues = params.get('acr_values')?.split(' ');
  const lines = [
    maxAge === null
      ? ''
      : `A fresh sign-in is required: the application ${Number(maxAge) === 0 ? 'asked for a new one' : `accepts one no older than ${Number(maxAge)} s`} (max_age=${Number(maxAge)}).`,
    acrValues === undefined ? '' : `It asks for ${acrValues.join(' or ')} (acr_values): with MFA ticked, the token's acr is ${acrValues[0] ?? ''}.`,
  ].filter((line) => line !== '');
  return lines.length === 0 ? '' : `<p class="notice" id="step-up">${escapeHtml(lines.join(' '))}</p>\n`;
}

function errorPage(message: string): string {
  return page('Sign-in request refused', `<h1>Sign-in request refused</h1><p role="alert">${escapeHtml(message)}</p>`);
}

export interface MintDevTokenOptions {
  readonly dir: string;
  readonly issuer: string;
  readonly audience: string;
  readonly sub: string;
  readonly groups?: readonly string[];
  /** Default 3,600. */
  readonly ttlSeconds?: number;
  /** The moment of issue: default now. */
  readonly now?: Date;
  /** `amr`, how the person signed in (RFC 8176): default `["pwd"]`. */
  readonly amr?: readonly string[];
  /** `auth_time`, when they signed in, in epoch seconds: default now. */
  readonly authTime?: number;
  /** `acr`, the authentication context class they signed in with: default none. */
  readonly acr?: string;
  /** Added to the claims (amr and auth_time included); cannot override iss/aud/sub/groups/iat/nbf/exp. */
  readonly extraClaims?: Record<string, unknown>;
}

/** Signs a token with the dev key in `dir`, as the dev issuer at `issuer`. */
export async function mintDevToken(options: MintDevTokenOptions): Promise<string> {
  const ttlSeconds = options.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds must be a positive integer');
  const { privateJwk, kid } = await ensureDevIssuerKey(options.dir);
  const privateKey = await importJWK(privateJwk, ALG);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);

  const signedIn = { amr: [...(options.amr ?? ['pwd'])], auth_time: options.authTime ?? now, ...(options.acr === undefined ? {} : { acr: options.acr }) };
  return new SignJWT({ ...signedIn, ...options.extraClaims, groups: [...(options.groups ?? [])] })
    .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(privateKey);
}
