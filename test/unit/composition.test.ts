// The composition root's two decisions: where alerts go, and where chain heads are anchored. A
// deployed alert function without its SNS topic must fail its cold start rather than raise alerts
// nobody hears, and a deployed verify or anchoring function without its bucket rather than verify
// against nothing. Each case builds the configuration a cold start would read from the environment
// the case gives, and asks the root for the adapter.
import { alertSinkFor, chainAnchorStoreFor } from '../../shared/composition.js';
import { loadConfig } from '../../shared/config.js';

const ENV = {
  TVM_STAGE: 'test',
  TVM_DELEGATIONS_TABLE: 'tvm-test-delegations',
  TVM_AUDIT_TABLE: 'tvm-test-audit',
  TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example.com/', audience: 'tvm', jwksUrl: 'https://idp.example.com/jwks' }]),
};

/** What the root builds under `env`: the adapter's class name, or the error a cold start would fail with. */
function builtWith(build: typeof alertSinkFor | typeof chainAnchorStoreFor, env: Record<string, string>): string {
  try {
    return build(loadConfig({ ...ENV, ...env })).constructor.name;
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

const alertSinkWith = async (env: Record<string, string>) => builtWith(alertSinkFor, env);
const anchorStoreWith = async (env: Record<string, string>) => builtWith(chainAnchorStoreFor, env);

describe('alertSink', () => {
  it('fails closed in AWS when no topic is configured', async () => {
    // Act
    const outcome = await alertSinkWith({});

    // Assess
    expect(outcome).toBe('ConfigError: invalid configuration: TVM_ALERTS_TOPIC_ARN: required outside the local stack');
  });

  it('publishes to SNS when the topic is configured', async () => {
    // Act
    const outcome = await alertSinkWith({ TVM_ALERTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:tvm-test-alerts' });

    // Assess
    expect(outcome).toBe('SnsAlertSink');
  });

  it('logs alerts on the local stack, where serverless-offline cannot resolve the topic reference', async () => {
    // Act
    const outcome = await alertSinkWith({ TVM_ALERTS_TOPIC_ARN: '[object Object]', IS_OFFLINE: 'true' });

    // Assess
    expect(outcome).toBe('LogAlertSink');
  });
});

describe('chainAnchorStore', () => {
  it.each<[string, Record<string, string>, string]>([
    ['fails the cold start in AWS without the bucket', {}, 'ConfigError: invalid configuration: TVM_ANCHOR_BUCKET: required outside the local stack'],
    ['fails the cold start in AWS with only a directory', { TVM_ANCHOR_DIR: '/tmp/anchors' }, 'ConfigError: invalid configuration: TVM_ANCHOR_BUCKET: required outside the local stack'],
    ['anchors to the Object Lock bucket in AWS', { TVM_ANCHOR_BUCKET: 'tvm-prod-anchorbucket-1a2b3c' }, 'S3ChainAnchorStore'],
    ['fails the cold start on the local stack without the directory', { IS_OFFLINE: 'true', TVM_ANCHOR_BUCKET: '[object Object]' }, 'ConfigError: invalid configuration: TVM_ANCHOR_DIR: required on the local stack'],
    ['anchors to a directory on the local stack', { IS_OFFLINE: 'true', TVM_ANCHOR_BUCKET: '[object Object]', TVM_ANCHOR_DIR: '/tmp/anchors' }, 'FileSystemChainAnchorStore'],
    ['names a bucket that is not a bucket name', { TVM_ANCHOR_BUCKET: 'Not A Bucket' }, 'ConfigError: invalid configuration: TVM_ANCHOR_BUCKET: must be an S3 bucket name'],
  ])('%s', async (_, env, expected) => {
    // Act
    const outcome = await anchorStoreWith(env);

    // Assess
    expect(outcome).toBe(expected);
  });
});
