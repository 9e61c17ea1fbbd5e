// A local stand-in for the AWS federation endpoint (https://signin.aws.amazon.com/federation), for
// development and tests only, served by the local STS listener under /federation:
// - `?Action=getSigninToken&Session={"sessionId","sessionKey","sessionToken"}` answers
//   `{"SigninToken": …}` only for a session the local STS would honour now: one it issued (key,
//   secret and token), unexpired, and not denied by its role's inline policies (cut off by tvm).
//   Like AWS with role-chained sessions (all of tvm's), it refuses SessionDuration.
// - `?Action=login&Issuer=…&Destination=…&SigninToken=…` spends the token (once, within 15 minutes,
//   the session checked again) and answers a page naming the assumed-role session signed in and the
//   destination, which must lie under the console stand-in, /federation/console/.
// Refusals are non-200 answers with a text body.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const FEDERATION_PATH = '/federation';
/** Where destinations land: the stand-in for https://console.aws.amazon.com/. */
export const CONSOLE_PATH = `${FEDERATION_PATH}/console/`;
/** AWS: a sign-in token must be used within 15 minutes. */
const SIGNIN_TOKEN_LIFETIME_MS = 15 * 60_000;

export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** What the local STS says of a session: live, and whose, or why not. */
export type SessionVerdict =
  | { readonly valid: true; readonly assumedRoleArn: string; readonly expiration: Date }
  | { readonly valid: false; readonly status: number; readonly reason: string };

export interface LocalFederationOptions {
  readonly verifySession: (credentials: SessionCredentials) => SessionVerdict;
  readonly now: () => Date;
  /** The console stand-in's address (CONSOLE_PATH on the listener's own), once it listens. */
  readonly consoleUrl: () => string;
}

interface PendingSignIn {
  readonly credentials: SessionCredentials;
  readonly expires: number;
}

/** The request handler for everything under FEDERATION_PATH. */
export function createLocalFederation(options: LocalFederationOptions): (req: IncomingMessage, res: ServerResponse, url: URL) => void {
  const pending = new Map<string, PendingSignIn>();

  function getSigninToken(params: URLSearchParams): Answer {
    if (params.has('SessionDuration')) {
      return text(400, 'SessionDuration cannot be used with a role-chained session (tvm vends only those): the session lasts as its credentials do');
    }
    const credentials = readSession(params.get('Session'));
    if (credentials === undefined) return text(400, 'Session must be JSON with sessionId, sessionKey and sessionToken');
    const verdict = options.verifySession(credentials);
    if (!verdict.valid) return text(verdict.status, verdict.reason);
    const now = options.now().getTime();
    for (const [token, signIn] of pending) if (signIn.expires <= now) pending.delete(token);
    const token = randomBytes(48).toString('base64url');
    pending.set(token, { credentials, expires: now + SIGNIN_TOKEN_LIFETIME_MS });
    return { status: 200, type: 'application/json', body: JSON.stringify({ SigninToken: token }) };
  }

  function login(params: URLSearchParams): Answer {
    const token = params.get('SigninToken') ?? '';
    const signIn = pending.get(token);
    pending.delete(token);
    if (signIn === undefined || signIn.expires <= options.now().getTime()) {
      return page(400, 'Sign-in refused', '<p>This sign-in link is unknown, expired or already used.</p>');
    }
    const destination = params.get('Destination') ?? '';
    if (!isUnder(destination, options.consoleUrl())) {
      return page(400, 'Sign-in refused', `<p>Destination must be a page of the console stand-in, under ${escapeHtml(options.consoleUrl())}.</p>`);
    }
    const verdict = options.verifySession(signIn.credentials);
    if (!verdict.valid) return page(403, 'Sign-in refused', `<p>The session can no longer sign in: ${escapeHtml(verdict.reason)}.</p>`);
    return page(
      200,
      'Signed in to the local AWS console',
      `<dl>
<dt>Session</dt><dd data-testid="session">${escapeHtml(verdict.assumedRoleArn)}</dd>
<dt>Destination</dt><dd><a data-testid="destination" href="${escapeHtml(destination)}">${escapeHtml(destination)}</a></dd>
<dt>Expires</dt><dd>${escapeHtml(verdict.expiration.toISOString())}</dd>
<dt>Issuer</dt><dd>${escapeHtml(params.get('Issuer') ?? '')}</dd>
</dl>`,
    );
  }

  function answer(req: IncomingMessage, url: URL): Answer {
    if (req.method !== 'GET') return text(405, 'only GET');
    if (url.pathname.startsWith(CONSOLE_PATH)) {
      const at = url.pathname.slice(CONSOLE_PATH.length) + url.search;
      return page(200, 'Local AWS console', `<p>The local stack's stand-in for the AWS console, at <code>${escapeHtml(at)}</code>.</p>`);
    }
    if (url.pathname !== FEDERATION_PATH) return text(404, 'not found');
    const action = url.searchParams.get('Action');
    if (action === 'getSigninToken') return getSigninToken(url.searchParams);
    if (action === 'login') return login(url.searchParams);
    return text(400, 'Action must be getSigninToken or login');
  }

  return (req, res, url) => {
    const { status, type, body } = answer(req, url);
    res.writeHead(status, {
      'content-type': `${type}; charset=utf-8`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };
}

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

const text = (status: number, body: string): Answer => ({ status, type: 'text/plain', body });

function page(status: number, title: string, content: string): Answer {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>
${content}
</main></body></html>
`;
  return { status, type: 'text/html', body };
}

function readSession(raw: string | null): SessionCredentials | undefined {
  let session: unknown;
  try {
    session = JSON.parse(raw ?? '');
  } catch {
    return undefined;
  }
  const { sessionId, sessionKey, sessionToken } = (session ?? {}) as Record<string, unknown>;
  if (typeof sessionId !== 'string' || typeof sessionKey !== 'string' || typeof sessionToken !== 'string') return undefined;
  return { accessKeyId: sessionId, secretAccessKey: sessionKey, sessionToken };
}

/** Whether `url` parses to a page under `base` (same origin, path below). */
function isUnder(url: string, base: string): boolean {
  try {
    const target = new URL(url);
    const root = new URL(base);
    return target.origin === root.origin && target.pathname.startsWith(root.pathname);
  } catch {
    return false;
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
