// `tvm configure` with the real CLI against a fake tvm API: one stanza per usable profile from
// GET /me, printed or merged into the AWS config file with a backup, everything else kept.
import { jest } from '@jest/globals';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_TIMEOUT_MS, fakeToken, makeTvmHome, startFakeApi, type FakeApi, type TvmHome } from './support/cli-harness.js';

jest.setTimeout(CLI_TIMEOUT_MS * 3);

const ALICE = fakeToken('alice@example.com');
let api: FakeApi;
let home: TvmHome;
let grants: { grantId: string; profile: string }[];

beforeAll(async () => {
  api = await startFakeApi();
});

afterAll(async () => {
  await api.close();
});

beforeEach(async () => {
  grants = [
    { grantId: 'g-1', profile: 'demo-readonly' },
    { grantId: 'g-2', profile: 'billing' },
    { grantId: 'g-3', profile: 'demo-readonly' },
  ];
  api.route('GET', '/me', () => ({ body: { principal: 'alice@example.com', groups: ['engineering'], grants } }));
  api.requests.length = 0;
  home = await makeTvmHome({ TVM_URL: api.url, TVM_TOKEN: ALICE });
});

afterEach(async () => {
  await home.remove();
});

const stanza = (name: string) => `[profile tvm-${name}]\ncredential_process = tvm credentials ${name} --format credential-process\n`;

describe('tvm configure', () => {
  it('prints one stanza per distinct usable profile, sorted, and writes nothing', async () => {
    // Act
    const result = await home.run(['configure']);

    // Assess
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toBe(stanza('billing') + '\n' + stanza('demo-readonly'));
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /me']);
    expect(api.requests[0]?.headers.authorization).toBe(`Bearer ${ALICE}`);
    expect(await readdir(home.dir)).toEqual([]);
  });

  it('adds region when asked', async () => {
    // Act
    const result = await home.run(['configure', '--region', 'eu-west-1']);

    // Assess
    expect(result.stdout).toContain('[profile tvm-billing]\ncredential_process = tvm credentials billing --format credential-process\nregion = eu-west-1\n');
  });

  it('never writes a profile name that could run something else from ~/.aws/config', async () => {
    // Prepare
    grants.push({ grantId: 'g-4', profile: 'x; rm -rf ~' });

    // Act
    const result = await home.run(['configure']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('rm -rf');
    expect(result.stderr).toBe('tvm: warning: skipping profile with an unusable name: "x; rm -rf ~"\n');
  });

  it('--write merges into $AWS_CONFIG_FILE: keeps the rest, replaces old tvm stanzas, backs up, 0600', async () => {
    // Prepare
    const path = join(home.dir, 'aws-config');
    const mine = '[default]\nregion = eu-west-1\n\n[profile work]\nsso_session = corp\n';
    const original = mine + '\n' + stanza('retired');
    await writeFile(path, original, { mode: 0o644 });

    // Act
    const result = await home.run(['configure', '--write'], { AWS_CONFIG_FILE: path });

    // Assess
    expect(result.code).toBe(0);
    expect(await readFile(path, 'utf8')).toBe(mine + '\n' + stanza('billing') + '\n' + stanza('demo-readonly'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const backups = (await readdir(home.dir)).filter((name) => name.startsWith('aws-config.tvm-backup-'));
    expect(backups).toHaveLength(1);
    expect(await readFile(join(home.dir, backups[0] ?? ''), 'utf8')).toBe(original);
    expect(result.stdout).toBe(`wrote 2 tvm profiles to ${path} (backup: ${join(home.dir, backups[0] ?? '')})\n  tvm-billing\n  tvm-demo-readonly\n`);
  });

  it('--write creates ~/.aws/config when there is none, and a second run changes nothing', async () => {
    // Act
    const first = await home.run(['configure', '--write']);
    const second = await home.run(['configure', '--write', '--json']);

    // Assess
    const path = join(home.dir, '.aws', 'config');
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(await readFile(path, 'utf8')).toBe(stanza('billing') + '\n' + stanza('demo-readonly'));
    expect(await readdir(join(home.dir, '.aws'))).toEqual(['config']);
    expect(JSON.parse(second.stdout)).toEqual({
      principal: 'alice@example.com',
      profiles: ['tvm-billing', 'tvm-demo-readonly'],
      path,
      changed: false,
    });
  });

  it('--write warns when no tvm is on PATH for the AWS CLI to run, and not when there is one', async () => {
    // Prepare: a PATH directory with an executable tvm, and one without
    const bin = join(home.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'tvm'), '#!/bin/sh\n', { mode: 0o755 });
    const empty = join(home.dir, 'empty');
    await mkdir(empty);
    await writeFile(join(empty, 'tvm'), 'not executable', { mode: 0o644 });
    const path = join(home.dir, 'aws-config');

    // Act
    const without = await home.run(['configure', '--write'], { AWS_CONFIG_FILE: path, PATH: `${empty}:/usr/bin:/bin` });
    const withTvm = await home.run(['configure', '--write'], { AWS_CONFIG_FILE: path, PATH: `${empty}:${bin}:/usr/bin:/bin` });

    // Assess
    expect([without.code, withTvm.code]).toEqual([0, 0]);
    expect(without.stderr).toBe(
      'tvm: warning: the AWS CLI and SDKs run `tvm credentials` from your PATH, and no tvm is on it: ' +
        'install the CLI (npm install -g <the tvm tarball>, or npm link in the repository) before using these profiles\n',
    );
    expect(withTvm.stderr).toBe('');
  });

  it('--aws-config names the file to write', async () => {
    // Prepare
    const path = join(home.dir, 'elsewhere', 'config');

    // Act
    const result = await home.run(['configure', '--write', '--aws-config', path], { AWS_CONFIG_FILE: join(home.dir, 'not-this') });

    // Assess
    expect(result.code).toBe(0);
    expect(await readFile(path, 'utf8')).toContain('[profile tvm-billing]');
    expect(await readdir(home.dir)).not.toContain('not-this');
  });

  it('exits 4 with the API code when /me is refused, and leaves the file alone', async () => {
    // Prepare
    api.route('GET', '/me', () => ({ status: 403, body: { error: { code: 'LOCKDOWN_ACTIVE', message: 'locked down', requestId: 'r' } } }));
    const path = join(home.dir, 'aws-config');
    await writeFile(path, '[default]\n');

    // Act
    const result = await home.run(['configure', '--write'], { AWS_CONFIG_FILE: path });

    // Assess
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 4,
      stdout: '',
      stderr: 'tvm: LOCKDOWN_ACTIVE: locked down\n',
    });
    expect(await readdir(home.dir)).toEqual(['aws-config']);
  });
});
