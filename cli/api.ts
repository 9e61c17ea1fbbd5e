// The one way commands talk to the tvm API: the platform's fetch, the caller's token as a bearer,
// JSON both ways, and every refusal turned into a CliError carrying the API's stable code. A
// step-up refusal (STEP_UP_REQUIRED) may first sign a person in again and send the request once more.
import type { Command } from 'commander';
import { readStepUpChallenge } from '../shared/http/step-up-challenge.js';
import { CliError, EXIT, exitCodeForStatus } from './errors.js';
import { closest, forPeople } from './for-people.js';
import { httpFetch, type HttpFetch, type HttpResponse } from './http-fetch.js';
import type { CliContext } from './context.js';
import { withProgress, type Output } from './output.js';
import { resolveSettings, type GlobalOptions, type Settings } from './settings.js';
import { stepUpRequired, type StepUpRequiredError } from './step-up.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** Preconditions of a change: `if-match`, `if-none-match`. */
  readonly headers?: Readonly<Partial<Record<'if-match' | 'if-none-match', string>>>;
}

export interface ApiClient {
  readonly url: string;
  /** Resolves with the parsed JSON body (undefined for an empty one); rejects with a CliError. */
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
}

export interface ApiClientOptions {
  readonly stderr: Output;
  readonly signal?: AbortSignal;
  /** For tests; node:http(s) otherwise (http-fetch.ts). */
  readonly fetch?: HttpFetch | undefined;
  /** Signs the person in again as a STEP_UP_REQUIRED refusal asks, answering the new token; the request is then sent once more. */
  readonly stepUp?: StepUp | undefined;
}

export type StepUp = (refusal: StepUpRequiredError) => Promise<string>;

const REQUEST_TIMEOUT_MS = 30_000;
const API_ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export function createApiClient(settings: Settings, options: ApiClientOptions): ApiClient {
  const fetchImpl = options.fetch ?? httpFetch;
  // After a step-up, the new token; one step-up per run, so a refusal that persists is reported.
  let steppedUpToken: string | undefined;

  const send = async (method: string, path: string, request: RequestOptions, token: string) => {
    const url = buildUrl(settings.url, path, request.query);
    const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const headers: Record<string, string> = { ...request.headers, accept: 'application/json', authorization: `Bearer ${token}` };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await withProgress(
        options.stderr,
        `${method} ${path}`,
        fetchImpl(url, { method, headers, body: request.body === undefined ? undefined : JSON.stringify(request.body), signal }).then(
          async (response) => ({ response, text: await response.text() }),
        ),
      );
    } catch (error) {
      // The cause's message never holds the token: fetch errors name the URL and the network failure.
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : describeNetworkError(error);
      throw new CliError(`cannot reach ${settings.url}: ${reason}`, EXIT.server, 'UNREACHABLE', { cause: error });
    }
  };

  return {
    url: settings.url,
    async request<T>(method: string, path: string, request: RequestOptions = {}): Promise<T> {
      let { response, text } = await send(method, path, request, steppedUpToken ?? (await settings.token()));
      let refusal = response.ok ? undefined : stepUpRefusal(response, text, settings);
      if (refusal !== undefined && options.stepUp !== undefined && steppedUpToken === undefined) {
        steppedUpToken = await options.stepUp(refusal);
        ({ response, text } = await send(method, path, request, steppedUpToken));
        refusal = response.ok ? undefined : stepUpRefusal(response, text, settings);
      }
      if (refusal !== undefined) throw refusal;
      if (!response.ok) throw apiError(response.status, text);
      if (text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new CliError(`${method} ${path}: the API answered ${response.status} with a body that is not JSON`, EXIT.server, 'BAD_RESPONSE', { cause: error });
      }
    },
  };
}

/** A STEP_UP_REQUIRED refusal (its WWW-Authenticate challenge, else its body), as one line for the token's source; else undefined. */
function stepUpRefusal(response: HttpResponse, text: string, settings: Settings): StepUpRequiredError | undefined {
  const body = parseJson(text);
  const challenge = readStepUpChallenge(response.headers?.get('www-authenticate'), body);
  if (challenge === undefined) return undefined;
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return stepUpRequired(typeof message === 'string' ? forPeople(oneLine(message)) : undefined, challenge, settings.tokenSource);
}

/**
 * A fresh sign-in for a person at a terminal whose token is the one `tvm login` kept: in the
 * browser, as the challenge asks. Never for a token from TVM_TOKEN or a token_command (tvm cannot
 * renew those), nor without a terminal: the AWS CLI's credential_process has nobody to sign in.
 */
export function signInAgainFor(context: CliContext, settings: Settings): StepUp | undefined {
  if (settings.tokenSource !== 'login' || context.atTerminal?.() !== true) return undefined;
  return async (refusal) => (await import('./step-up-sign-in.js')).signInAgain(context, refusal);
}

/** Settings from the command's global options, then a client: what most commands start with. */
export async function connect(context: CliContext, command: Command): Promise<ApiClient> {
  const settings = await resolveSettings(context, command.optsWithGlobals<GlobalOptions>());
  return createApiClient(settings, { stderr: context.stderr, fetch: context.fetch, stepUp: signInAgainFor(context, settings) });
}

export function buildUrl(base: string, path: string, query: Query = {}): string {
  const url = new URL(base.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/**
 * Rethrows `error`; a profile the API does not know comes back with the names the caller can use
 * that are closest to it (from GET /me: a typo is the likeliest reason).
 */
export async function suggestProfiles(api: ApiClient, profile: string, error: unknown): Promise<never> {
  if (!(error instanceof CliError) || error.code !== 'NOT_FOUND') throw error;
  const usable = await api.request<{ grants?: { profile?: unknown }[] }>('GET', '/me').then(
    (me) => (me?.grants ?? []).flatMap((grant) => (typeof grant.profile === 'string' ? [grant.profile] : [])),
    () => [],
  );
  const near = closest(profile, usable);
  const hint =
    near.length > 0 ? `; did you mean ${near.map((name) => `"${name}"`).join(' or ')}? (tvm me lists yours)` : usable.length > 0 ? '; tvm me lists the profiles you can use' : '';
  throw new CliError(`${error.message}${hint}`, error.exitCode, error.code, { cause: error });
}

/** `{error:{code,message}}` when the API wrote it; otherwise the status says what happened. */
export function apiError(status: number, body: string): CliError {
  const exitCode = exitCodeForStatus(status);
  const parsed = parseJson(body);
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string' && API_ERROR_CODE.test(error.code) && typeof error.message === 'string') {
    const hint = error.code === 'UNAUTHENTICATED' ? `; ${SIGN_IN_AGAIN}` : '';
    return new CliError(`${forPeople(oneLine(error.message))}${hint}`, exitCode, error.code);
  }
  const edge = EDGE_REFUSALS[status];
  if (edge && (parsed as { message?: unknown } | undefined)?.message !== undefined) return new CliError(edge.message, exitCode, edge.code);
  return new CliError(`the API answered HTTP ${status}`, exitCode, `HTTP_${status}`);
}

/** How to get a token the API takes. */
const SIGN_IN_AGAIN = 'sign in again with tvm login (or refresh TVM_TOKEN / token_command; locally: tvm dev-token --sub <you>)';

/** What API Gateway answers itself, before any function (its body: {"message": …}). */
const EDGE_REFUSALS: Readonly<Record<number, { readonly code: string; readonly message: string }>> = {
  401: {
    code: 'UNAUTHENTICATED',
    message: `the API's gateway refused the token (expired, or not from the issuer it trusts): ${SIGN_IN_AGAIN}, or check --url`,
  },
  429: { code: 'THROTTLED', message: 'the API is throttling requests: try again shortly' },
};

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').slice(0, 2000);
}
