// The CLI as people install it, as the AWS SDK's and the AWS CLI's credential_process, against the
// local stack. `npm run pack:cli`'s tarball goes into a temporary prefix with `npm install -g`
// (offline: it has no dependencies), and `tvm` runs from that prefix's bin/ on PATH: `tvm configure
// --write` writes a temporary AWS config, a separate node process (as an SDK user would run) loads
// the profile with fromIni, then the AWS CLI does, each calling GetCallerIdentity on the local STS:
// tvm's assumed role and session name, from one issuance (tvm's cache serves the later calls), and
// the local STS records the AWS CLI's use of that key (its user agent) like the SDK's.
// The SDK and the AWS CLI run credential_process with their process's real environment, which a Jest
// test cannot change (process.env here is a sandbox copy): hence child processes with this env.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packCli, PACKAGE_NAME, type PackedCli } from '../../cli/release/pack.js';
import { ADMIN_GROUPS, api, eventually, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Packing (esbuild) and installing (npm) take a few seconds each on a busy machine.
const INSTALL_TIMEOUT_MS = 120_000;

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
let prefix: string;
let packed: PackedCli;
let principal: string;
let configFile: string;
let env: NodeJS.ProcessEnv;

function run(command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectSuccess(result: Run): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
}

interface AuditEventBody {
  readonly type: string;
  readonly accessKeyId?: string;
  readonly profile?: string;
  readonly userAgent?: string;
}

async function auditEvents(query: Record<string, string>): Promise<AuditEventBody[]> {
  const security = await tokenFor('cli-e2e-auditor@example.com', SECURITY_GROUPS);
  const response = await api<{ events: AuditEventBody[] }>('GET', `/audit/events?${new URLSearchParams(query)}`, { token: security });
  expect(response.status).toBe(200);
  return response.body.events;
}

async function callerIdentityThroughSdk(profile: string): Promise<{ arn: string; accessKeyId: string }> {
  const result = await run(process.execPath, ['--input-type=module', '-e', SDK_CLIENT, '--', profile, stackInfo().stsEndpoint]);
  if (result.code !== 0) throw new Error(`SDK client failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as { arn: string; accessKeyId: string };
}

async function callerIdentityThroughAwsCli(profile: string): Promise<string> {
  const args = ['sts', 'get-caller-identity', '--profile', profile, '--endpoint-url', stackInfo().stsEndpoint, '--region', 'us-east-1', '--output', 'json'];
  const identity = await run('aws', args);
  if (identity.code !== 0) throw new Error(`aws sts get-caller-identity failed (${identity.code}): ${identity.stderr}`);
  return (JSON.parse(identity.stdout) as { Arn: string }).Arn;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tvm-cli-e2e-'));
  principal = `cli-${randomBytes(4).toString('hex')}@example.com`;
  configFile = join(dir, 'aws', 'config');
  prefix = join(dir, 'prefix');
  env = {
    // The installed tvm first; then the node running the tests, for its `#!/usr/bin/env node`.
    PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: dir,
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws', 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    TVM_URL: stackInfo().apiUrl,
    TVM_TOKEN: await tokenFor(principal, ['engineering']),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    TVM_STACK_FILE: join(dir, 'no-stack.json'),
  };
  packed = await packCli(join(dir, 'pack'));
  // No registry involved: the tarball needs nothing but itself.
  const npm = await run('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', packed.tarball], {
    npm_config_cache: join(dir, 'npm-cache'),
  });
  expect({ code: npm.code, stderr: npm.stderr }).toEqual({ code: 0, stderr: '' });
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the packed CLI', () => {
  it('installs alone: one package, no dependencies, under 1 MB, and tells its version', async () => {
    // Prepare
    const installed = join(prefix, 'lib', 'node_modules', PACKAGE_NAME);
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

    // Act
    const result = await run('tvm', ['--version']);

    // Assess
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: `${version}\n` });
    expect(await readdir(join(prefix, 'lib', 'node_modules'))).toEqual([PACKAGE_NAME]);
    expect((await readdir(installed)).sort()).toEqual(['README.md', 'THIRD-PARTY-LICENSES.md', 'bin', 'lib', 'package.json']);
    expect(manifest).toMatchObject({ name: PACKAGE_NAME, version, type: 'module', bin: { tvm: 'bin/tvm.cjs' }, engines: { node: '>=20' } });
    expect(manifest).not.toHaveProperty('dependencies');
    expect(manifest).not.toHaveProperty('scripts');
    expect(packed.tarballBytes).toBeLessThanOrEqual(1_000_000);
  });

  it('runs the commands that need the rest of the bundle: dev-token (jose), me (the API), completion', async () => {
    // Act
    const token = await run('tvm', ['dev-token', '--sub', principal, '--groups', 'engineering', '--stack', process.env.TVM_E2E_STACK_FILE ?? '']);
    const me = await run('tvm', ['me', '--json'], { TVM_TOKEN: token.stdout.trim() });
    const completion = await run('tvm', ['completion', 'bash']);

    // Assess
    expectSuccess(token);
    expectSuccess(me);
    expect(JSON.parse(me.stdout)).toMatchObject({ principal });
    expectSuccess(completion);
    expect(completion.stdout).toContain('complete -o default -F _tvm tvm');
  });
});

describe('tvm as credential_process', () => {
  it('configure --write, then the SDK (twice) and the AWS CLI call GetCallerIdentity as the assumed role, from one issuance', async () => {
    // Prepare: an AWS config with the user's own content, then tvm's profiles merged in
    await mkdir(join(dir, 'aws'));
    await writeFile(configFile, '[default]\nregion = eu-west-1\n');
    const configured = await run('tvm', ['configure', '--write']);
    expectSuccess(configured);
    const config = await readFile(configFile, 'utf8');
    expect(config).toBe(
      '[default]\nregion = eu-west-1\n\n[profile tvm-demo-readonly]\ncredential_process = tvm credentials demo-readonly --format credential-process\n',
    );
    expect((await readdir(join(dir, 'aws'))).filter((name) => name.startsWith('config.tvm-backup-'))).toHaveLength(1);

    // Act
    const first = await callerIdentityThroughSdk('tvm-demo-readonly');
    const second = await callerIdentityThroughSdk('tvm-demo-readonly');
    const awsCliArn = await callerIdentityThroughAwsCli('tvm-demo-readonly');

    // Assess
    expect(first.arn).toBe(`arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/${principal}`);
    expect(first.accessKeyId).toMatch(/^ASIA/);
    expect(second).toEqual(first);
    expect(awsCliArn).toBe(first.arn);
    const issued = await auditEvents({ principal, type: 'credential.issued' });
    expect(issued.map((e) => ({ type: e.type, accessKeyId: e.accessKeyId, profile: e.profile }))).toEqual([
      { type: 'credential.issued', accessKeyId: first.accessKeyId, profile: 'demo-readonly' },
    ]);
    // The AWS CLI signed with that one key too: its use is recorded with its user agent.
    const uses = await eventually('3 uses of the key', async () => {
      const used = await auditEvents({ accessKeyId: first.accessKeyId, type: 'credential.used' });
      return used.length >= 3 ? used : undefined;
    });
    expect(uses.map((use) => use.userAgent ?? '').filter((agent) => agent.startsWith('aws-cli/'))).toHaveLength(1);
    // The token never reaches the disk; the cached secret only in tvm's 0600 cache file.
    expect(config).not.toContain(env.TVM_TOKEN);
    const cached = await readdir(join(dir, 'cache', 'tvm'));
    expect(cached).toHaveLength(1);
    const cacheFile = await readFile(join(dir, 'cache', 'tvm', cached[0] ?? ''), 'utf8');
    expect(cacheFile).not.toContain(env.TVM_TOKEN);
    expect(cacheFile).toContain(first.accessKeyId);
  });

  it('never serves a cut-off key from its cache: after a revocation the next call vends afresh, and with no grant left fails with the API’s code', async () => {
    // Prepare: a profile only the principal's own grants open (on a role no demo profile names)
    const admin = await tokenFor('cli-e2e-admin@example.com', ADMIN_GROUPS);
    const profile = `cli-cut-${randomBytes(4).toString('hex')}`;
    const validUntil = new Date(Date.now() + 3_600_000).toISOString();
    expect((await api('PUT', `/profiles/${profile}`, { token: admin, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-sandbox' } })).status).toBe(200);
    const grant = async (): Promise<string> => {
      const created = await api<{ id: string }>('POST', '/grants', { token: admin, body: { profile, subject: { type: 'user', id: principal }, validUntil } });
      expect(created.status).toBe(201);
      return created.body.id;
    };
    const revoke = async (id: string) => expect((await api('DELETE', `/grants/${id}`, { token: admin })).status).toBe(200);
    const call = () => run('tvm', ['credentials', profile, '--format', 'credential-process']);
    const keyOf = (result: Run) => (JSON.parse(result.stdout) as { AccessKeyId: string }).AccessKeyId;
    const firstGrant = await grant();
    const vended = await call();
    expectSuccess(vended);
    const cached = await call();
    expectSuccess(cached);
    expect(cached.stdout).toBe(vended.stdout);
    const secondGrant = await grant();

    // Act
    await revoke(firstGrant);
    const afterFirst = await call();
    const afterFirstAgain = await call();
    await revoke(secondGrant);
    const afterSecond = await call();

    // Assess: a new session under the grant left (then cached again), then the API's refusal
    expectSuccess(afterFirst);
    expect(keyOf(afterFirst)).not.toBe(keyOf(vended));
    expect(afterFirstAgain.stdout).toBe(afterFirst.stdout);
    expect({ code: afterSecond.code, stdout: afterSecond.stdout }).toEqual({ code: 4, stdout: '' });
    expect(afterSecond.stderr).toMatch(/^tvm: NO_GRANT: /);
    const issued = await auditEvents({ principal, type: 'credential.issued', profile });
    expect(issued.map((e) => e.accessKeyId).sort()).toEqual([keyOf(vended), keyOf(afterFirst)].sort());
  });
});
