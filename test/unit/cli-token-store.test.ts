// The token `tvm login` keeps: only its owner may read it, and it is used only while it is good.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLogin, removeLogin, saveLogin, tokenFilePath } from '../../cli/token-store.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'tvm-token-store-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const context = () => ({ env: {}, homeDir: home });
const NOW = new Date('2026-12-05T10:00:00.000Z');

it('keeps the token under ~/.cache/tvm (XDG_CACHE_HOME when set), 0600, and reads it back while it has more than 30 s left', async () => {
  // Act
  const path = await saveLogin(context(), { token: 'a.b.c', issuer: 'https://idp.example.com/', expiresAt: '2026-12-05T10:00:31.000Z' });

  // Assess
  expect(path).toBe(join(home, '.cache', 'tvm', 'login.json'));
  expect(tokenFilePath({ env: { XDG_CACHE_HOME: '/x' }, homeDir: home })).toBe('/x/tvm/login.json');
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  expect(await loadLogin(context(), NOW)).toEqual({ token: 'a.b.c', issuer: 'https://idp.example.com/', expiresAt: '2026-12-05T10:00:31.000Z' });
  expect(await loadLogin(context(), new Date('2026-12-05T10:00:01.000Z'))).toBeUndefined();
});

it('a file left readable by others is made 0600 when the token is next kept', async () => {
  // Prepare
  await saveLogin(context(), { token: 'old', issuer: 'https://idp.example.com/', expiresAt: '2026-12-05T11:00:00.000Z' });
  await writeFile(tokenFilePath(context()), '{}', { mode: 0o644 });
  const { chmod } = await import('node:fs/promises');
  await chmod(tokenFilePath(context()), 0o644);

  // Act
  await saveLogin(context(), { token: 'new', issuer: 'https://idp.example.com/', expiresAt: '2026-12-05T11:00:00.000Z' });

  // Assess
  expect((await stat(tokenFilePath(context()))).mode & 0o777).toBe(0o600);
});

it('treats a missing, malformed or incomplete file as no login, and logout as idempotent', async () => {
  // Act, Assess
  expect(await loadLogin(context(), NOW)).toBeUndefined();
  await saveLogin(context(), { token: 'a.b.c', issuer: 'https://idp.example.com/', expiresAt: '2026-12-05T11:00:00.000Z' });
  await writeFile(tokenFilePath(context()), '{"token": 1}');
  expect(await loadLogin(context(), NOW)).toBeUndefined();
  expect(await removeLogin(context())).toBe(true);
  expect(await removeLogin(context())).toBe(false);
});
