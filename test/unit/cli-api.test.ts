// The CLI's API client with a fake fetch (no network): the request it sends, and how each kind of
// failure becomes a CliError with the API's code and a distinct exit code.
import { apiError, buildUrl, createApiClient } from '../../cli/api.js';
import { CliError, EXIT, exitCodeForStatus } from '../../cli/errors.js';

interface Sent {
  readonly url: string;
  readonly init: RequestInit;
}

function fakeFetch(answer: () => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(url), init: init ?? {} });
    return answer();
  }) as typeof fetch;
  return { sent, impl };
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

const settings = { url: 'https://tvm.example.com', token: async () => 'the-token' };
const quiet = { write: () => true };

async function failureOf(work: Promise<unknown>): Promise<CliError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

describe('createApiClient', () => {
  it('sends the bearer token, a JSON body and the query, and returns the parsed answer', async () => {
    // Prepare
    const { sent, impl } = fakeFetch(() => jsonResponse(200, { ok: true }));
    const api = createApiClient(settings, { stderr: quiet, fetch: impl });

    // Act
    const answer = await api.request('POST', '/grants', { query: { profile: 'a b', limit: 5, cursor: undefined }, body: { x: 1 } });

    // Assess
    expect(answer).toEqual({ ok: true });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe('https://tvm.example.com/grants?profile=a+b&limit=5');
    expect(sent[0]?.init).toMatchObject({
      method: 'POST',
      headers: { authorization: 'Bearer the-token', 'content-type': 'application/json', accept: 'application/json' },
      body: '{"x":1}',
    });
  });

  it('returns undefined for an empty answer (204)', async () => {
    // Prepare
    const { impl } = fakeFetch(() => new Response(null, { status: 204 }));

    // Act
    const answer = await createApiClient(settings, { stderr: quiet, fetch: impl }).request('DELETE', '/lockdown');

    // Assess
    expect(answer).toBeUndefined();
  });

  it.each([
    [401, 'UNAUTHENTICATED', EXIT.auth],
    [400, 'VALIDATION_FAILED', EXIT.refused],
    [403, 'NO_GRANT', EXIT.refused],
    [404, 'NOT_FOUND', EXIT.refused],
    [409, 'CONFLICT', EXIT.refused],
    [413, 'PAYLOAD_TOO_LARGE', EXIT.refused],
    [429, 'THROTTLED', EXIT.refused],
    [500, 'INTERNAL', EXIT.server],
    [502, 'UPSTREAM_STS_ERROR', EXIT.server],
    [503, 'AUDIT_UNAVAILABLE', EXIT.server],
  ])('maps %i %s to exit code %i with the API code and message', async (status, code, exit) => {
    // Prepare
    const { impl } = fakeFetch(() => jsonResponse(status, { error: { code, message: `because ${code}`, requestId: 'r-1' } }));

    // Act
    const error = await failureOf(createApiClient(settings, { stderr: quiet, fetch: impl }).request('GET', '/me'));

    // Assess
    const hint = code === 'UNAUTHENTICATED' ? '; sign in again with tvm login (or refresh TVM_TOKEN / token_command; locally: tvm dev-token --sub <you>)' : '';
    expect({ exitCode: error.exitCode, code: error.code, message: error.message }).toEqual({ exitCode: exit, code, message: `because ${code}${hint}` });
  });

  it.each([
    ['body.validUntil: must be in the future', '--valid-until: must be in the future'],
    ['body.durationSeconds: 60 is below 900', '--duration: 60 is below 900'],
    ['body.scope.actions.0: not an IAM action', '--action: not an IAM action'],
    ['body.subject.id: too long', '--user or --group: too long'],
    ['query.accessKeyId: not an access key id', '--access-key-id: not an access key id'],
    ['profile "prod" is locked down; see GET /lockdown', 'profile "prod" is locked down; see tvm lockdown status'],
  ])('says %j in the CLI’s words: %j', async (said, shown) => {
    // Prepare
    const { impl } = fakeFetch(() => jsonResponse(400, { error: { code: 'VALIDATION_FAILED', message: said, requestId: 'r-1' } }));

    // Act
    const error = await failureOf(createApiClient(settings, { stderr: quiet, fetch: impl }).request('POST', '/grants', { body: {} }));

    // Assess
    expect(error.message).toBe(shown);
  });

  it('names the status when the error body is not the API error shape', async () => {
    // Prepare
    const { impl } = fakeFetch(() => new Response('<html>Bad Gateway</html>', { status: 502 }));

    // Act
    const error = await failureOf(createApiClient(settings, { stderr: quiet, fetch: impl }).request('GET', '/me'));

    // Assess
    expect({ exitCode: error.exitCode, code: error.code, message: error.message }).toEqual({
      exitCode: EXIT.server,
      code: 'HTTP_502',
      message: 'the API answered HTTP 502',
    });
  });

  it('is a server error naming the URL, never the token, when the API cannot be reached', async () => {
    // Prepare
    const { impl } = fakeFetch(() => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    });

    // Act
    const error = await failureOf(createApiClient(settings, { stderr: quiet, fetch: impl }).request('GET', '/me'));

    // Assess
    expect(error.exitCode).toBe(EXIT.server);
    expect(error.code).toBe('UNREACHABLE');
    expect(error.message).toBe('cannot reach https://tvm.example.com: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:9)');
    expect(error.message).not.toContain('the-token');
  });

  it('is a server error when a 2xx body is not JSON', async () => {
    // Prepare
    const { impl } = fakeFetch(() => new Response('ok', { status: 200 }));

    // Act
    const error = await failureOf(createApiClient(settings, { stderr: quiet, fetch: impl }).request('GET', '/me'));

    // Assess
    expect({ exitCode: error.exitCode, code: error.code }).toEqual({ exitCode: EXIT.server, code: 'BAD_RESPONSE' });
  });

  it('fails with the token error before sending anything when there is no token', async () => {
    // Prepare
    const { sent, impl } = fakeFetch(() => jsonResponse(200, {}));
    const noToken = { url: settings.url, token: async () => Promise.reject(new CliError('no token', EXIT.auth, 'NO_TOKEN')) };

    // Act
    const error = await failureOf(createApiClient(noToken, { stderr: quiet, fetch: impl }).request('GET', '/me'));

    // Assess
    expect(error.exitCode).toBe(EXIT.auth);
    expect(sent).toHaveLength(0);
  });
});

describe('apiError and exitCodeForStatus', () => {
  it('strips control characters from the message so a refusal cannot rewrite the terminal', () => {
    // Act
    const error = apiError(403, JSON.stringify({ error: { code: 'NO_GRANT', message: 'no\u001b[2Jgrant\nhere' } }));

    // Assess
    expect(error.message).toBe('no [2Jgrant here');
  });

  it('does not take a code that is not an API code', () => {
    // Act
    const error = apiError(403, JSON.stringify({ error: { code: 'x\ny', message: 'm' } }));

    // Assess
    expect(error.code).toBe('HTTP_403');
  });

  // API Gateway answers these itself, before any function, with a body of its own.
  it.each([
    [401, 'UNAUTHENTICATED', EXIT.auth, /sign in again/],
    [429, 'THROTTLED', EXIT.refused, /try again/],
  ])("says what to do about the edge's own %i", (status, code, exitCode, hint) => {
    // Act
    const error = apiError(status, JSON.stringify({ message: status === 401 ? 'Unauthorized' : 'Too Many Requests' }));

    // Assess
    expect({ code: error.code, exitCode: error.exitCode }).toEqual({ code, exitCode });
    expect(error.message).toMatch(hint);
  });

  it('gives usage, auth, refused and server distinct codes', () => {
    // Act / Assess
    expect(new Set([EXIT.usage, EXIT.auth, EXIT.refused, EXIT.server, EXIT.unexpected, EXIT.ok]).size).toBe(6);
    expect([401, 403, 404, 500, 503].map(exitCodeForStatus)).toEqual([EXIT.auth, EXIT.refused, EXIT.refused, EXIT.server, EXIT.server]);
  });
});

describe('buildUrl', () => {
  it('joins base and path without doubling slashes and skips undefined query values', () => {
    // Act / Assess
    expect(buildUrl('http://localhost:3000/', '/audit/keys/ASIA1', { from: undefined, limit: 10 })).toBe('http://localhost:3000/audit/keys/ASIA1?limit=10');
  });
});
