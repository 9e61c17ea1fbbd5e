// IamSessionRevoker through the real @aws-sdk/client-iam against the local endpoint, which enforces
// the Deny statements it writes: a revoked person's earlier session is refused, others are not.
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetAccessKeyInfoCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { IamSessionRevoker } from '../../shared/adapters/iam-session-revoker.js';
import { REVOCATION_POLICY_NAME } from '../../shared/domain/revocation-policy.js';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts, type LocalSts } from '../../local/sts/local-sts.js';

const ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-readonly';

describe('IamSessionRevoker', () => {
  let local: LocalSts;
  let iam: IAMClient;
  let sts: STSClient;

  beforeAll(async () => {
    local = await startLocalSts({ port: 0, roles: loadLocalRoles(), callers: [LOCAL_TVM_CALLER] });
    const client = { region: 'us-east-1', credentials: { ...LOCAL_TVM_CALLER }, maxAttempts: 1 };
    iam = new IAMClient({ ...client, endpoint: local.iamUrl });
    sts = new STSClient({ ...client, endpoint: local.url });
  });

  afterAll(async () => {
    iam.destroy();
    sts.destroy();
    await local.close();
  });

  async function sessionOf(sourceIdentity: string) {
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: sourceIdentity, SourceIdentity: sourceIdentity, DurationSeconds: 900 }),
    );
    const c = out.Credentials!;
    const client = new STSClient({
      region: 'us-east-1',
      endpoint: local.url,
      maxAttempts: 1,
      credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! },
    });
    return { client, accessKeyId: c.AccessKeyId! };
  }

  it("writes tvm-revocations so the person's earlier sessions are denied, and nobody else's", async () => {
    // Prepare
    const alice = await sessionOf('alice');
    const bob = await sessionOf('bob');
    const revoker = new IamSessionRevoker(iam);
    await new Promise((resolve) => setTimeout(resolve, 5)); // issued strictly before the cutoff

    // Act
    const result = await revoker.revoke(ROLE, [{ kind: 'person', sourceIdentity: 'alice', before: new Date().toISOString() }], new Date());

    // Assess
    expect(result).toEqual({ fallback: false });
    await expect(alice.client.send(new GetAccessKeyInfoCommand({ AccessKeyId: alice.accessKeyId }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    expect((await alice.client.send(new GetCallerIdentityCommand({}))).Arn).toContain('/alice');
    expect((await bob.client.send(new GetAccessKeyInfoCommand({ AccessKeyId: bob.accessKeyId }))).Account).toBe('000000000000');
    const stored = local.rolePolicies()['tvm-demo-readonly']?.[REVOCATION_POLICY_NAME];
    expect(JSON.parse(stored ?? '{}').Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: expect.objectContaining({ StringEquals: { 'aws:SourceIdentity': ['alice'] } }) }),
    ]);
  });

  it('merges with what the policy already holds (read back URL-encoded from IAM)', async () => {
    // Prepare
    const revoker = new IamSessionRevoker(iam);
    const carol = await sessionOf('carol');
    await new Promise((resolve) => setTimeout(resolve, 5));

    // Act
    await revoker.revoke(ROLE, [{ kind: 'person', sourceIdentity: 'carol', before: new Date().toISOString() }], new Date());

    // Assess: both alice (from the previous test) and carol are denied
    const stored = JSON.parse(local.rolePolicies()['tvm-demo-readonly']?.[REVOCATION_POLICY_NAME] ?? '{}');
    const denied = stored.Statement.flatMap((s: { Condition: { StringEquals: { 'aws:SourceIdentity': string[] } } }) =>
      s.Condition.StringEquals['aws:SourceIdentity'],
    );
    expect(denied.sort()).toEqual(['alice', 'carol']);
    await expect(carol.client.send(new GetAccessKeyInfoCommand({ AccessKeyId: carol.accessKeyId }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });

  it('deletes the policy once every revocation in it has expired', async () => {
    // Prepare: 13 hours later no session from before any cutoff can be alive
    const revoker = new IamSessionRevoker(iam);
    const later = new Date(Date.now() + 13 * 3_600_000);

    // Act
    await revoker.revoke(ROLE, [], later);

    // Assess
    expect(local.rolePolicies()['tvm-demo-readonly']).toEqual({});
  });
});
