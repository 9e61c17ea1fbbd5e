// The local IAM and STS endpoint (local/sts) for one test file, SDK clients signed as tvm's own
// caller, and sessions assumed there to call it with: what a cut-off denies is seen by calling.
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetAccessKeyInfoCommand, STSClient } from '@aws-sdk/client-sts';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts, type LocalSts } from '../../../local/sts/local-sts.js';

export interface LocalAwsContext {
  readonly local: LocalSts;
  readonly iam: IAMClient;
  readonly sts: STSClient;
  /** A 15-minute session on `roleArn` for `sourceIdentity` (also its session name). */
  sessionOf(roleArn: string, sourceIdentity: string): Promise<LocalSession>;
}

export interface LocalSession {
  readonly accessKeyId: string;
  /** An STS client signing with the session's credentials. */
  readonly client: STSClient;
  /** Whether a call made with the session is allowed. */
  works(): Promise<boolean>;
}

/**
 * Registers beforeAll/afterAll that start the local endpoint on a free port and stop it again.
 * Call at the top of a test file; the returned function gives the context once beforeAll has run.
 */
export function useLocalAws(): () => LocalAwsContext {
  let context: LocalAwsContext | undefined;

  beforeAll(async () => {
    const local = await startLocalSts({ port: 0, roles: loadLocalRoles(), callers: [LOCAL_TVM_CALLER] });
    const client = { region: 'us-east-1', credentials: { ...LOCAL_TVM_CALLER }, maxAttempts: 1 };
    const iam = new IAMClient({ ...client, endpoint: local.iamUrl });
    const sts = new STSClient({ ...client, endpoint: local.url });
    context = { local, iam, sts, sessionOf: (roleArn, sourceIdentity) => assume(local, sts, roleArn, sourceIdentity) };
  });

  afterAll(async () => {
    context?.iam.destroy();
    context?.sts.destroy();
    await context?.local.close();
  });

  return () => {
    if (!context) throw new Error('the local endpoint is not running: useLocalAws() must be called at file level');
    return context;
  };
}

async function assume(local: LocalSts, sts: STSClient, roleArn: string, sourceIdentity: string): Promise<LocalSession> {
  const out = await sts.send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sourceIdentity, SourceIdentity: sourceIdentity, DurationSeconds: 900 }),
  );
  const { AccessKeyId, SecretAccessKey, SessionToken } = out.Credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken) throw new Error('the local endpoint returned no credentials');
  const client = new STSClient({
    region: 'us-east-1',
    endpoint: local.url,
    maxAttempts: 1,
    credentials: { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken },
  });
  const works = () =>
    client.send(new GetAccessKeyInfoCommand({ AccessKeyId })).then(
      () => true,
      () => false,
    );
  return { accessKeyId: AccessKeyId, client, works };
}
