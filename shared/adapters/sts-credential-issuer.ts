import {
  AssumeRoleCommand,
  PackedPolicyTooLargeException,
  STSServiceException,
  type AssumeRoleCommandOutput,
  type STSClient,
} from '@aws-sdk/client-sts';
import { DurationOutOfRangeError, ScopeTooLargeError, UpstreamStsError } from '../domain/errors.js';
import type { AssumeRoleRequest, IssuedCredentials } from '../domain/model.js';
import type { CredentialIssuer } from '../domain/ports.js';

export interface StsRetryOptions {
  /** Attempts in all, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** No retry starts later than this after the first attempt began. Default 2,000 ms. */
  readonly retryBudgetMs?: number;
  /** Waits (default: a timer); tests pass one that returns at once and records the waits. */
  readonly pause?: (milliseconds: number) => Promise<void>;
  /** 0 ≤ x < 1, for the jitter (default Math.random). */
  readonly random?: () => number;
  /** Milliseconds, for the retry budget (default Date.now). */
  readonly now?: () => number;
}

/** The wait before retry n (1-based): 100–200 ms, then 200–400 ms. */
export function retryDelayMs(retry: number, random: number): number {
  const base = 100 * 2 ** (retry - 1);
  return Math.round(base + base * random);
}

// STS answered these without issuing anything, so asking again cannot mint a second session.
const RETRYABLE_STS_CODES: ReadonlySet<string> = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded']);
// The request never reached STS: no connection, no address, or a TLS handshake that failed before
// anything was sent. (A reset or a timeout once connected may come after STS issued: never retried.)
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * STS AssumeRole, with every failure mapped to a domain error that names the STS code.
 * Retries (bounded in attempts and time) only what STS certainly did not issue: throttling, and
 * requests that never reached it. After a timeout or a 5xx STS may have issued a session that no
 * audit record would name, so those fail at once (the SDK client itself makes one attempt).
 */
export class StsCredentialIssuer implements CredentialIssuer {
  private readonly maxAttempts: number;
  private readonly retryBudgetMs: number;
  private readonly pause: (milliseconds: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    private readonly client: STSClient,
    options: StsRetryOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 3;
    this.retryBudgetMs = options.retryBudgetMs ?? 2_000;
    this.pause = options.pause ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  async assumeRole(request: AssumeRoleRequest): Promise<IssuedCredentials> {
    const output = await this.sendWithRetries(
      () =>
        new AssumeRoleCommand({
          RoleArn: request.roleArn,
          RoleSessionName: request.sessionName,
          SourceIdentity: request.sourceIdentity,
          DurationSeconds: request.durationSeconds,
          Policy: request.policy,
          Tags: request.tags.map((tag) => ({ Key: tag.key, Value: tag.value })),
          ExternalId: request.externalId,
        }),
    );
    const credentials = output.Credentials;
    if (
      !credentials?.AccessKeyId ||
      !credentials.SecretAccessKey ||
      !credentials.SessionToken ||
      !credentials.Expiration ||
      !output.AssumedRoleUser?.Arn
    ) {
      throw new UpstreamStsError('STS returned an incomplete AssumeRole response', {
        details: { stsCode: 'IncompleteResponse' },
      });
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration.toISOString(),
      assumedRoleArn: output.AssumedRoleUser.Arn,
    };
  }

  private async sendWithRetries(command: () => AssumeRoleCommand): Promise<AssumeRoleCommandOutput> {
    const started = this.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        // A fresh command each time: the SDK's middleware keeps per-request state on it.
        return await this.client.send(command());
      } catch (error) {
        const delay = retryDelayMs(attempt, this.random());
        const retry =
          attempt < this.maxAttempts && neverIssued(error) && this.now() - started + delay <= this.retryBudgetMs;
        if (!retry) throw toDomainError(error, attempt);
        await this.pause(delay);
      }
    }
  }
}

/**
 * The connect timeout (patient-agents.ts, in the SDK's words): the socket was destroyed before it
 * connected, so not a byte of the request was sent. Matched on that wording; if it changes, such a
 * timeout is simply not retried (502), never retried wrongly.
 */
const CONNECTION_NEVER_ESTABLISHED = /did not establish a connection/;

/** True when STS certainly issued nothing for this failed request. */
function neverIssued(error: unknown): boolean {
  if (error instanceof STSServiceException) return RETRYABLE_STS_CODES.has(stsCodeOf(error));
  if (error instanceof Error && error.name === 'TimeoutError' && CONNECTION_NEVER_ESTABLISHED.test(error.message)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NEVER_SENT_CODES.has(code);
}

function toDomainError(error: unknown, attempts: number): Error {
  // Modeled STS errors are named after their shape (`PackedPolicyTooLargeException`); the wire
  // code (`PackedPolicyTooLarge`) is on `Code`.
  const code = error instanceof STSServiceException ? stsCodeOf(error) : error instanceof Error ? error.name : 'Unknown';
  const message = error instanceof Error ? error.message : String(error);
  // The role's MaxSessionDuration is below what the profile allows: the caller can ask for less.
  if (code === 'ValidationError' && /DurationSeconds/i.test(message)) {
    return new DurationOutOfRangeError(`STS refused the duration: ${message}`, { cause: error });
  }
  // Policy plus tags exceed STS's packed-size limit: the caller can ask for a narrower scope.
  if (error instanceof PackedPolicyTooLargeException || code === 'PackedPolicyTooLarge') {
    return new ScopeTooLargeError(`the session policy is too large for STS: ${message}`, { cause: error });
  }
  const stsCode = error instanceof STSServiceException ? code : isTimeout(error) ? 'Timeout' : 'NetworkError';
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new UpstreamStsError(`STS AssumeRole failed (${stsCode})${tries}`, { cause: error, details: { stsCode } });
}

function isTimeout(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'TimeoutError' || name === 'RequestTimeout' || name === 'AbortError';
}

function stsCodeOf(error: STSServiceException): string {
  const wire = (error as { Code?: unknown }).Code;
  return typeof wire === 'string' && wire ? wire : error.name;
}
