// The errors the local STS/IAM endpoint answers with: AWS's codes, status codes and, where we know it,
// AWS's wording, so tvm's adapters meet the same SDK exceptions as against AWS.

/** An error the endpoint answers as a Query-protocol ErrorResponse. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export const stsErrors = {
  missingAuthenticationToken: () =>
    new ServiceError('MissingAuthenticationToken', 403, 'Request is missing Authentication Token'),
  incompleteSignature: (message: string) => new ServiceError('IncompleteSignature', 400, message),
  invalidClientTokenId: () =>
    new ServiceError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.'),
  // 403, not the 400 the API_AssumeRole page lists: that entry is about an expired *web identity*
  // token (AssumeRoleWithWebIdentity's ExpiredTokenException). A request signed with expired session
  // credentials gets this common error; AWS answers it with 403 Forbidden and this exact message, e.g.
  // the IAM response quoted in cfn-sphere/cfn-sphere#55.
  expiredToken: () => new ServiceError('ExpiredToken', 403, 'The security token included in the request is expired'),
  signatureDoesNotMatch: (message = SIGNATURE_MISMATCH_MESSAGE) =>
    new ServiceError('SignatureDoesNotMatch', 403, message),
  validation: (message: string) => new ServiceError('ValidationError', 400, message),
  malformedPolicy: (message: string) => new ServiceError('MalformedPolicyDocument', 400, message),
  packedPolicyTooLarge: (message: string) => new ServiceError('PackedPolicyTooLarge', 400, message),
  accessDenied: (callerArn: string, roleArn: string) =>
    new ServiceError(
      'AccessDenied',
      403,
      `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    ),
  // AWS's wording for a Deny in the principal's own policies; "on resource: …" only for actions that
  // have a resource.
  explicitDeny: (principalArn: string, action: string, resource: string | undefined) =>
    new ServiceError(
      'AccessDenied',
      403,
      `User: ${principalArn} is not authorized to perform: ${action}${resource === undefined ? '' : ` on resource: ${resource}`} with an explicit deny in an identity-based policy`,
    ),
  invalidAction: (action: string, version: string) =>
    new ServiceError('InvalidAction', 400, `Could not find operation ${action} for version ${version}`),
  missingAction: () => new ServiceError('MissingAction', 400, 'Missing Action'),
  requestTooLarge: () => new ServiceError('RequestEntityTooLarge', 413, 'Request body is too large'),
  internalFailure: () =>
    new ServiceError(
      'InternalFailure',
      500,
      'The request processing has failed because of an unknown error, exception or failure.',
    ),
};
