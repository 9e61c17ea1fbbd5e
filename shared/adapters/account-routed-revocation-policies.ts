import { RoleOutOfReachError } from '../domain/errors.js';
import type { RevocationPolicies, RolePolicyState } from '../domain/ports.js';

/**
 * Sends each role's revocation policy to the IAM of the role's own account: tvm's own credentials
 * for its account, the revoker role assumed in each target account for the others. IAM's role
 * APIs take a name and act in the caller's account, so a role in any other account is refused here,
 * before any IAM call: never a write to a namesake, never a session reported cut that was not.
 */
export class AccountRoutedRevocationPolicies implements RevocationPolicies {
  constructor(private readonly byAccount: ReadonlyMap<string, RevocationPolicies>) {}

  read(roleArn: string): Promise<RolePolicyState> {
    return this.of(roleArn).read(roleArn);
  }

  write(roleArn: string, document: string | undefined): Promise<void> {
    return this.of(roleArn).write(roleArn, document);
  }

  private of(roleArn: string): RevocationPolicies {
    const account = roleArn.split(':')[4] ?? '';
    const policies = this.byAccount.get(account);
    if (policies === undefined) {
      const reachable = [...this.byAccount.keys()].join(', ');
      return refuse(
        new RoleOutOfReachError(`${roleArn} is in account ${account || '?'}, where tvm cannot cut sessions off (it can in ${reachable})`),
      );
    }
    return policies;
  }
}

function refuse(error: RoleOutOfReachError): RevocationPolicies {
  return { read: () => Promise.reject(error), write: () => Promise.reject(error) };
}
