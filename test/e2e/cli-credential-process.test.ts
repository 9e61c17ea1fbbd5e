// The real AWS SDK using tvm as its credential_process, against the local stack: `tvm configure
// --write` writes a temporary AWS config, then a separate node process (as an AWS CLI or SDK user
// would run) loads the profile with fromIni, which runs `tvm credentials … --format
// credential-process` from PATH, and calls GetCallerIdentity on the local STS: tvm's assumed role
// and session name. A second such process within the cache window is served from tvm's cache (the
// audit shows one issuance).
// The SDK runs credential_process with its process's real environment, which a Jest test cannot
// change (process.env here is a sandbox copy): hence the SDK runs in a child process with this env.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TVM_BIN = join(REPO_ROOT, 'bin', 'tvm.js');

/** An SDK user: loads a profile with fromIni, calls GetCallerIdentity, prints the ARN and the key id. */
const SDK_CLIENT = `
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni } from '@aws-sdk/credential-providers';
const [profile, endpoint] = process.argv.slice(1);
const client = new STSClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: fromIni({ profile }) });
const identity = await client.send(new GetCallerIdentityCommand({}));
const { accessKeyId } = await client.config.credentials();
process.stdout.write(JSON.stringify({ arn: identity.Arn, accessKeyId }));
`;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
let principal: string;
let configFile: string;
let env: NodeJS.ProcessEnv;

function run(command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function callerIdentityThroughSdk(profile: string): Promise<{ arn: string; accessKeyId: string }> {
  const result = await run(process.execPath, ['--input-type=module', '-e', SDK_CLIENT, '--', profile, stackInfo().stsEndpoint]);
  if (result.code !== 0) throw new Error(`SDK client failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as { arn: string; accessKeyId: string };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tvm-cli-e2e-'));
  principal = `cli-${randomBytes(4).toString('hex')}@example.com`;
  configFile = join(dir, 'aws', 'config');
  // `tvm` on PATH, as an installed CLI would be; the shim pins the node running the tests.
  const binDir = join(dir, 'bin');
  await mkdir(binDir);
  await writeFile(join(binDir, 'tvm'), `#!/bin/sh\nexec "${process.execPath}" "${TVM_BIN}" "$@"\n`, { mode: 0o755 });
  env = {
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    HOME: dir,
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws', 'credentials'),
    TVM_URL: stackInfo().apiUrl,
    TVM_TOKEN: await tokenFor(principal, ['engineering']),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    TVM_STACK_FILE: join(dir, 'no-stack.json'),
  };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tvm as the AWS SDK credential_process', () => {
  it('configure --write, then fromIni + GetCallerIdentity as the assumed role; a second SDK process reuses the cache', async () => {
    // Prepare: an AWS config with the user's own content, then tvm's profiles merged in
    await mkdir(join(dir, 'aws'));
    await writeFile(configFile, '[default]\nregion = eu-west-1\n');
    const configured = await run('tvm', ['configure', '--write']);
    expect({ code: configured.code, stderr: configured.stderr }).toEqual({ code: 0, stderr: '' });
    const config = await readFile(configFile, 'utf8');
    expect(config).toBe(
      '[default]\nregion = eu-west-1\n\n[profile tvm-demo-readonly]\ncredential_process = tvm credentials demo-readonly --format credential-process\n',
    );
    expect((await readdir(join(dir, 'aws'))).filter((name) => name.startsWith('config.tvm-backup-'))).toHaveLength(1);

    // Act
    const first = await callerIdentityThroughSdk('tvm-demo-readonly');
    const second = await callerIdentityThroughSdk('tvm-demo-readonly');

    // Assess
    expect(first.arn).toBe(`arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/${principal}`);
    expect(first.accessKeyId).toMatch(/^ASIA/);
    expect(second).toEqual(first);
    const security = await tokenFor('cli-e2e-auditor@example.com', SECURITY_GROUPS);
    const issued = await api<{ events: { type: string; accessKeyId?: string; profile?: string }[] }>(
      'GET',
      `/audit/events?principal=${encodeURIComponent(principal)}&type=credential.issued`,
      { token: security },
    );
    expect(issued.status).toBe(200);
    expect(issued.body.events.map((e) => ({ type: e.type, accessKeyId: e.accessKeyId, profile: e.profile }))).toEqual([
      { type: 'credential.issued', accessKeyId: first.accessKeyId, profile: 'demo-readonly' },
    ]);
    // The token never reaches the disk; the cached secret only in tvm's 0600 cache file.
    expect(config).not.toContain(env.TVM_TOKEN);
    const cached = await readdir(join(dir, 'cache', 'tvm'));
    expect(cached).toHaveLength(1);
    expect(await readFile(join(dir, 'cache', 'tvm', cached[0] ?? ''), 'utf8')).not.toContain(env.TVM_TOKEN);
  });
});
