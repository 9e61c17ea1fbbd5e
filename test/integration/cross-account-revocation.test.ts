// Roles in other accounts: IAM's role APIs take a name and act in the caller's account,
// so a cut-off on another account's role must be written there, by tvm's revoker role in that
// account, and never to the namesake in tvm's own. Wired as composition wires it (the revoker's
// credentials assumed through STS), against the local endpoint's second account.
import { GetAccessKeyInfoCommand } from '@aws-sdk/client-sts';
import { AccountRoutedRevocationPolicies } from '../../shared/adapters/account-routed-revocation-policies.js';
import { createIamClient, revokerCredentials } from '../../shared/adapters/aws-clients.js';
import { IamRevocationPolicies } from '../../shared/adapters/iam-revocation-policies.js';
import { loadConfig, type Config } from '../../shared/config.js';
import { RoleOutOfReachError, UpstreamIamError } from '../../shared/domain/errors.js';
import { REVOCATION_POLICY_NAME, renderRevocationPolicy } from '../../shared/domain/revocation-policy.js';
import { LOCAL_TVM_CALLER } from '../../local/sts/local-sts.js';
import { failureOf } from '../fixtures/failure.js';
import { useLocalAws } from './support/local-aws.js';

const OWN = '000000000000';
const TARGET = '111111111111';
const OPS_IN_TVMS = `arn:aws:iam::${OWN}:role/tvm-demo-ops`;
const OPS_IN_TARGET = `arn:aws:iam::${TARGET}:role/tvm-demo-ops`;
const REVOKER = 'TvmRevoker-dev';

describe('cut-offs across accounts', () => {
  const localAws = useLocalAws();
  let config: Config;
  const saved = { ...process.env };

  beforeAll(() => {
    // The revoker is assumed with the function's own credentials, which Lambda puts in the environment.
    process.env.AWS_ACCESS_KEY_ID = LOCAL_TVM_CALLER.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_TVM_CALLER.secretAccessKey;
    config = loadConfig({
      IS_OFFLINE: 'true',
      TVM_STAGE: 'local',
      TVM_DELEGATIONS_TABLE: 'unused',
      TVM_AUDIT_TABLE: 'unused',
      TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: 'http://localhost:1/', audience: 'tvm', jwksUrl: 'http://localhost:1/jwks' }]),
      TVM_STS_ENDPOINT: localAws().local.url,
      TVM_IAM_ENDPOINT: localAws().local.iamUrl,
      TVM_TARGET_ACCOUNTS: `${TARGET},333333333333`,
      TVM_REVOKER_ROLE_NAME: REVOKER,
    });
  });

  afterAll(() => {
    process.env = saved;
  });

  /** As composition builds it: tvm's own IAM, and each target account's through its revoker. */
  function routedPolicies(): AccountRoutedRevocationPolicies {
    const through = (account: string) => new IamRevocationPolicies(createIamClient(config, revokerCredentials(config, account, REVOKER)));
    return new AccountRoutedRevocationPolicies(
      new Map([
        [OWN, new IamRevocationPolicies(createIamClient(config))],
        [TARGET, through(TARGET)],
        // Configured, but its revoker role was never deployed: assuming it fails.
        ['333333333333', through('333333333333')],
      ]),
    );
  }

  it("writes the Deny on the target account's role: its sessions are cut, the namesake's in tvm's account are not", async () => {
    // Prepare: mallory has a session on each of the two roles named tvm-demo-ops
    const inTarget = await localAws().sessionOf(OPS_IN_TARGET, 'mallory');
    const inTvms = await localAws().sessionOf(OPS_IN_TVMS, 'mallory');
    const policies = routedPolicies();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // issued strictly before the (whole-second) cut-off
    const document = renderRevocationPolicy([{ kind: 'person', sourceIdentity: 'mallory', before: new Date().toISOString() }]);

    // Act
    await policies.write(OPS_IN_TARGET, document);
    const read = await policies.read(OPS_IN_TARGET);

    // Assess
    expect(read).toEqual({ document, otherPoliciesChars: 0 });
    expect(await inTarget.works()).toBe(false);
    expect(await inTvms.works()).toBe(true);
    expect(localAws().local.rolePolicies(TARGET)['tvm-demo-ops']).toEqual({ [REVOCATION_POLICY_NAME]: document });
    expect(localAws().local.rolePolicies(OWN)['tvm-demo-ops']).toEqual({});
    await expect(inTarget.client.send(new GetAccessKeyInfoCommand({ AccessKeyId: inTarget.accessKeyId }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('refuses a role in an account that is not configured, before any IAM call', async () => {
    // Prepare
    const policies = routedPolicies();
    const elsewhere = 'arn:aws:iam::222222222222:role/tvm-demo-ops';

    // Act
    const errors = await Promise.all([failureOf(policies.read(elsewhere)), failureOf(policies.write(elsewhere, undefined))]);

    // Assess
    for (const error of errors) expect(error).toBeInstanceOf(RoleOutOfReachError);
    expect((errors[0] as Error).message).toContain(`${elsewhere} is in account 222222222222, where tvm cannot cut sessions off (it can in ${OWN}, ${TARGET}, 333333333333)`);
  });

  it('fails, retryably and without writing, when the revoker role cannot be assumed in a target account', async () => {
    // Act
    const error = await failureOf(routedPolicies().write('arn:aws:iam::333333333333:role/tvm-demo-ops', renderRevocationPolicy([{ kind: 'person', sourceIdentity: 'mallory', before: '2030-01-01T00:00:00Z' }])));

    // Assess
    expect(error).toBeInstanceOf(UpstreamIamError);
    expect(error).not.toBeInstanceOf(RoleOutOfReachError);
    expect(localAws().local.rolePolicies(OWN)['tvm-demo-ops']).toEqual({});
  });
});
