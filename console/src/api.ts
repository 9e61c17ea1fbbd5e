// Calls to tvm's API with the signed-in token. Every refusal keeps its stable code and message, so
// a page shows what the API said, never a blank; a step-up refusal also carries its challenge.
import { readStepUpChallenge, type StepUpChallenge } from '../../shared/http/step-up-challenge.js';
import { currentSession } from './auth.js';
import { consoleConfig } from './config.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** `STEP_UP_REQUIRED`: the action needs a more recent or stronger sign-in, as `challenge` says (step-up.ts). */
export class StepUpRequiredError extends ApiError {
  constructor(
    status: number,
    message: string,
    readonly challenge: StepUpChallenge,
  ) {
    super(status, 'STEP_UP_REQUIRED', message);
  }
}

/**
 * A file the API produces (an export): saved by the browser under the name the API gave it. Says
 * how many events it holds and, when more matched than one export holds, where the next starts.
 */
export async function download(path: string): Promise<{ count: number; nextCursor?: string }> {
  const session = currentSession();
  if (session === undefined) throw new ApiError(401, 'UNAUTHENTICATED', 'your sign-in has expired: sign in again');
  const { apiUrl } = await consoleConfig();
  const response = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${session.token}` } });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(response.status, body.error?.code ?? `HTTP_${response.status}`, body.error?.message ?? response.statusText);
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'tvm-export';
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  const nextCursor = response.headers.get('x-tvm-next-cursor') ?? undefined;
  return { count: Number(response.headers.get('x-tvm-export-count') ?? 0), ...(nextCursor ? { nextCursor } : {}) };
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const session = currentSession();
  if (session === undefined) throw new ApiError(401, 'UNAUTHENTICATED', 'your sign-in has expired: sign in again');
  const { apiUrl } = await consoleConfig();
  const response = await fetch(`${apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${session.token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string }; message?: string } | undefined) ?? {};
    // The header is RFC 9470's; the body's details stand in when the API is on another origin that does not expose it.
    const challenge = readStepUpChallenge(response.headers.get('www-authenticate'), body);
    if (challenge !== undefined) throw new StepUpRequiredError(response.status, error.error?.message ?? challenge.description ?? 'this needs a more recent sign-in', challenge);
    throw new ApiError(response.status, error.error?.code ?? `HTTP_${response.status}`, error.error?.message ?? error.message ?? (text || response.statusText));
  }
  return body as T;
}
