// The one table from domain error codes to HTTP statuses, checked against the documented contract.
import {
  AuditUnavailableError,
  AlreadyHandedOverError,
  ConflictError,
  PreconditionFailedError,
  EngagementHandedOverError,
  LockdownActiveError,
  SecondApproverRequiredError,
  NotRequestableError,
  SelfApprovalForbiddenError,
  AlreadyApprovedError,
  RequestAlreadyDecidedError,
  TooManyPendingRequestsError,
  DelegationExceedsGrantError,
  DelegationQuotaExceededError,
  DurationOutOfRangeError,
  ForbiddenError,
  GrantExpiredError,
  IdentityProviderUnavailableError,
  NoGrantError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  CutOffPendingError,
  ScopeNotGrantedError,
  ScopeTooLargeError,
  ServiceTimeoutError,
  StoreUnavailableError,
  TvmError,
  UnauthenticatedError,
  StepUpRequiredError,
  UpstreamIamError,
  RoleOutOfReachError,
  FederationUnavailableError,
  UpstreamStsError,
  ValidationError,
  type ErrorCode,
} from '../../shared/domain/errors.js';
import { HTTP_STATUS, mapError } from '../../shared/http/error-mapping.js';
import { readStepUpChallenge } from '../../shared/http/step-up-challenge.js';

const REQUEST_ID = 'req-0001';

/** The documented contract (README). `satisfies` makes the compiler insist on every ErrorCode. */
const DOCUMENTED_STATUS = {
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
  UPSTREAM_STS_ERROR: 502,
  UPSTREAM_IAM_ERROR: 502,
  ROLE_OUT_OF_REACH: 502,
  FEDERATION_UNAVAILABLE: 502,
  AUDIT_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  IDP_UNAVAILABLE: 503,
  TIMEOUT: 503,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

type TvmErrorClass = new (message: string, options?: { cause?: unknown; details?: Record<string, string | number> }) => TvmError;

/** Every concrete domain error, by the code it carries. INTERNAL has no class: it is "anything else". */
const ERROR_CLASSES = {
  VALIDATION_FAILED: ValidationError,
  DURATION_OUT_OF_RANGE: DurationOutOfRangeError,
  SCOPE_TOO_LARGE: ScopeTooLargeError,
  UNAUTHENTICATED: UnauthenticatedError,
  STEP_UP_REQUIRED: StepUpRequiredError,
  FORBIDDEN: ForbiddenError,
  NO_GRANT: NoGrantError,
  GRANT_EXPIRED: GrantExpiredError,
  SCOPE_NOT_GRANTED: ScopeNotGrantedError,
  DELEGATION_EXCEEDS_GRANT: DelegationExceedsGrantError,
  DELEGATION_QUOTA_EXCEEDED: DelegationQuotaExceededError,
  ENGAGEMENT_HANDED_OVER: EngagementHandedOverError,
  LOCKDOWN_ACTIVE: LockdownActiveError,
  SECOND_APPROVER_REQUIRED: SecondApproverRequiredError,
  NOT_REQUESTABLE: NotRequestableError,
  SELF_APPROVAL_FORBIDDEN: SelfApprovalForbiddenError,
  ALREADY_APPROVED: AlreadyApprovedError,
  REQUEST_ALREADY_DECIDED: RequestAlreadyDecidedError,
  ALREADY_HANDED_OVER: AlreadyHandedOverError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  PRECONDITION_FAILED: PreconditionFailedError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  RATE_LIMITED: RateLimitedError,
  CUT_OFF_PENDING: CutOffPendingError,
  TOO_MANY_PENDING_REQUESTS: TooManyPendingRequestsError,
  UPSTREAM_STS_ERROR: UpstreamStsError,
  UPSTREAM_IAM_ERROR: UpstreamIamError,
  ROLE_OUT_OF_REACH: RoleOutOfReachError,
  FEDERATION_UNAVAILABLE: FederationUnavailableError,
  AUDIT_UNAVAILABLE: AuditUnavailableError,
  STORE_UNAVAILABLE: StoreUnavailableError,
  IDP_UNAVAILABLE: IdentityProviderUnavailableError,
  TIMEOUT: ServiceTimeoutError,
} as const satisfies Record<Exclude<ErrorCode, 'INTERNAL'>, TvmErrorClass>;

describe('HTTP_STATUS', () => {
  it('is exactly the documented table', () => {
    // Assess
    expect(HTTP_STATUS).toEqual(DOCUMENTED_STATUS);
    expect(Object.isFrozen(HTTP_STATUS)).toBe(true);
  });
});

describe('mapError', () => {
  it.each(Object.entries(ERROR_CLASSES) as [Exclude<ErrorCode, 'INTERNAL'>, TvmErrorClass][])(
    'maps %s to its documented status with the {"error":{code,message,requestId}} body',
    (code, ErrorClass) => {
      // Prepare
      const error = new ErrorClass(`something about ${code}`);

      // Act
      const mapped = mapError(error, REQUEST_ID);

      // Assess
      expect(error.code).toBe(code);
      expect(error.name).toBe(ErrorClass.name);
      expect(mapped).toEqual({
        status: DOCUMENTED_STATUS[code],
        body: { error: { code, message: `something about ${code}`, requestId: REQUEST_ID } },
        serverFault: DOCUMENTED_STATUS[code] >= 500,
        // A step-up refusal always carries its RFC 9470 challenge.
        ...(code === 'STEP_UP_REQUIRED'
          ? { headers: { 'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="something about ${code}"` } }
          : {}),
      });
    },
  );

  it('answers STEP_UP_REQUIRED with the RFC 9470 challenge: max_age and, when the issuer names them, acr_values', () => {
    // Prepare
    const plain = new StepUpRequiredError('profile "prod-admin" is restricted: it needs a sign-in with MFA (within the last 15 min)', {
      details: { maxAgeSeconds: 900 },
    });
    const withAcr = new StepUpRequiredError('needs "mfa" \\ now', { details: { maxAgeSeconds: 300, acrValues: ['phrh', 'urn:example:mfa'] } });

    // Act
    const [first, second] = [mapError(plain, REQUEST_ID), mapError(withAcr, REQUEST_ID)];

    // Assess
    expect(first.status).toBe(401);
    expect(first.headers).toEqual({
      'www-authenticate':
        'Bearer error="insufficient_user_authentication", error_description="profile prod-admin is restricted: it needs a sign-in with MFA (within the last 15 min)", max_age=900',
    });
    expect(first.body.error).toMatchObject({ code: 'STEP_UP_REQUIRED', maxAgeSeconds: 900 });
    // Quotes and backslashes never reach a quoted-string (RFC 9110): dropped, not escaped wrongly.
    expect(second.headers).toEqual({
      'www-authenticate': 'Bearer error="insufficient_user_authentication", error_description="needs mfa  now", max_age=300, acr_values="phrh urn:example:mfa"',
    });
    expect(second.body.error).toMatchObject({ acrValues: ['phrh', 'urn:example:mfa'] });
  });

  it("writes a challenge the CLI and console read back as it was meant (shared/http/step-up-challenge.ts)", () => {
    // Prepare
    const error = new StepUpRequiredError('profile "prod-admin" is restricted', { details: { maxAgeSeconds: 300, acrValues: ['phrh', 'urn:example:mfa'] } });

    // Act
    const mapped = mapError(error, REQUEST_ID);
    const read = readStepUpChallenge(mapped.headers?.['www-authenticate'], mapped.body);

    // Assess
    expect(read).toMatchObject({ maxAgeSeconds: 300, acrValues: ['phrh', 'urn:example:mfa'], description: 'profile prod-admin is restricted' });
  });

  it('writes a body from which the challenge reads back alone, as a browser that cannot see the header reads it', () => {
    // Prepare
    const error = new StepUpRequiredError('profile "prod-admin" is restricted', { details: { maxAgeSeconds: 300, acrValues: ['phrh', 'urn:example:mfa'] } });

    // Act
    const read = readStepUpChallenge(undefined, JSON.parse(JSON.stringify(mapError(error, REQUEST_ID).body)));

    // Assess
    expect(read).toEqual({ maxAgeSeconds: 300, acrValues: ['phrh', 'urn:example:mfa'], description: 'profile "prod-admin" is restricted' });
  });

  it('adds the error details beside code, message and requestId', () => {
    // Prepare
    const error = new UpstreamStsError('STS AssumeRole failed (Throttling)', { details: { stsCode: 'Throttling' } });

    // Act
    const mapped = mapError(error, REQUEST_ID);

    // Assess
    expect(mapped.body).toEqual({
      error: { code: 'UPSTREAM_STS_ERROR', message: 'STS AssumeRole failed (Throttling)', requestId: REQUEST_ID, stsCode: 'Throttling' },
    });
  });

  it('never lets details override code, message or requestId', () => {
    // Prepare
    const error = new NoGrantError('no active grant', {
      details: { code: 'INTERNAL', message: 'forged', requestId: 'forged' },
    });

    // Act
    const mapped = mapError(error, REQUEST_ID);

    // Assess
    expect(mapped.body.error).toMatchObject({ code: 'NO_GRANT', message: 'no active grant', requestId: REQUEST_ID });
  });

  it.each([
    ['an Error', new Error('ECONNRESET while talking to 10.0.0.5 with password=hunter2')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['an error-like object with a code', { code: 'NO_GRANT', message: 'pretending to be a domain error' }],
  ])('maps %s to 500 INTERNAL with a generic message', (_label, thrown) => {
    // Act
    const mapped = mapError(thrown, REQUEST_ID);

    // Assess
    expect(mapped).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error', requestId: REQUEST_ID } },
      serverFault: true,
    });
  });

  it('does not put the cause into the body', () => {
    // Prepare
    const error = new StoreUnavailableError('the delegations table could not be read', {
      cause: new Error('arn:aws:dynamodb:us-east-1:123456789012:table/tvm-delegations is throttled'),
    });

    // Act
    const mapped = mapError(error, REQUEST_ID);

    // Assess
    expect(JSON.stringify(mapped.body)).not.toContain('arn:aws:dynamodb');
  });
});
