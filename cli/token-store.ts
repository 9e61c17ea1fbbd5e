// Where `tvm login` keeps the caller's token: one file under the XDG cache directory, readable by
// its owner only (0600 in a 0700 directory), until the token expires. `tvm logout` removes it.
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CliContext } from './context.js';

/** A token this close to its expiry is not used: it could expire on its way to the API. */
const EXPIRY_MARGIN_MS = 30_000;

export interface StoredLogin {
  readonly token: string;
  readonly issuer: string;
  /** ISO 8601, from the token's `exp`. */
  readonly expiresAt: string;
}

export function tokenFilePath(context: Pick<CliContext, 'env' | 'homeDir'>): string {
  const base = context.env.XDG_CACHE_HOME || join(context.homeDir, '.cache');
  return join(base, 'tvm', 'login.json');
}

export async function saveLogin(context: Pick<CliContext, 'env' | 'homeDir'>, login: StoredLogin): Promise<string> {
  const path = tokenFilePath(context);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written with its mode, and the mode set again: an older file keeps the mode it was created with.
  await writeFile(path, `${JSON.stringify(login)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

/** The stored token while it is usable; undefined when there is none, it expired or the file is unreadable. */
export async function loadLogin(context: Pick<CliContext, 'env' | 'homeDir'>, now: Date = new Date()): Promise<StoredLogin | undefined> {
  try {
    // Read synchronously: every cached `credential_process` call reads it (see fast-path.ts).
    const stored = JSON.parse(readFileSync(tokenFilePath(context), 'utf8')) as Partial<StoredLogin>;
    if (typeof stored.token !== 'string' || typeof stored.issuer !== 'string' || typeof stored.expiresAt !== 'string') return undefined;
    if (!(Date.parse(stored.expiresAt) - EXPIRY_MARGIN_MS > now.getTime())) return undefined;
    return { token: stored.token, issuer: stored.issuer, expiresAt: stored.expiresAt };
  } catch {
    return undefined;
  }
}

/** True when there was a stored login to remove. */
export async function removeLogin(context: Pick<CliContext, 'env' | 'homeDir'>): Promise<boolean> {
  const path = tokenFilePath(context);
  try {
    await readFile(path);
  } catch {
    return false;
  }
  await rm(path, { force: true });
  return true;
}
