// IamRevocationPolicies through the real @aws-sdk/client-iam against the local endpoint, which keeps
// a role's inline policies, counts them against IAM's shared 10,240 characters and enforces the Deny
// statements in them: a revoked person's earlier session is refused, others are not.
import { PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetAccessKeyInfoCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { IamRevocationPolicies } from '../../shared/adapters/iam-revocation-policies.js';
import { RoleOutOfReachError, RolePolicyLimitError, UpstreamIamError } from '../../shared/domain/errors.js';
import { REVOCATION_POLICY_NAME, renderRevocationPolicy } from '../../shared/domain/revocation-policy.js';
import { useLocalAws } from './support/local-aws.js';
import { failureOf } from '../fixtures/failure.js';

const ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-readonly';
const OTHER_ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-deploy';

describe('IamRevocationPolicies', () => {
  const localAws = useLocalAws();
  const sessionOf = (sourceIdentity: string) => localAws().sessionOf(ROLE, sourceIdentity);

  it("writes tvm-revocations so the person's earlier sessions are denied, and nobody else's, and reads it back decoded", async () => {
    // Prepare
    const alice = await sessionOf('alice');
    const bob = await sessionOf('bob');
    const policies = new IamRevocationPolicies(localAws().iam);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // issued strictly before the (whole-second) cutoff
    const document = renderRevocationPolicy([{ kind: 'person', sourceIdentity: 'alice', before: new Date().toISOString() }]);

    // Act
    await policies.write(ROLE, document);
    const read = await policies.read(ROLE);

    // Assess
    expect(read).toEqual({ document, otherPoliciesChars: 0 });
    await expect(alice.client.send(new GetAccessKeyInfoCommand({ AccessKeyId: alice.accessKeyId }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await alice.client.send(new GetCallerIdentityCommand({}))).Arn).toContain('/alice');
    expect((await bob.client.send(new GetAccessKeyInfoCommand({ AccessKeyId: bob.accessKeyId }))).Account).toBe('000000000000');
  });

  it("counts the role's other inline policies, as IAM does (without whitespace)", async () => {
    // Prepare: another team's policy beside tvm's
    const other = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*' }] }, null, 2);
    await localAws().iam.send(new PutRolePolicyCommand({ RoleName: 'tvm-demo-deploy', PolicyName: 'team-guardrail', PolicyDocument: other }));

    // Act
    const read = await new IamRevocationPolicies(localAws().iam).read(OTHER_ROLE);

    // Assess
    expect(read).toEqual({ otherPoliciesChars: JSON.stringify(JSON.parse(other)).length });
  });

  it("answers IAM's LimitExceeded as RolePolicyLimitError, and deletes the policy for nothing to deny", async () => {
    // Prepare: a document that does not fit beside the other policy
    const policies = new IamRevocationPolicies(localAws().iam);
    const people = Array.from({ length: 400 }, (_, i) => ({ kind: 'person' as const, sourceIdentity: `person-${i}`, before: `2026-06-01T12:${String(i % 60).padStart(2, '0')}:00Z` }));
    const tooLarge = renderRevocationPolicy(people);

    // Act
    const refused = await failureOf(policies.write(OTHER_ROLE, tooLarge));
    await policies.write(ROLE, undefined);
    await policies.write(ROLE, undefined); // none left: still fine

    // Assess
    expect(refused).toBeInstanceOf(RolePolicyLimitError);
    expect((refused as RolePolicyLimitError).details).toEqual({ iamCode: 'LimitExceededException' });
    expect(localAws().local.rolePolicies()['tvm-demo-readonly']?.[REVOCATION_POLICY_NAME]).toBeUndefined();
  });

  it('names the IAM code when IAM fails', async () => {
    // Prepare
    localAws().local.setFault({ code: 'ServiceFailure', status: 500, remaining: 1 });

    // Act
    const error = await failureOf(new IamRevocationPolicies(localAws().iam).read(ROLE));

    // Assess
    expect(error).toBeInstanceOf(UpstreamIamError);
    expect((error as UpstreamIamError).details).toEqual({ iamCode: 'ServiceFailureException' });
  });

  // IAM's role APIs take a name and act in the caller's account: a role ARN elsewhere must not
  // reach the namesake here.
  it('refuses a role that is not in its account, or not there at all, before any policy is read or written', async () => {
    // Prepare
    const policies = new IamRevocationPolicies(localAws().iam);
    const elsewhere = ROLE.replace('000000000000', '111111111111');

    // Act
    const errors = await Promise.all([
      failureOf(policies.read(elsewhere)),
      failureOf(policies.write(elsewhere, renderRevocationPolicy([{ kind: 'person', sourceIdentity: 'mallory', before: '2030-01-01T00:00:00Z' }]))),
      failureOf(policies.read('arn:aws:iam::000000000000:role/tvm-no-such-role')),
    ]);

    // Assess
    for (const error of errors) expect(error).toBeInstanceOf(RoleOutOfReachError);
    expect((errors[0] as Error).message).toContain('arn:aws:iam::111111111111:role/tvm-demo-readonly is not in the account tvm changes roles in');
    expect(localAws().local.rolePolicies()['tvm-demo-readonly']?.[REVOCATION_POLICY_NAME]).toBeUndefined();
  });
});
