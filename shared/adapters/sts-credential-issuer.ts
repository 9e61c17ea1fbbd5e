import {
  AssumeRoleCommand,
  PackedPolicyTooLargeException,
  STSServiceException,
  type STSClient,
} from '@aws-sdk/client-sts';
import { DurationOutOfRangeError, ScopeTooLargeError, UpstreamStsError } from '../domain/errors.js';
import type { AssumeRoleRequest, IssuedCredentials } from '../domain/model.js';
import type { CredentialIssuer } from '../domain/ports.js';

/** STS AssumeRole, with every failure mapped to a domain error that names the STS code. */
export class StsCredentialIssuer implements CredentialIssuer {
  constructor(private readonly client: STSClient) {}

  async assumeRole(request: AssumeRoleRequest): Promise<IssuedCredentials> {
    let output;
    try {
      output = await this.client.send(
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
    } catch (error) {
      throw toDomainError(error);
    }
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
}

function toDomainError(error: unknown): Error {
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
  return new UpstreamStsError(`STS AssumeRole failed (${stsCode})`, { cause: error, details: { stsCode } });
}

function isTimeout(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'TimeoutError' || name === 'RequestTimeout' || name === 'AbortError';
}

function stsCodeOf(error: STSServiceException): string {
  const wire = (error as { Code?: unknown }).Code;
  return typeof wire === 'string' && wire ? wire : error.name;
}
