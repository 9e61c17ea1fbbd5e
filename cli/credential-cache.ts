// Vended credentials kept on disk between `credential_process` calls, so the AWS CLI does not vend
// on every command (as aws-vault and Granted do). One 0600 file per (API, principal, request) in a
// 0700 directory; a file is reused until 5 minutes before it expires. The cache is an optimisation:
// anything wrong with it (missing, corrupt, unreadable, too open) is a miss, never a failure.
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** How long before expiry cached credentials stop being handed out (a command may run a while). */
export const REFRESH_WINDOW_MS = 5 * 60 * 1000;
/** A cache file larger than this is not one tvm wrote. */
const MAX_FILE_BYTES = 64 * 1024;

/** What identifies a request: two requests with the same key may share credentials. */
export interface CacheKey {
  readonly url: string;
  /** iss + sub of the caller's token: whose credentials these are. */
  readonly principal: string;
  readonly profile: string;
  readonly durationSeconds?: number;
  readonly actions?: readonly string[];
  readonly resources?: readonly string[];
  readonly reason?: string;
}

export const vendResponseSchema = z
  .object({
    credentials: z.object({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().min(1),
      expiration: z.string().datetime({ offset: true }),
    }),
  })
  .passthrough();

/** POST /credentials' answer: the credentials, plus profile, roleArn, sessionName, grantId… */
export type VendResponse = z.infer<typeof vendResponseSchema>;

const cacheFileSchema = z.object({ version: z.literal(1), response: vendResponseSchema }).strict();

export interface CredentialCache {
  /** Cached credentials still good for more than the refresh window, else undefined. */
  get(key: CacheKey): Promise<VendResponse | undefined>;
  /** Stores credentials; returns false (with a warning) when they could not be stored. */
  put(key: CacheKey, response: VendResponse): Promise<boolean>;
}

export interface CredentialCacheOptions {
  readonly dir: string;
  readonly now?: () => Date;
  /** Told why a cache file was not used or not written; never given a credential. */
  readonly warn?: (message: string) => void;
}

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  return join(env.XDG_CACHE_HOME || join(homeDir, '.cache'), 'tvm');
}

/** The file name: a digest, so neither the principal nor the profile shows in a directory listing. */
export function cacheFileName(key: CacheKey): string {
  const canonical = JSON.stringify([
    key.url,
    key.principal,
    key.profile,
    key.durationSeconds ?? null,
    [...(key.actions ?? [])].sort(),
    [...(key.resources ?? [])].sort(),
    key.reason ?? null,
  ]);
  return `${createHash('sha256').update(canonical).digest('hex')}.json`;
}

/**
 * Who the token speaks for, read from its payload WITHOUT verifying it: this only keys the cache
 * (the API verifies the token). A token that does not decode keys by its digest instead.
 */
export function principalOfToken(token: string): string {
  const payload = token.split('.')[1];
  if (payload !== undefined) {
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown; sub?: unknown };
      if (typeof claims.iss === 'string' && typeof claims.sub === 'string') return JSON.stringify([claims.iss, claims.sub]);
    } catch {
      // not a JWT: fall through
    }
  }
  return `token-sha256:${createHash('sha256').update(token).digest('hex')}`;
}

export function createCredentialCache(options: CredentialCacheOptions): CredentialCache {
  const now = options.now ?? (() => new Date());
  const warn = options.warn ?? (() => undefined);
  return {
    async get(key) {
      const path = join(options.dir, cacheFileName(key));
      const cached = await readCacheFile(path);
      if (cached === undefined) return undefined;
      const expiresAt = Date.parse(cached.credentials.expiration);
      return expiresAt - now().getTime() > REFRESH_WINDOW_MS ? cached : undefined;
    },
    async put(key, response) {
      try {
        await ensurePrivateDir(options.dir);
        await writeAtomically(join(options.dir, cacheFileName(key)), JSON.stringify({ version: 1, response }));
        return true;
      } catch (error) {
        warn(`could not cache credentials in ${options.dir}: ${(error as Error).message}`);
        return false;
      }
    },
  };
}

/**
 * Reads a cache file only if it is a regular file of ours that nobody else can read or write (not a
 * symlink someone planted), and holds what tvm writes. Anything else is a miss.
 */
async function readCacheFile(path: string): Promise<VendResponse | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = await handle.stat();
    const ours = typeof process.getuid !== 'function' || stat.uid === process.getuid();
    if (!stat.isFile() || !ours || (stat.mode & 0o077) !== 0 || stat.size > MAX_FILE_BYTES) return undefined;
    const parsed = cacheFileSchema.safeParse(JSON.parse(await handle.readFile('utf8')));
    return parsed.success ? parsed.data.response : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; the credentials in it are nobody else's business.
  await chmod(dir, 0o700);
}

/** Temp file created 0600 (never readable by others, not even briefly), then renamed over the old one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
