// The API client's transport: the part of fetch it uses, over node:http and node:https. Node's own
// fetch loads and compiles undici on its first call, 50-200 ms, which a `credential_process` call
// that misses the cache would spend on top of the API's round trip.

export interface HttpRequestInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | undefined;
  readonly signal: AbortSignal;
}

export interface HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  /** Its headers by (case-insensitive) name; fetch's Response fits. */
  readonly headers?: { get(name: string): string | null };
  text(): Promise<string>;
}

/** What the API client calls to send a request; tests pass a fake (the platform's fetch fits). */
export type HttpFetch = (url: string, init: HttpRequestInit) => Promise<HttpResponse>;

/**
 * Sends one request, following no redirect. Fails as fetch does: with the signal's reason when it
 * aborts (a TimeoutError for AbortSignal.timeout), else a TypeError whose cause is the network error.
 */
export const httpFetch: HttpFetch = async (url, init) => {
  const target = new URL(url);
  // Only the module the URL needs: node:https brings TLS, which the local stack does not.
  const { request } = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<HttpResponse>((resolve, reject) => {
    if (init.signal.aborted) return reject(init.signal.reason);
    // A length, as fetch sends: without one node:http frames no body for DELETE (DELETE /lockdown has one).
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
    const req = request(target, { method: init.method, headers, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => reject(failure(error, init.signal)));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = {
          get: (name: string) => {
            const value = res.headers[name.toLowerCase()];
            return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
          },
        };
        resolve({ ok: status >= 200 && status < 300, status, headers, text: async () => body });
      });
    });
    req.on('error', (error) => reject(failure(error, init.signal)));
    req.end(init.body);
  });
};

function failure(error: Error, signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: error });
}
