// The composition root's one decision: where alerts go. A deployed alert function without its SNS
// topic must fail its cold start rather than raise alerts nobody hears. Each case loads the module
// in a fresh Node process, as a cold start does, with only the environment the case gives it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENV = {
  TVM_STAGE: 'test',
  TVM_DELEGATIONS_TABLE: 'tvm-test-delegations',
  TVM_AUDIT_TABLE: 'tvm-test-audit',
  TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example.com/', audience: 'tvm', jwksUrl: 'https://idp.example.com/jwks' }]),
};
const PROBE = `
  const { alertSink } = await import('./shared/composition.ts');
  try { console.log(alertSink().constructor.name); } catch (error) { console.log(error.name + ': ' + error.message); }
`;

/** alertSink() at a cold start under `env`: the sink's class name, or the error it threw. */
async function alertSinkWith(env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...ENV, ...env },
  });
  return stdout.trim();
}

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
