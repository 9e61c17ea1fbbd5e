// The CLI's credential cache on a real temp directory: hits, misses, the 5-minute refresh window,
// corrupt or too-open files (or files without the cut-off epoch) treated as misses, 0600 files in a
// 0700 directory, and the key.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cacheFileName,
  createCredentialCache,
  defaultCacheDir,
  principalOfToken,
  REFRESH_WINDOW_MS,
  type CacheKey,
  type VendResponse,
} from '../../cli/credential-cache.js';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const KEY: CacheKey = { url: 'https://tvm.example.com', principal: '["https://idp.example.com","alice"]', profile: 'demo-readonly' };

function aVendResponse(expiration: Date, accessKeyId = 'ASIAEXAMPLE'): VendResponse {
  return {
    credentials: { accessKeyId, secretAccessKey: 'secret', sessionToken: 'session-token', expiration: expiration.toISOString() },
    profile: 'demo-readonly',
    roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly',
    cutOffEpoch: 5,
  };
}

function aToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256' })}.${part(claims)}.signature`;
}

let root: string;
let dir: string;
let now: Date;
const warnings: string[] = [];
const cache = () => createCredentialCache({ dir, now: () => now, warn: (message) => warnings.push(message) });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tvm-cache-'));
  dir = join(root, 'tvm');
  now = NOW;
  warnings.length = 0;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('credential cache', () => {
  it('misses when nothing was stored, then hits with what was stored', async () => {
    // Prepare
    const response = aVendResponse(new Date(NOW.getTime() + 3600_000));

    // Act
    const before = await cache().get(KEY);
    const stored = await cache().put(KEY, response);
    const after = await cache().get(KEY);

    // Assess
    expect(before).toBeUndefined();
    expect(stored).toBe(true);
    expect(after).toEqual(response);
  });

  it('hands out credentials until 5 minutes before they expire, and not after', async () => {
    // Prepare
    const expiration = new Date(NOW.getTime() + 3600_000);
    await cache().put(KEY, aVendResponse(expiration));

    // Act
    now = new Date(expiration.getTime() - REFRESH_WINDOW_MS - 1000);
    const justBefore = await cache().get(KEY);
    now = new Date(expiration.getTime() - REFRESH_WINDOW_MS);
    const atTheWindow = await cache().get(KEY);
    now = new Date(expiration.getTime() + 1000);
    const expired = await cache().get(KEY);

    // Assess
    expect(REFRESH_WINDOW_MS).toBe(5 * 60 * 1000);
    expect(justBefore?.credentials.accessKeyId).toBe('ASIAEXAMPLE');
    expect(atTheWindow).toBeUndefined();
    expect(expired).toBeUndefined();
  });

  it('creates the directory 0700 and the file 0600, and leaves no temp files', async () => {
    // Act
    await cache().put(KEY, aVendResponse(new Date(NOW.getTime() + 3600_000)));

    // Assess
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(dir)).toEqual([cacheFileName(KEY)]);
    expect((await stat(join(dir, cacheFileName(KEY)))).mode & 0o777).toBe(0o600);
  });

  it('tightens an existing directory that others could read', async () => {
    // Prepare
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);

    // Act
    await cache().put(KEY, aVendResponse(new Date(NOW.getTime() + 3600_000)));

    // Assess
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it.each([
    ['not JSON', '{"version":1,"response":{"credentials":'],
    ['JSON of another shape', JSON.stringify({ version: 2, response: { credentials: { accessKeyId: 'A' } } })],
    ['an unknown version', JSON.stringify({ version: 3, response: aVendResponse(new Date(NOW.getTime() + 3600_000)) })],
    ['an older version (1, without the cut-off epoch)', JSON.stringify({ version: 1, response: aVendResponse(new Date(NOW.getTime() + 3600_000)) })],
    ['no cut-off epoch', JSON.stringify({ version: 2, response: { ...aVendResponse(new Date(NOW.getTime() + 3600_000)), cutOffEpoch: undefined } })],
    ['a cut-off epoch that is no count', JSON.stringify({ version: 2, response: { ...aVendResponse(new Date(NOW.getTime() + 3600_000)), cutOffEpoch: -1 } })],
    ['empty', ''],
  ])('treats a corrupt file (%s) as a miss and replaces it on the next store', async (_name, contents) => {
    // Prepare
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, cacheFileName(KEY));
    await writeFile(path, contents, { mode: 0o600 });

    // Act
    const miss = await cache().get(KEY);
    await cache().put(KEY, aVendResponse(new Date(NOW.getTime() + 3600_000), 'ASIAREPLACED'));

    // Assess
    expect(miss).toBeUndefined();
    expect((await cache().get(KEY))?.credentials.accessKeyId).toBe('ASIAREPLACED');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('stores no credentials without the cut-off epoch of their vend (warning), and forgets what it is told to drop', async () => {
    // Prepare
    const { cutOffEpoch: _epoch, ...withoutEpoch } = aVendResponse(new Date(NOW.getTime() + 3600_000));
    const other: CacheKey = { ...KEY, profile: 'other' };
    await cache().put(other, aVendResponse(new Date(NOW.getTime() + 3600_000)));

    // Act
    const stored = await cache().put(KEY, withoutEpoch as VendResponse);
    cache().drop(other);
    cache().drop(KEY);

    // Assess
    expect(stored).toBe(false);
    expect(warnings).toEqual(['credentials not cached: the API did not say its cut-off epoch (is it an older tvm?)']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('ignores a file others can read, and a symlink, rather than trusting them', async () => {
    // Prepare
    await cache().put(KEY, aVendResponse(new Date(NOW.getTime() + 3600_000)));
    const path = join(dir, cacheFileName(KEY));
    const other: CacheKey = { ...KEY, profile: 'other' };
    await symlink(path, join(dir, cacheFileName(other)));

    // Act
    const throughSymlink = await cache().get(other);
    await chmod(path, 0o644);
    const tooOpen = await cache().get(KEY);

    // Assess
    expect(throughSymlink).toBeUndefined();
    expect(tooOpen).toBeUndefined();
  });

  it('never fails when the directory cannot be written: it warns and reports the miss', async () => {
    // Prepare: a file where the directory should be
    await writeFile(dir, 'not a directory');

    // Act
    const stored = await cache().put(KEY, aVendResponse(new Date(NOW.getTime() + 3600_000)));
    const read = await cache().get(KEY);

    // Assess
    expect(stored).toBe(false);
    expect(read).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('secret');
  });

  it('keys by API, principal, profile, duration, sorted scope and reason', () => {
    // Prepare
    const scoped: CacheKey = { ...KEY, actions: ['s3:GetObject', 's3:ListBucket'], resources: ['arn:aws:s3:::b', 'arn:aws:s3:::a'] };

    // Act
    const names = [
      KEY,
      { ...KEY, url: 'https://other.example.com' },
      { ...KEY, principal: '["https://idp.example.com","bob"]' },
      { ...KEY, profile: 'demo-deploy' },
      { ...KEY, durationSeconds: 3600 },
      scoped,
      { ...KEY, reason: 'incident 42' },
    ].map(cacheFileName);

    // Assess
    expect(new Set(names).size).toBe(names.length);
    expect(names[0]).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(cacheFileName({ ...scoped, actions: ['s3:ListBucket', 's3:GetObject'], resources: ['arn:aws:s3:::a', 'arn:aws:s3:::b'] })).toBe(
      cacheFileName(scoped),
    );
  });

  it('stores no token and names no principal or profile in the file name', async () => {
    // Act
    await cache().put(KEY, aVendResponse(new Date(NOW.getTime() + 3600_000)));

    // Assess
    const [name] = await readdir(dir);
    expect(name).not.toContain('alice');
    expect(name).not.toContain('demo');
    expect(await readFile(join(dir, name ?? ''), 'utf8')).not.toContain('alice');
  });
});

describe('principalOfToken', () => {
  it('is the issuer and subject of the token, whatever else the token carries', () => {
    // Act
    const first = principalOfToken(aToken({ iss: 'https://idp', sub: 'alice', iat: 1, exp: 2 }));
    const refreshed = principalOfToken(aToken({ iss: 'https://idp', sub: 'alice', iat: 3, exp: 4 }));
    const otherIssuer = principalOfToken(aToken({ iss: 'https://other-idp', sub: 'alice' }));

    // Assess
    expect(first).toBe(refreshed);
    expect(first).not.toBe(otherIssuer);
  });

  it('falls back to a digest of an opaque token, never the token itself', () => {
    // Act
    const principal = principalOfToken('opaque-token-value');

    // Assess
    expect(principal).toMatch(/^token-sha256:[0-9a-f]{64}$/);
    expect(principal).not.toContain('opaque-token-value');
  });
});

describe('defaultCacheDir', () => {
  it('uses $XDG_CACHE_HOME/tvm, else ~/.cache/tvm', () => {
    // Act / Assess
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, '/home/a')).toBe('/x/cache/tvm');
    expect(defaultCacheDir({}, '/home/a')).toBe('/home/a/.cache/tvm');
  });
});
