// What e2e tests use to talk to the running stack: its addresses, tokens from its dev issuer,
// and a small JSON client over fetch.
import { readFileSync } from 'node:fs';
import { GetAccessKeyInfoCommand, STSClient } from '@aws-sdk/client-sts';
import { mintDevToken } from '../../../local/dev-issuer.js';
import type { StackInfo } from '../../../local/stack.js';
import { ContractChecker } from '../../fixtures/openapi-conformance.js';

export function stackInfo(): StackInfo {
  const file = process.env.TVM_E2E_STACK_FILE;
  if (!file) throw new Error('TVM_E2E_STACK_FILE is not set: run e2e tests through `npm run test:e2e`');
  return JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
}

export async function tokenFor(sub: string, groups: string[] = [], extraClaims?: Record<string, unknown>) {
  const info = stackInfo();
  return mintDevToken({ dir: info.stateDir, issuer: info.issuer, audience: info.audience, sub, groups, extraClaims });
}

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

let checker: ContractChecker | undefined;
const contract = () => (checker ??= new ContractChecker());

export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const url = new URL(`${stackInfo().apiUrl}${path}`);
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  // Every answer, refusals to hostile requests included, must be one docs/openapi.json describes.
  contract().assertConforms({ method, path: url.pathname, status: response.status, contentType: response.headers.get('content-type'), body: text });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Polls `probe` until it finds something (every 250 ms, for at most `timeoutMs`). */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; [key: string]: unknown };
}

/** Asserts the documented error shape and returns it. */
export function expectError(response: ApiResponse<unknown>, status: number, code: string): ErrorBody['error'] {
  const body = response.body as ErrorBody;
  expect({ status: response.status, code: body?.error?.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe('string');
  expect(body.error.requestId).toMatch(/^[\w-]{8,}$/);
  expect(response.text).not.toMatch(/\s+at\s.+\(.+:\d+:\d+\)/); // never a stack trace
  return body.error;
}

export const ADMIN_GROUPS = ['tvm-admin'];
export const SECURITY_GROUPS = ['tvm-security'];

/** An STS client on the local endpoint signing with vended credentials. */
export function stsWith(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }): STSClient {
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  return new STSClient({
    endpoint: stackInfo().stsEndpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey, sessionToken },
  });
}

/** Whether AWS (the local endpoint) still honours the credentials for a call a Deny can stop. */
export async function keyWorks(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }): Promise<boolean> {
  try {
    await stsWith(credentials).send(new GetAccessKeyInfoCommand({ AccessKeyId: credentials.accessKeyId }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'AccessDenied') return false;
    throw error;
  }
}

/** A dev-only route of the local loop (StackInfo.loopControlUrl): its JSON answer, or undefined for 204. */
export async function loopControl<T>(route: string): Promise<T> {
  const response = await fetch(`${stackInfo().loopControlUrl}${route}`, { method: 'POST' });
  expect(response.ok).toBe(true);
  return (response.status === 204 ? undefined : await response.json()) as T;
}
