// Sign-in: OIDC authorization code with PKCE (S256), `state` and `nonce`, against the configured
// issuer. The token lives in sessionStorage (this tab, until it closes) and in memory, never in
// localStorage and never in a URL after sign-in; the path being visited rides through `state`.
// A step-up sign-in asks for `max_age` (and `acr_values`), and the new token's `auth_time` must
// show a sign-in that recent (OpenID Connect Core 3.1.2.1).
import { consoleConfig } from './config.js';

const TOKEN_KEY = 'tvm.token';
const PENDING_KEY = 'tvm.signin';
export const CALLBACK_PATH = 'callback';
/** How far the issuer's clock may be from this browser's when `auth_time` is checked. */
const CLOCK_SKEW_SECONDS = 60;

interface Pending {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly returnTo: string;
  readonly maxAgeSeconds?: number;
}

/** What a step-up asks of the sign-in (RFC 9470): at most this old, with one of these ACRs. */
export interface FreshSignIn {
  readonly maxAgeSeconds: number;
  readonly acrValues?: readonly string[];
}

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

export interface Session {
  readonly token: string;
  readonly principal: string;
  readonly groups: readonly string[];
  readonly expiresAt: number;
}

const redirectUri = () => `${location.origin}${import.meta.env.BASE_URL}${CALLBACK_PATH}`;

function randomText(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function discovery(): Promise<Discovery> {
  const { issuer } = await consoleConfig();
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the identity provider's discovery document could not be read (HTTP ${response.status})`);
  return (await response.json()) as Discovery;
}

/** The claims of a JWT, unverified: the API verifies; the console only reads who and until when. */
function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(decodeURIComponent(Array.from(json, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''))) as Record<string, unknown>;
}

function sessionOf(token: string): Session | undefined {
  try {
    const claims = claimsOf(token);
    const expiresAt = Number(claims.exp) * 1000;
    if (!(expiresAt > Date.now())) return undefined;
    const groups = Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : [];
    return { token, principal: String(claims.sub ?? ''), groups, expiresAt };
  } catch {
    return undefined;
  }
}

/** The signed-in session of this tab, if its token has not expired. */
export function currentSession(): Session | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const session = token === null ? undefined : sessionOf(token);
  if (token !== null && session === undefined) sessionStorage.removeItem(TOKEN_KEY);
  return session;
}

/** Sends the browser to the issuer; `returnTo` (a path under the console) is where it comes back to. */
export async function signIn(returnTo: string, fresh?: FreshSignIn): Promise<never> {
  const [{ clientId }, endpoints] = await Promise.all([consoleConfig(), discovery()]);
  const pending: Pending = {
    state: randomText(16),
    nonce: randomText(16),
    verifier: randomText(48),
    returnTo,
    ...(fresh === undefined ? {} : { maxAgeSeconds: fresh.maxAgeSeconds }),
  };
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(pending.verifier))));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(endpoints.authorization_endpoint);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri(),
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
    ...(fresh === undefined ? {} : { max_age: String(fresh.maxAgeSeconds) }),
    ...(fresh?.acrValues?.length ? { acr_values: fresh.acrValues.join(' ') } : {}),
  })) {
    url.searchParams.set(name, value);
  }
  location.assign(url.toString());
  return new Promise<never>(() => undefined);
}

/**
 * The callback: checks `state`, redeems the code with the verifier, checks the `nonce`, keeps the
 * token and answers the path to go back to. The code never stays in the address bar.
 */
export async function completeSignIn(search: string): Promise<string> {
  const params = new URLSearchParams(search);
  const pendingText = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, '', `${import.meta.env.BASE_URL}${CALLBACK_PATH}`);
  const pending = pendingText === null ? undefined : (JSON.parse(pendingText) as Pending);
  const error = params.get('error');
  if (error !== null) throw new Error(`the identity provider refused the sign-in: ${error} ${params.get('error_description') ?? ''}`.trim());
  if (pending === undefined || params.get('state') !== pending.state) throw new Error('this sign-in was not started here (state does not match): sign in again');
  const [{ clientId }, endpoints] = await Promise.all([consoleConfig(), discovery()]);
  const response = await fetch(endpoints.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code') ?? '', redirect_uri: redirectUri(), client_id: clientId, code_verifier: pending.verifier }),
  });
  const answer = (await response.json().catch(() => ({}))) as { access_token?: string; id_token?: string; error?: string; error_description?: string };
  if (!response.ok || answer.access_token === undefined) throw new Error(`the sign-in could not be completed: ${answer.error ?? response.status} ${answer.error_description ?? ''}`.trim());
  if (answer.id_token !== undefined && claimsOf(answer.id_token).nonce !== pending.nonce) throw new Error('the identity provider answered for another sign-in (nonce does not match): sign in again');
  if (sessionOf(answer.access_token) === undefined) throw new Error('the identity provider returned an expired or unreadable token');
  if (pending.maxAgeSeconds !== undefined) {
    // An IdP that ignored max_age hands back the old sign-in, which the API would refuse again.
    const authTime = claimsOf(answer.id_token ?? answer.access_token).auth_time;
    if (typeof authTime !== 'number' || Date.now() / 1000 - authTime > pending.maxAgeSeconds + CLOCK_SKEW_SECONDS) {
      throw new Error(`the identity provider did not sign you in again within ${pending.maxAgeSeconds} s, as this action needs: sign in again`);
    }
  }
  sessionStorage.setItem(TOKEN_KEY, answer.access_token);
  return pending.returnTo;
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}
