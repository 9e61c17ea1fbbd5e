// Domain errors. Each carries a stable `code`; shared/http/error-mapping.ts is the one table that
// turns a code into an HTTP status. Messages are safe to show to callers: never a secret, never a
// stack trace.

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'DURATION_OUT_OF_RANGE'
  | 'SCOPE_TOO_LARGE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NO_GRANT'
  | 'GRANT_EXPIRED'
  | 'SCOPE_NOT_GRANTED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UPSTREAM_STS_ERROR'
  | 'AUDIT_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'IDP_UNAVAILABLE'
  | 'TIMEOUT'
  | 'DELEGATION_EXCEEDS_GRANT'
  | 'DELEGATION_QUOTA_EXCEEDED'
  | 'UPSTREAM_IAM_ERROR'
  | 'ROLE_OUT_OF_REACH'
  | 'FEDERATION_UNAVAILABLE'
  | 'ENGAGEMENT_HANDED_OVER'
  | 'ALREADY_HANDED_OVER'
  | 'LOCKDOWN_ACTIVE'
  | 'SECOND_APPROVER_REQUIRED'
  | 'RATE_LIMITED'
  | 'CUT_OFF_PENDING'
  | 'NOT_REQUESTABLE'
  | 'SELF_APPROVAL_FORBIDDEN'
  | 'ALREADY_APPROVED'
  | 'REQUEST_ALREADY_DECIDED'
  | 'TOO_MANY_PENDING_REQUESTS'
  | 'STEP_UP_REQUIRED'
  | 'INTERNAL';

/** A value an error may tell the caller. */
export type ErrorDetail = string | number | readonly string[];

export abstract class TvmError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra fields safe to return to the caller inside `error` (e.g. the STS error code). */
  readonly details: Readonly<Record<string, ErrorDetail>> | undefined;

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, ErrorDetail> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options?.details;
  }
}

export class ValidationError extends TvmError {
  readonly code = 'VALIDATION_FAILED';
}
export class DurationOutOfRangeError extends TvmError {
  readonly code = 'DURATION_OUT_OF_RANGE';
}
export class ScopeTooLargeError extends TvmError {
  readonly code = 'SCOPE_TOO_LARGE';
}
export class UnauthenticatedError extends TvmError {
  readonly code = 'UNAUTHENTICATED';
}
export class ForbiddenError extends TvmError {
  readonly code = 'FORBIDDEN';
}
export class NoGrantError extends TvmError {
  readonly code = 'NO_GRANT';
}
export class GrantExpiredError extends TvmError {
  readonly code = 'GRANT_EXPIRED';
}
export class ScopeNotGrantedError extends TvmError {
  readonly code = 'SCOPE_NOT_GRANTED';
}
export class NotFoundError extends TvmError {
  readonly code = 'NOT_FOUND';
}
export class ConflictError extends TvmError {
  readonly code = 'CONFLICT';
}
/** An If-Match or If-None-Match the stored state does not satisfy (the caller read an older one). */
export class PreconditionFailedError extends TvmError {
  readonly code = 'PRECONDITION_FAILED';
}
export class PayloadTooLargeError extends TvmError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}
export class UpstreamStsError extends TvmError {
  readonly code = 'UPSTREAM_STS_ERROR';
}
export class AuditUnavailableError extends TvmError {
  readonly code = 'AUDIT_UNAVAILABLE';
}
export class StoreUnavailableError extends TvmError {
  readonly code = 'STORE_UNAVAILABLE';
}
/** The identity provider's JWKS could not be fetched: our problem, not the caller's. */
export class IdentityProviderUnavailableError extends TvmError {
  readonly code = 'IDP_UNAVAILABLE';
}

/** The request ran out of time (its dependencies were too slow); nothing was issued. */
export class ServiceTimeoutError extends TvmError {
  readonly code = 'TIMEOUT';
}

/** A delegated grant would exceed the delegator's own grant; the message names what exceeded. */
export class DelegationExceedsGrantError extends TvmError {
  readonly code = 'DELEGATION_EXCEEDS_GRANT';
}

/** The delegator already holds as many active delegated grants as the quota allows (TVM_DELEGATION_QUOTA). */
export class DelegationQuotaExceededError extends TvmError {
  readonly code = 'DELEGATION_QUOTA_EXCEEDED';
}

/** IAM refused or failed while tvm was cutting off sessions; the message names the IAM code. */
export class UpstreamIamError extends TvmError {
  readonly code = 'UPSTREAM_IAM_ERROR';
}

/** IAM refused a role policy for the role's inline-policy size quota (LimitExceeded). */
export class RolePolicyLimitError extends UpstreamIamError {}

/**
 * The role is not one tvm's IAM client can change: in another account, or gone. IAM's role APIs
 * take a name only, so writing anyway would write the role of that name in tvm's own account.
 * Trying again cannot help.
 */
export class RoleOutOfReachError extends TvmError {
  readonly code = 'ROLE_OUT_OF_REACH';
}

/**
 * The AWS federation endpoint refused or failed to turn a session into a sign-in token (console
 * sign-in). The issuance was already recorded; no credentials were returned.
 */
export class FederationUnavailableError extends TvmError {
  readonly code = 'FEDERATION_UNAVAILABLE';
}

/** The caller's access to this profile came from an engagement that has been handed over. */
export class EngagementHandedOverError extends TvmError {
  readonly code = 'ENGAGEMENT_HANDED_OVER';
}

/** A second handover; `details` summarise the first. */
export class AlreadyHandedOverError extends TvmError {
  readonly code = 'ALREADY_HANDED_OVER';
}

/** The profile is locked down and the caller is not on the allow list. */
export class LockdownActiveError extends TvmError {
  readonly code = 'LOCKDOWN_ACTIVE';
}

/** Two-person rule: whoever activated the lockdown cannot lift it. */
export class SecondApproverRequiredError extends TvmError {
  readonly code = 'SECOND_APPROVER_REQUIRED';
}

/**
 * The caller used up its vend quota for the current window. Carries `details.retryAfterSeconds`,
 * which the HTTP layer also sends as the Retry-After header.
 */
export class RateLimitedError extends TvmError {
  readonly code = 'RATE_LIMITED';
}

/**
 * A cut-off decided moments ago would deny the session from the moment it exists (its revocations
 * reach sessions issued until shortly after the decision). Carries `details.retryAfterSeconds`.
 */
export class CutOffPendingError extends TvmError {
  readonly code = 'CUT_OFF_PENDING';
}

/** The profile takes no access requests (it has no `requestable` settings). */
export class NotRequestableError extends TvmError {
  readonly code = 'NOT_REQUESTABLE';
}

/** Nobody decides their own access request. */
export class SelfApprovalForbiddenError extends TvmError {
  readonly code = 'SELF_APPROVAL_FORBIDDEN';
}

/** Each approver counts once. */
export class AlreadyApprovedError extends TvmError {
  readonly code = 'ALREADY_APPROVED';
}

/** The request is no longer pending (approved, denied, cancelled, expired or revoked); `details.status` says which. */
export class RequestAlreadyDecidedError extends TvmError {
  readonly code = 'REQUEST_ALREADY_DECIDED';
}

/** The requester already has as many pending requests as one person may (decided or cancelled ones free a place). */
export class TooManyPendingRequestsError extends TvmError {
  readonly code = 'TOO_MANY_PENDING_REQUESTS';
}

/** A trail log file that unzips to more than the cap: reading it again cannot help (ingest-trail-logs.ts rejects it). */
export class TrailObjectTooLargeError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly maxObjectBytes: number,
  ) {
    super(`s3://${bucket}/${key} unzips to more than ${maxObjectBytes} bytes`);
    this.name = 'TrailObjectTooLargeError';
  }
}

/**
 * The profile is restricted and the caller's sign-in is not strong or recent enough: sign in again
 * (RFC 9470's insufficient_user_authentication). `details.maxAgeSeconds`, and `details.acrValues`
 * when the issuer names strong ones.
 */
export class StepUpRequiredError extends TvmError {
  readonly code = 'STEP_UP_REQUIRED';
}
