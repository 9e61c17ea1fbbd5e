// The AWS federation endpoint's getSigninToken over plain fetch (no SDK has it), as aws-vault's
// login does: a GET with the session as JSON in the query. The request carries the session's secret
// and the answer a sign-in token, so neither goes into an error, its cause or a log line.
import { FederationUnavailableError } from '../domain/errors.js';
import type { IssuedCredentials } from '../domain/model.js';
import type { SigninTokenIssuer } from '../domain/ports.js';

export interface FederationOptions {
  /** Default 5 s: well inside the vend function's time, which has already spent an AssumeRole. */
  readonly timeoutMs?: number;
  /** For tests; the platform's fetch otherwise. */
  readonly fetch?: typeof fetch;
}

export class FederationSigninTokenIssuer implements SigninTokenIssuer {
  constructor(
    private readonly endpoint: string,
    private readonly options: FederationOptions = {},
  ) {}

  async getSigninToken(credentials: Pick<IssuedCredentials, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>): Promise<string> {
    const url = new URL(this.endpoint);
    // No SessionDuration: AWS refuses it for role-chained sessions, which all of tvm's are.
    url.search = new URLSearchParams({
      Action: 'getSigninToken',
      Session: JSON.stringify({ sessionId: credentials.accessKeyId, sessionKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken }),
    }).toString();
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    let status: number;
    let body: string;
    try {
      // A redirect is not the endpoint's answer: the session is never sent on.
      const response = await (this.options.fetch ?? fetch)(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
      status = response.status;
      body = await response.text();
    } catch (error) {
      // Only the error's kind: fetch's own messages may quote the URL, session and all.
      const { name, cause } = error as { name?: string; cause?: { code?: unknown } };
      const why = name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : typeof cause?.code === 'string' ? cause.code : 'the request failed';
      throw new FederationUnavailableError(`the AWS federation endpoint could not be reached: ${why}`);
    }
    if (status !== 200) throw new FederationUnavailableError(`the AWS federation endpoint answered HTTP ${status}`);
    let token: unknown;
    try {
      token = (JSON.parse(body) as { SigninToken?: unknown }).SigninToken;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') throw new FederationUnavailableError('the AWS federation endpoint answered no sign-in token');
    return token;
  }
}
