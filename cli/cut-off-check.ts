// Whether cached credentials may still be handed out: tvm raises a cut-off epoch with every decision
// that revokes a grant or cuts sessions off, and each vend answers the epoch it read its rules at.
// Before a cached credential leaves the cache, one conditional GET /cut-off-epoch asks whether that
// epoch is still current: `304` (no cut-off decided since) lets it out, anything else sends the call
// to a fresh vend, which answers new credentials or the API's refusal. It fails closed: an API that
// cannot be asked lets nothing out of the cache.
//
// The question is asked on a bare socket, reading only the status line: node:http's client costs a
// cached call (which the AWS CLI makes before every command) ~2× the time. Any answer but `304` is
// asked again through the API client's transport (http-fetch.ts), which reads it in full.
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import type * as Tls from 'node:tls';
import { CliError, EXIT } from './errors.js';
import { httpFetch, type HttpFetch } from './http-fetch.js';

// node:tls only for an https API, and through require: import() would start Node's ESM loader
// in the packed bin/tvm.cjs, a few milliseconds of every cached call.
const require = createRequire(import.meta.url);

const CHECK_TIMEOUT_MS = 10_000;
/** A status line, and no more of the answer than that is read. */
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})[ \r]/;
const MAX_STATUS_LINE_BYTES = 1024;
/** What may go in a header value here: a JWT's characters and more, never a line break. */
const HEADER_VALUE = /^[\x21-\x7e]+$/;

export interface CutOffCheck {
  readonly url: string;
  readonly token: string;
  /** Tests: asks through this instead (full answers only). */
  readonly fetch?: HttpFetch | undefined;
}

/** True when no cut-off has been decided since `epoch`; false when one has; a CliError when the API cannot say. */
export async function noCutOffSince(check: CutOffCheck, epoch: number): Promise<boolean> {
  const url = new URL(`${check.url.replace(/\/+$/, '')}/cut-off-epoch`);
  const headers = { accept: 'application/json', authorization: `Bearer ${check.token}`, 'if-none-match': `"${epoch}"` };
  try {
    if (check.fetch === undefined && HEADER_VALUE.test(check.token) && (await statusOf(url, headers)) === 304) return true;
    const response = await (check.fetch ?? httpFetch)(url.toString(), { method: 'GET', headers, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    const text = await response.text();
    if (response.status === 304) return true;
    // A 200 naming the same epoch says the same (a proxy may drop If-None-Match); any other, not.
    if (response.status === 200) return epochOf(text) === epoch;
    const { apiError } = await import('./api.js');
    throw apiError(response.status, text);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s` : networkReason(error);
    throw new CliError(
      `cannot reach ${check.url} to check that the cached credentials have not been cut off (${reason}); nothing was handed out`,
      EXIT.server,
      'UNREACHABLE',
      { cause: error },
    );
  }
}

/** The status of a GET, from its status line alone (HTTP/1.1 over TCP, or TLS for https). */
async function statusOf(url: URL, headers: Record<string, string>): Promise<number> {
  const secure = url.protocol === 'https:';
  const port = Number(url.port) || (secure ? 443 : 80);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const socket = secure
    ? (require('node:tls') as typeof Tls).connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host })
    : connect({ host, port });
  const request =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    'connection: close\r\n\r\n';
  return new Promise<number>((resolve, reject) => {
    let head = '';
    // However the answer trickles in, it is over within the limit (unref'd: it keeps nothing alive).
    const timer = setTimeout(() => fail(Object.assign(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`), { name: 'TimeoutError' })), CHECK_TIMEOUT_MS).unref();
    const settle = (status: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    function fail(error: Error) {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }
    socket.setEncoding('latin1');
    socket.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
    socket.on('data', (chunk: string) => {
      head += chunk;
      const end = head.indexOf('\n');
      if (end === -1 && head.length < MAX_STATUS_LINE_BYTES) return;
      const status = STATUS_LINE.exec(head.slice(0, end === -1 ? undefined : end + 1));
      // Not HTTP as expected: the full client asks again and says what is wrong.
      settle(status ? Number(status[1]) : 0);
    });
    // Closed before a status line: the full client asks again. (After settling, these change nothing.)
    socket.on('end', () => settle(0));
    socket.on('close', () => settle(0));
    socket.write(request);
  });
}

function epochOf(text: string): number | undefined {
  try {
    const epoch = (JSON.parse(text) as { cutOffEpoch?: unknown } | null)?.cutOffEpoch;
    return typeof epoch === 'number' ? epoch : undefined;
  } catch {
    return undefined;
  }
}

function networkReason(error: unknown): string {
  const cause = error instanceof Error ? (error as { cause?: unknown }).cause : undefined;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return error instanceof Error ? error.message : String(error);
}
