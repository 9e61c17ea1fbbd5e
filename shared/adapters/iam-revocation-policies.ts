import {
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  LimitExceededException,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { RoleOutOfReachError, RolePolicyLimitError, UpstreamIamError } from '../domain/errors.js';
import type { RevocationPolicies, RolePolicyState } from '../domain/ports.js';
import { REVOCATION_POLICY_NAME } from '../domain/revocation-policy.js';
import { roleKey, roleName, sameRole } from '../domain/roles.js';

/** ListRolePolicies pages; a role has few inline policies, this is a guard. */
const MAX_PAGES = 20;

/**
 * The `tvm-revocations` inline policy of a target role, and what the role's other inline policies
 * leave of the 10,240 characters they share with it. IAM returns documents URL-encoded; they are
 * decoded here. Every IAM failure is an UpstreamIamError naming the IAM code.
 *
 * IAM's role APIs take a role *name* and act in the account of the caller's credentials. Before
 * touching a role, its ARN is checked against the role of that name there (GetRole): a role in
 * another account (or gone) is a RoleOutOfReachError, never a write to the namesake in tvm's own
 * account. Roles found are remembered for the life of the process: a role does not change account.
 */
export class IamRevocationPolicies implements RevocationPolicies {
  private readonly reachable = new Set<string>();

  constructor(private readonly client: IAMClient) {}

  async read(roleArn: string): Promise<RolePolicyState> {
    const role = roleName(roleArn);
    await this.assertReachable(roleArn);
    return this.call(role, async () => {
      const names = await this.policyNames(role);
      const documents = await Promise.all(names.map(async (name) => [name, await this.document(role, name)] as const));
      const own = documents.find(([name]) => name === REVOCATION_POLICY_NAME)?.[1];
      const otherPoliciesChars = documents
        .filter(([name]) => name !== REVOCATION_POLICY_NAME)
        .reduce((sum, [, document]) => sum + quotaChars(document ?? ''), 0);
      return { ...(own === undefined ? {} : { document: own }), otherPoliciesChars };
    });
  }

  async write(roleArn: string, document: string | undefined): Promise<void> {
    const role = roleName(roleArn);
    await this.assertReachable(roleArn);
    await this.call(role, async () => {
      if (document !== undefined) {
        await this.client.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: REVOCATION_POLICY_NAME, PolicyDocument: document }));
        return;
      }
      try {
        await this.client.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: REVOCATION_POLICY_NAME }));
      } catch (error) {
        if (!(error instanceof NoSuchEntityException)) throw error;
      }
    });
  }

  private async assertReachable(roleArn: string): Promise<void> {
    if (this.reachable.has(roleKey(roleArn))) return;
    const role = roleName(roleArn);
    const found = await this.call(role, async () => {
      try {
        return (await this.client.send(new GetRoleCommand({ RoleName: role }))).Role?.Arn;
      } catch (error) {
        if (error instanceof NoSuchEntityException) return undefined;
        throw error;
      }
    });
    if (found === undefined) {
      throw new RoleOutOfReachError(
        `tvm's account has no role named ${role}: ${roleArn} is in another account or gone, and tvm cannot cut its sessions off`,
      );
    }
    if (!sameRole(found, roleArn)) {
      throw new RoleOutOfReachError(
        `${roleArn} is not in the account tvm changes roles in (its ${role} is ${found}); tvm cannot cut its sessions off`,
      );
    }
    this.reachable.add(roleKey(roleArn));
  }

  private async policyNames(role: string): Promise<string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.client.send(new ListRolePoliciesCommand({ RoleName: role, ...(marker ? { Marker: marker } : {}) }));
      names.push(...(out.PolicyNames ?? []));
      if (!out.IsTruncated || !out.Marker) return names;
      marker = out.Marker;
    }
    throw new Error(`role ${role} lists more inline policies than tvm reads`);
  }

  private async document(role: string, name: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }));
      return out.PolicyDocument ? decodeURIComponent(out.PolicyDocument) : undefined;
    } catch (error) {
      // Deleted between the listing and the read: it uses nothing.
      if (error instanceof NoSuchEntityException) return undefined;
      throw error;
    }
  }

  private async call<T>(role: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const iamCode = error instanceof Error ? error.name : 'NetworkError';
      const details = { iamCode };
      if (error instanceof LimitExceededException) {
        throw new RolePolicyLimitError(`role ${role}'s inline policies would exceed IAM's size quota (${iamCode})`, { cause: error, details });
      }
      throw new UpstreamIamError(`could not read or write the revocation policy of role ${role} (${iamCode})`, { cause: error, details });
    }
  }
}

/** A policy's size as IAM counts it against the quota: without whitespace between tokens. */
function quotaChars(document: string): number {
  try {
    return JSON.stringify(JSON.parse(document)).length;
  } catch {
    return document.length;
  }
}
