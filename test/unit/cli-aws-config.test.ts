// Merging tvm's profiles into an AWS config file: everything tvm did not write stays byte for byte,
// tvm's old stanzas are replaced, someone else's [profile tvm-…] is left alone, and writing keeps a
// 0600 backup.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsConfigPath, mergeAwsConfig, readAwsConfig, renderStanza, writeAwsConfig } from '../../cli/aws-config.js';

const USER_CONFIG = [
  '# my settings',
  '[default]',
  'region = eu-west-1',
  'output=json',
  '',
  '[profile work]',
  'sso_session = corp',
  'sso_account_id = 111111111111',
  '; a comment about s3',
  's3 =',
  '    max_concurrent_requests = 20',
  '',
  '[sso-session corp]',
  'sso_start_url = https://corp.awsapps.com/start',
  '',
].join('\n');

describe('mergeAwsConfig', () => {
  it('appends one stanza per profile and keeps the existing text unchanged before them', () => {
    // Act
    const { text, replaced } = mergeAwsConfig(USER_CONFIG, [{ name: 'demo-readonly' }, { name: 'demo-deploy', region: 'us-east-1' }]);

    // Assess
    expect(replaced).toEqual([]);
    expect(text).toBe(
      USER_CONFIG +
        '\n' +
        '[profile tvm-demo-readonly]\ncredential_process = tvm credentials demo-readonly --format credential-process\n' +
        '\n' +
        '[profile tvm-demo-deploy]\ncredential_process = tvm credentials demo-deploy --format credential-process\nregion = us-east-1\n',
    );
  });

  it('replaces the stanzas tvm wrote, wherever they are, and keeps everything around them byte for byte', () => {
    // Prepare: tvm's stanzas between and after the user's, a comment introducing the next section,
    // CRLF line endings in the user's part
    const before = '[default]\r\nregion = eu-west-1\r\n\r\n';
    const oldTvm = '[profile tvm-old]\ncredential_process = tvm credentials old --format credential-process\n\n';
    const comment = '# work account, set up by IT\n';
    const after = '[profile work]\nregion = us-east-2\n';
    const oldTvm2 = '\n[profile tvm-demo-readonly]\ncredential_process = tvm credentials demo-readonly --format credential-process\nregion = us-east-1\n';

    // Act
    const { text, replaced } = mergeAwsConfig(before + oldTvm + comment + after + oldTvm2, [{ name: 'demo-readonly' }]);

    // Assess
    expect(replaced).toEqual(['tvm-old', 'tvm-demo-readonly']);
    expect(text).toBe(before + comment + after + '\n' + renderStanza({ name: 'demo-readonly' }));
  });

  it('gives the same file when merged twice', () => {
    // Prepare
    const stanzas = [{ name: 'a' }, { name: 'b' }];
    const once = mergeAwsConfig(USER_CONFIG, stanzas).text;

    // Act
    const twice = mergeAwsConfig(once, stanzas).text;

    // Assess
    expect(twice).toBe(once);
  });

  it("leaves a [profile tvm-…] that is not tvm's alone and does not write a second one", () => {
    // Prepare
    const mine = '[profile tvm-demo-readonly]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n';

    // Act
    const { text, skipped } = mergeAwsConfig(mine, [{ name: 'demo-readonly' }, { name: 'demo-deploy' }]);

    // Assess
    expect(skipped).toEqual(['tvm-demo-readonly']);
    expect(text).toBe(mine + '\n' + renderStanza({ name: 'demo-deploy' }));
  });

  it('removes every stanza tvm wrote when no profile is usable any more', () => {
    // Prepare
    const withTvm = mergeAwsConfig(USER_CONFIG, [{ name: 'a' }]).text;

    // Act
    const { text } = mergeAwsConfig(withTvm, []);

    // Assess
    expect(text).toBe(USER_CONFIG + '\n');
  });

  it('starts an empty or missing file with just the stanzas, and ends a last line without newline first', () => {
    // Act / Assess
    expect(mergeAwsConfig('', [{ name: 'a' }]).text).toBe(renderStanza({ name: 'a' }));
    expect(mergeAwsConfig('[default]\nregion = x', [{ name: 'a' }]).text).toBe('[default]\nregion = x\n\n' + renderStanza({ name: 'a' }));
  });
});

describe('writeAwsConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tvm-aws-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('backs the old file up (0600, same bytes) and writes the new one 0600', async () => {
    // Prepare: bytes that are not UTF-8 must survive too
    const path = join(dir, 'config');
    const original = Buffer.concat([Buffer.from('[default]\n# caf'), Buffer.from([0xe9]), Buffer.from('\nregion = x\n')]);
    await writeFile(path, original, { mode: 0o644 });
    const merged = mergeAwsConfig((await readAwsConfig(path)) ?? '', [{ name: 'a' }]).text;

    // Act
    const backup = await writeAwsConfig(path, merged, new Date('2026-11-26T12:00:00.123Z'));

    // Assess
    expect(backup).toBe(`${path}.tvm-backup-20261126T120000.123Z`);
    expect(await readFile(backup ?? '')).toEqual(original);
    expect((await stat(backup ?? '')).mode & 0o777).toBe(0o600);
    expect(await readFile(path)).toEqual(Buffer.concat([original, Buffer.from('\n' + renderStanza({ name: 'a' }))]));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['config', 'config.tvm-backup-20261126T120000.123Z']);
  });

  it('creates the file (and its directory) when there is none, without a backup', async () => {
    // Prepare
    const path = join(dir, '.aws', 'config');

    // Act
    const backup = await writeAwsConfig(path, renderStanza({ name: 'a' }));

    // Assess
    expect(backup).toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe(renderStanza({ name: 'a' }));
    expect((await stat(join(dir, '.aws'))).mode & 0o777).toBe(0o700);
  });
});

describe('awsConfigPath', () => {
  it('prefers --aws-config, then $AWS_CONFIG_FILE, then ~/.aws/config', () => {
    // Act / Assess
    expect(awsConfigPath({ AWS_CONFIG_FILE: '/e/config' }, '/home/a', '/flag/config')).toBe('/flag/config');
    expect(awsConfigPath({ AWS_CONFIG_FILE: '/e/config' }, '/home/a')).toBe('/e/config');
    expect(awsConfigPath({ AWS_CONFIG_FILE: '~/custom' }, '/home/a')).toBe('/home/a/custom');
    expect(awsConfigPath({}, '/home/a')).toBe('/home/a/.aws/config');
  });
});
