// `tvm login`: OpenID Connect authorization code with PKCE (S256) and a loopback redirect, as
// `aws sso login` and `gcloud auth login` do (RFC 8252). tvm listens on 127.0.0.1 on a free port,
// sends the browser to the issuer, and takes the code the issuer redirects back with: the `state`
// must be the one sent, the code is redeemed with the verifier only tvm knows, and the ID token's
// `nonce` must be the one sent. Asked for a sign-in no older than `max_age` (a step-up, RFC 9470),
// the token's `auth_time` must show one (OpenID Connect Core 3.1.2.1). Nothing is verified beyond
// that: the API verifies the token fully.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError, EXIT } from './errors.js';

/** How long tvm waits for the browser to come back. */
const DEFAULT_WAIT_MS = 5 * 60_000;
/** Discovery and the token endpoint answer within this, or the login fails. */
const ISSUER_TIMEOUT_MS = 10_000;
/** How far the issuer's clock may be from ours when `auth_time` is checked against `max_age`. */
const CLOCK_SKEW_SECONDS = 60;

/** The public client id tvm signs in as when the config file names none (the dev issuer takes any). */
export const DEFAULT_CLIENT_ID = 'tvm-cli';

export interface LoginOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** Opens the authorization URL; false when it could not (the URL is then printed). */
  readonly open: (url: string) => Promise<boolean>;
  /** Told the URL to open by hand, when `open` could not. */
  readonly tell: (url: string) => void;
  readonly waitMs?: number;
  /** `max_age`: the sign-in may be at most this old (0: a new one), and `auth_time` must show it. */
  readonly maxAgeSeconds?: number;
  /** `acr_values`, in order of preference. */
  readonly acrValues?: readonly string[];
}

export interface LoginResult {
  readonly token: string;
  /** ISO 8601, from the token's `exp`. */
  readonly expiresAt: string;
  readonly subject?: string;
}

interface Endpoints {
  readonly authorization: string;
  readonly token: string;
}

export async function login(options: LoginOptions): Promise<LoginResult> {
  const endpoints = await discover(options.issuer);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const callback = await listenForCallback(state, options.waitMs ?? DEFAULT_WAIT_MS);
  try {
    const authorize = new URL(endpoints.authorization);
    for (const [name, value] of Object.entries({
      response_type: 'code',
      client_id: options.clientId,
      redirect_uri: callback.redirectUri,
      scope: 'openid',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(options.maxAgeSeconds === undefined ? {} : { max_age: String(options.maxAgeSeconds) }),
      ...(options.acrValues === undefined || options.acrValues.length === 0 ? {} : { acr_values: options.acrValues.join(' ') }),
    })) {
      authorize.searchParams.set(name, value);
    }
    if (!(await options.open(authorize.href))) options.tell(authorize.href);
    const code = await callback.code;
    return await redeem(endpoints.token, {
      code,
      verifier,
      nonce,
      clientId: options.clientId,
      redirectUri: callback.redirectUri,
      ...(options.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.maxAgeSeconds }),
    });
  } finally {
    callback.close();
  }
}

async function discover(issuer: string): Promise<Endpoints> {
  const base = checkedUrl(issuer, 'the issuer');
  const answer = await fetchJson(`${base.href.replace(/\/+$/, '')}/.well-known/openid-configuration`, {});
  const { authorization_endpoint: authorization, token_endpoint: token, issuer: named } = answer as Record<string, unknown>;
  if (typeof authorization !== 'string' || typeof token !== 'string') {
    throw new CliError(`${issuer} publishes no authorization and token endpoints (OpenID discovery)`, EXIT.auth, 'LOGIN_FAILED');
  }
  // A discovery document for another issuer is not this issuer's (OpenID Connect Discovery 1.0, 4.3).
  if (typeof named === 'string' && named.replace(/\/+$/, '') !== issuer.replace(/\/+$/, '')) {
    throw new CliError(`${issuer}'s discovery document names another issuer (${named})`, EXIT.auth, 'LOGIN_FAILED');
  }
  return { authorization: checkedUrl(authorization, 'the authorization endpoint').href, token: checkedUrl(token, 'the token endpoint').href };
}

interface Callback {
  readonly redirectUri: string;
  readonly code: Promise<string>;
  close(): void;
}

/** A one-shot listener on 127.0.0.1 for the issuer's redirect; only a request carrying our `state` counts. */
async function listenForCallback(state: string, waitMs: number): Promise<Callback> {
  let settle: { resolve: (code: string) => void; reject: (error: Error) => void } | undefined;
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') return void res.writeHead(404).end();
    const page = (status: number, text: string) =>
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`${text}\n`);
    // Another page on this machine may aim a request here: without our state it changes nothing.
    if (url.searchParams.get('state') !== state) return page(400, 'This sign-in was not started by this tvm login.');
    const error = url.searchParams.get('error');
    if (error !== null) {
      page(400, `Sign-in failed: ${error}. You can close this tab.`);
      return settle?.reject(new CliError(`the identity provider refused the sign-in: ${error} ${url.searchParams.get('error_description') ?? ''}`.trim(), EXIT.auth, 'LOGIN_FAILED'));
    }
    const received = url.searchParams.get('code');
    if (!received) return page(400, 'The identity provider sent no code.');
    page(200, 'Signed in to tvm. You can close this tab and return to the terminal.');
    settle?.resolve(received);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const timer = setTimeout(() => settle?.reject(new CliError(`no sign-in within ${Math.round(waitMs / 1000)} s; run tvm login again`, EXIT.auth, 'LOGIN_TIMEOUT')), waitMs);
  return {
    redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    code,
    close: () => {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close();
    },
  };
}

async function redeem(
  tokenEndpoint: string,
  request: { readonly code: string; readonly verifier: string; readonly nonce: string; readonly clientId: string; readonly redirectUri: string; readonly maxAgeSeconds?: number },
): Promise<LoginResult> {
  const answer = (await fetchJson(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: request.code,
      redirect_uri: request.redirectUri,
      client_id: request.clientId,
      code_verifier: request.verifier,
    }).toString(),
  })) as { access_token?: unknown; id_token?: unknown };
  if (typeof answer.access_token !== 'string') throw new CliError('the identity provider answered without an access token', EXIT.auth, 'LOGIN_FAILED');
  // The ID token must be the one for this sign-in: an injected code would bring another's nonce.
  if (typeof answer.id_token === 'string' && claimsOf(answer.id_token).nonce !== request.nonce) {
    throw new CliError('the identity provider answered for another sign-in (nonce does not match); run tvm login again', EXIT.auth, 'LOGIN_FAILED');
  }
  const claims = claimsOf(answer.access_token);
  if (typeof claims.exp !== 'number') throw new CliError('the identity provider returned a token without an expiry', EXIT.auth, 'LOGIN_FAILED');
  if (request.maxAgeSeconds !== undefined) {
    // An IdP that ignored max_age hands back the old sign-in, which the API would refuse again.
    const authTime = claimsOf(typeof answer.id_token === 'string' ? answer.id_token : answer.access_token).auth_time;
    if (typeof authTime !== 'number' || Date.now() / 1000 - authTime > request.maxAgeSeconds + CLOCK_SKEW_SECONDS) {
      throw new CliError(
        `the identity provider did not sign you in again within ${request.maxAgeSeconds} s (its token's auth_time is ${typeof authTime === 'number' ? new Date(authTime * 1000).toISOString() : 'missing'})`,
        EXIT.auth,
        'LOGIN_FAILED',
      );
    }
  }
  return {
    token: answer.access_token,
    expiresAt: new Date(claims.exp * 1000).toISOString(),
    ...(typeof claims.sub === 'string' ? { subject: claims.sub } : {}),
  };
}

async function fetchJson(url: string, init: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS) });
  } catch (error) {
    throw new CliError(`cannot reach ${new URL(url).origin}: ${(error as Error).message}`, EXIT.server, 'LOGIN_FAILED', { cause: error });
  }
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok || body === undefined) {
    const why = typeof body?.error === 'string' ? `${body.error} ${typeof body.error_description === 'string' ? body.error_description : ''}`.trim() : `HTTP ${response.status}`;
    throw new CliError(`${new URL(url).origin} refused: ${why}`, EXIT.auth, 'LOGIN_FAILED');
  }
  return body;
}

/** The payload of a JWT, read but not verified (the API verifies it). */
/** A JWT's claims, read, not verified (the API verifies); none when its payload is no JSON object. */
export function claimsOf(token: string): Record<string, unknown> {
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/;

/** https, or plain http on this machine only (the local stack's dev issuer): tokens never travel in clear. */
function checkedUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${what} is not a URL: ${value}`, EXIT.usage, 'BAD_URL');
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname))) return url;
  throw new CliError(`${what} must be https (plain http only on this machine): ${value}`, EXIT.usage, 'BAD_URL');
}
