// `npm run pack:cli`'s tarball, installed the way people install it (`npm install -g`, into a
// temporary prefix, offline: it depends on nothing) and run against a fake tvm API: it starts,
// every command answers --help, it vends and then serves from its cache. Its first file holds only
// the fast path: a cached credential_process call loads no dependency at all.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { createProgram } from '../../cli/main.js';
import { MAX_TARBALL_BYTES, packCli, PACKAGE_NAME, type PackedCli } from '../../cli/release/pack.js';
import { fakeToken, startFakeApi, type FakeApi } from './support/cli-harness.js';

const INSTALL_TIMEOUT_MS = 120_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
let prefix: string;
let packed: PackedCli;
let api: FakeApi;
let env: Record<string, string>;

function run(command: string, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function commandPaths(command: Command, prefixWords: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...prefixWords, sub.name()], ...commandPaths(sub, [...prefixWords, sub.name()])]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tvm-cli-pack-'));
  prefix = join(dir, 'prefix');
  api = await startFakeApi();
  env = {
    // The installed tvm, then the node running the tests for its `#!/usr/bin/env node`, and npm.
    PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: dir,
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    TVM_STACK_FILE: join(dir, 'no-stack.json'),
    TVM_URL: api.url,
    TVM_TOKEN: fakeToken('alice@example.com'),
    npm_config_cache: join(dir, 'npm-cache'),
  };
  packed = await packCli(join(dir, 'pack'));
  const npm = await run('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', packed.tarball]);
  expect({ code: npm.code, stderr: npm.stderr }).toEqual({ code: 0, stderr: '' });
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the packed CLI', () => {
  it('is one package under 1 MB with no dependencies, no scripts, its README and its bundled packages’ licences', async () => {
    // Prepare
    const installed = join(prefix, 'lib', 'node_modules', PACKAGE_NAME);
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;

    // Assess
    expect(packed.tarballBytes).toBeLessThanOrEqual(MAX_TARBALL_BYTES);
    expect(await readdir(join(prefix, 'lib', 'node_modules'))).toEqual([PACKAGE_NAME]);
    expect((await readdir(installed)).sort()).toEqual(['README.md', 'THIRD-PARTY-LICENSES.md', 'bin', 'lib', 'package.json']);
    expect(manifest).toMatchObject({ name: PACKAGE_NAME, type: 'module', bin: { tvm: 'bin/tvm.cjs' }, engines: { node: '>=20' } });
    expect(Object.keys(manifest).filter((key) => /dependencies|scripts/i.test(key))).toEqual([]);
    expect(await readFile(join(installed, 'THIRD-PARTY-LICENSES.md'), 'utf8')).toMatch(/## commander [\d.]+ \(MIT\)[\s\S]*## zod /);
  });

  it('keeps the dependencies and the command tree out of the file every call loads', () => {
    expect(packed.entryInputs).toContain('cli/fast-path.ts');
    expect(packed.entryInputs.filter((input) => input.includes('node_modules') || input.startsWith('cli/commands/') || input === 'cli/main.ts')).toEqual([]);
  });

  it('tells its version and answers --help for every command', async () => {
    // Prepare
    const { version } = JSON.parse(await readFile(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
    const program = createProgram({ repoRoot: process.cwd(), env: {}, homeDir: dir, stdout: { write: () => true }, stderr: { write: () => true } });

    // Act
    const versionRun = await run('tvm', ['--version']);
    const helps = await Promise.all(commandPaths(program).map(async (path) => ({ path, result: await run('tvm', [...path, '--help']) })));

    // Assess
    expect(versionRun).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    for (const { path, result } of helps) {
      expect({ path, code: result.code, stderr: result.stderr }).toEqual({ path, code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^Usage: tvm ${path.join(' ')}`));
    }
  });

  it('vends once through the API, then answers credential_process from its cache after asking whether a cut-off was decided since', async () => {
    // Prepare
    api.route('POST', '/credentials', () => ({
      body: {
        credentials: { accessKeyId: 'ASIAPACKED000001', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date(Date.now() + 3_600_000).toISOString() },
        cutOffEpoch: 9,
      },
    }));
    api.route('GET', '/cut-off-epoch', (request) => (request.headers['if-none-match'] === '"9"' ? { status: 304 } : { body: { cutOffEpoch: 9 } }));

    // Act
    const first = await run('tvm', ['credentials', 'demo-readonly', '--format', 'credential-process']);
    const second = await run('tvm', ['credentials', 'demo-readonly', '--format', 'credential-process']);

    // Assess
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(first.stdout)).toMatchObject({ Version: 1, AccessKeyId: 'ASIAPACKED000001' });
    expect(second).toEqual(first);
    expect(api.requests.map((request) => `${request.method} ${request.url}`)).toEqual(['POST /credentials', 'GET /cut-off-epoch']);
  });
});
