// Vended credentials kept on disk between `credential_process` calls, so the AWS CLI does not vend
// on every command (as aws-vault and Granted do). One 0600 file per (API, principal, request) in a
// 0700 directory; a file is reused until 5 minutes before it expires, and only while no cut-off has
// been decided since its vend (each holds the cut-off epoch its vend read; cut-off-check.ts asks).
// The cache is an optimisation: anything wrong with it (missing, corrupt, unreadable, too open, an
// older file version without the epoch) is a miss, never a failure.
// A cached `credential_process` call must answer in little more than Node's own start-up time (see
// fast-path.ts): so no zod, no node:crypto, and synchronous file calls (node:fs/promises alone
// loads ~1.5 ms of modules, and its first call starts libuv's thread pool).
import { chmodSync, closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from './sha256.js';

/** How long before expiry cached credentials stop being handed out (a command may run a while). */
export const REFRESH_WINDOW_MS = 5 * 60 * 1000;
/** A cache file larger than this is not one tvm wrote. */
const MAX_FILE_BYTES = 64 * 1024;
/** 2: the response holds its cut-off epoch (version 1 files, without it, are misses). */
const FILE_VERSION = 2;

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

/** POST /credentials' answer: the credentials, plus profile, roleArn, sessionName, grantId… */
export interface VendResponse {
  readonly credentials: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken: string;
    /** ISO 8601 with a time zone. */
    readonly expiration: string;
  };
  readonly [field: string]: unknown;
}

/** Credentials the cache may hold: with the cut-off epoch their vend read. */
export type CacheableVendResponse = VendResponse & { readonly cutOffEpoch: number };

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** The value as a VendResponse when it holds usable credentials (other fields kept), else undefined. */
export function asVendResponse(value: unknown): VendResponse | undefined {
  if (!isRecord(value) || !isRecord(value.credentials)) return undefined;
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = value.credentials;
  const usable =
    isFilled(accessKeyId) && isFilled(secretAccessKey) && isFilled(sessionToken) && isFilled(expiration) && ISO_DATE_TIME.test(expiration) && !Number.isNaN(Date.parse(expiration));
  return usable ? (value as VendResponse) : undefined;
}

/** The response, when it can be cached: it says the cut-off epoch its vend read. */
export function asCacheable(response: VendResponse): CacheableVendResponse | undefined {
  const epoch = response.cutOffEpoch;
  return typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch >= 0 ? (response as CacheableVendResponse) : undefined;
}

/** What a cache file holds: exactly `{version: 2, response}`. */
function asCacheFile(value: unknown): CacheableVendResponse | undefined {
  if (!isRecord(value) || value.version !== FILE_VERSION || Object.keys(value).some((key) => key !== 'version' && key !== 'response')) return undefined;
  const response = asVendResponse(value.response);
  return response && asCacheable(response);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isFilled = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

export interface CredentialCache {
  /** Cached credentials still good for more than the refresh window, else undefined. */
  get(key: CacheKey): Promise<CacheableVendResponse | undefined>;
  /** Stores credentials; returns false (with a warning) when they could not or may not be stored. */
  put(key: CacheKey, response: VendResponse): Promise<boolean>;
  /** Forgets the key's credentials (cut off: no use keeping them on disk). */
  drop(key: CacheKey): void;
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
  return `${sha256Hex(canonical)}.json`;
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
  return `token-sha256:${sha256Hex(token)}`;
}

export function createCredentialCache(options: CredentialCacheOptions): CredentialCache {
  const now = options.now ?? (() => new Date());
  const warn = options.warn ?? (() => undefined);
  return {
    async get(key) {
      const path = join(options.dir, cacheFileName(key));
      const cached = readCacheFile(path);
      if (cached === undefined) return undefined;
      const expiresAt = Date.parse(cached.credentials.expiration);
      return expiresAt - now().getTime() > REFRESH_WINDOW_MS ? cached : undefined;
    },
    drop(key) {
      try {
        rmSync(join(options.dir, cacheFileName(key)), { force: true });
      } catch (error) {
        warn(`could not remove cut-off credentials from ${options.dir}: ${(error as Error).message}`);
      }
    },
    async put(key, response) {
      if (!asCacheable(response)) {
        // Without it a later call could not tell whether the credentials were cut off meanwhile.
        warn('credentials not cached: the API did not say its cut-off epoch (is it an older tvm?)');
        return false;
      }
      try {
        ensurePrivateDir(options.dir);
        await writeAtomically(join(options.dir, cacheFileName(key)), JSON.stringify({ version: FILE_VERSION, response }));
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
function readCacheFile(path: string): CacheableVendResponse | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    const ours = typeof process.getuid !== 'function' || stat.uid === process.getuid();
    if (!stat.isFile() || !ours || (stat.mode & 0o077) !== 0 || stat.size > MAX_FILE_BYTES) return undefined;
    return asCacheFile(JSON.parse(readFileSync(fd, 'utf8')));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; the credentials in it are nobody else's business.
  chmodSync(dir, 0o700);
}

/** Temp file created 0600 (never readable by others, not even briefly), then renamed over the old one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const { randomBytes } = await import('node:crypto');
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeFileSync(fd, text, 'utf8');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
