import {
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { TvmError, UpstreamIamError } from '../domain/errors.js';
import type { SessionRevoker } from '../domain/ports.js';
import {
  parseRevocationPolicy,
  planRevocationPolicy,
  REVOCATION_POLICY_NAME,
  type Revocation,
} from '../domain/revocation-policy.js';

/**
 * Cuts off live sessions through the target role's `tvm-revocations` inline policy:
 * 1. Read the current policy (IAM returns it URL-encoded).
 * 2. Merge the new revocations, prune expired ones, fall back to a role-wide cutoff if too large.
 * 3. Write it back, or delete it when nothing is left.
 */
export class IamSessionRevoker implements SessionRevoker {
  constructor(
    private readonly client: IAMClient,
    /** The longest any session of a target role can live (AssumeRole's ceiling unless known). */
    private readonly maxSessionSeconds = 43_200,
  ) {}

  async revoke(roleArn: string, revocations: readonly Revocation[], now: Date): Promise<{ fallback: boolean }> {
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    try {
      const existing = parseRevocationPolicy(await this.currentDocument(roleName));
      const plan = planRevocationPolicy({ existing, added: revocations, now, maxSessionSeconds: this.maxSessionSeconds });
      if (plan.document === undefined) {
        await this.client.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: REVOCATION_POLICY_NAME }));
      } else {
        await this.client.send(
          new PutRolePolicyCommand({ RoleName: roleName, PolicyName: REVOCATION_POLICY_NAME, PolicyDocument: plan.document }),
        );
      }
      return { fallback: plan.fallback };
    } catch (error) {
      if (error instanceof TvmError) throw error; // from planning, e.g. a foreign statement in the policy
      const iamCode = error instanceof Error ? error.name : 'NetworkError';
      throw new UpstreamIamError(`could not update the revocation policy of role ${roleName} (${iamCode})`, {
        cause: error,
        details: { iamCode },
      });
    }
  }

  private async currentDocument(roleName: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: REVOCATION_POLICY_NAME }));
      return out.PolicyDocument ? decodeURIComponent(out.PolicyDocument) : undefined;
    } catch (error) {
      if (error instanceof NoSuchEntityException) return undefined;
      throw error;
    }
  }
}
