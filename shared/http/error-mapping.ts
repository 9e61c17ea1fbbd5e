// The one table from domain error codes to HTTP statuses. Every non-2xx body has the shape
// {"error":{"code","message","requestId"}}; codes are stable and documented in the README.
import type { ErrorCode, ErrorDetail } from '../domain/errors.js';
import { TvmError } from '../domain/errors.js';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  VALIDATION_FAILED: 400,
  DURATION_OUT_OF_RANGE: 400,
  SCOPE_TOO_LARGE: 400,
  UNAUTHENTICATED: 401,
  STEP_UP_REQUIRED: 401,
  FORBIDDEN: 403,
  NO_GRANT: 403,
  GRANT_EXPIRED: 403,
  SCOPE_NOT_GRANTED: 403,
  DELEGATION_EXCEEDS_GRANT: 403,
  DELEGATION_QUOTA_EXCEEDED: 403,
  ENGAGEMENT_HANDED_OVER: 403,
  LOCKDOWN_ACTIVE: 403,
  SECOND_APPROVER_REQUIRED: 403,
  NOT_REQUESTABLE: 403,
  SELF_APPROVAL_FORBIDDEN: 403,
  ALREADY_APPROVED: 409,
  REQUEST_ALREADY_DECIDED: 409,
  ALREADY_HANDED_OVER: 409,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  CUT_OFF_PENDING: 409,
  TOO_MANY_PENDING_REQUESTS: 429,
  INTERNAL: 500,
  UPSTREAM_STS_ERROR: 502,
  UPSTREAM_IAM_ERROR: 502,
  ROLE_OUT_OF_REACH: 502,
  FEDERATION_UNAVAILABLE: 502,
  AUDIT_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  IDP_UNAVAILABLE: 503,
  TIMEOUT: 503,
});

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly requestId: string } & Readonly<Record<string, ErrorDetail>>;
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  /** True for failures that are ours, not the caller's: worth an error-level log line. */
  readonly serverFault: boolean;
  /** Response headers the error calls for: Retry-After when it says when to try again, a step-up challenge. */
  readonly headers?: Readonly<Record<string, string>>;
}

export function mapError(error: unknown, requestId: string): MappedError {
  if (error instanceof TvmError) {
    const status = HTTP_STATUS[error.code];
    const retryAfter = error.details?.retryAfterSeconds;
    const headers = {
      // RFC 9110 delay-seconds: a non-negative integer; anything else is left out rather than sent malformed.
      ...(typeof retryAfter === 'number' && Number.isSafeInteger(retryAfter) && retryAfter >= 0 ? { 'retry-after': String(retryAfter) } : {}),
      ...(error.code === 'STEP_UP_REQUIRED' ? { 'www-authenticate': stepUpChallenge(error.message, error.details) } : {}),
    };
    return {
      status,
      body: { error: { ...error.details, code: error.code, message: error.message, requestId } },
      serverFault: status >= 500,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
  }
  // Anything unexpected: a generic message, never the exception text or a stack trace.
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error', requestId } },
    serverFault: true,
  };
}

/**
 * RFC 9470 section 3: `Bearer error="insufficient_user_authentication"`, why, and what would do:
 * `max_age` and, when the issuer names strong ones, `acr_values` (space-separated). Quoted strings
 * carry no `"` or `\\` (RFC 9110 quoted-string): the description is ours, the acr values are
 * configured without them, and anything else is dropped rather than sent malformed.
 */
function stepUpChallenge(message: string, details: Readonly<Record<string, ErrorDetail>> | undefined): string {
  const quoted = (value: string) => `"${value.replace(/["\\\u0000-\u001f\u007f]/g, '')}"`;
  const maxAge = details?.maxAgeSeconds;
  const acrValues = details?.acrValues;
  return [
    'Bearer error="insufficient_user_authentication"',
    `error_description=${quoted(message)}`,
    ...(typeof maxAge === 'number' && Number.isSafeInteger(maxAge) && maxAge >= 0 ? [`max_age=${maxAge}`] : []),
    ...(Array.isArray(acrValues) && acrValues.length > 0 ? [`acr_values=${quoted(acrValues.join(' '))}`] : []),
  ].join(', ');
}
