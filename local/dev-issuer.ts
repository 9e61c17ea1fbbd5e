// The local OIDC issuer (dev only). It publishes a discovery document and a JWKS like a real IdP,
// and mints tokens with a key kept on disk; tvm verifies them with the same JoseTokenVerifier it
// uses for a real IdP. There is deliberately no "trust local tokens" switch anywhere.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { z } from 'zod';

/** The `aud` the local stack expects in dev tokens. */
export const DEV_AUDIENCE = 'tvm-local';

const ALG = 'ES256';
const KEY_FILE = 'dev-issuer-key.json';

const jwkSchema = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string() }).passthrough();
const keyFileSchema = z.object({
  kid: z.string().min(1),
  privateJwk: jwkSchema.extend({ d: z.string().min(1) }),
  publicJwk: jwkSchema,
});

export interface DevIssuerKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  readonly kid: string;
}

/** Returns the dev signing key stored in `dir`, creating it (mode 0600) on first use. */
export async function ensureDevIssuerKey(dir: string): Promise<DevIssuerKey> {
  const path = join(dir, KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing) return existing;

  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const key: DevIssuerKey = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg: ALG, use: 'sig' },
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': if another process created the key meanwhile, keep theirs so both agree on one key.
    await writeFile(path, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readKeyFile(path);
    if (winner) return winner;
    throw error;
  }
  return key;
}

async function readKeyFile(path: string): Promise<DevIssuerKey | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a dev issuer key file; delete it to create a new key`);
  return parsed.data as DevIssuerKey;
}

export interface DevIssuer {
  /** `http://localhost:<port>`: the exact `iss` of minted tokens. */
  readonly issuer: string;
  readonly jwksUrl: string;
  close(): Promise<void>;
}

/** Serves the discovery document and JWKS for the key in `dir`. Port 0 picks a free port. */
export async function startDevIssuer(options: { dir: string; port?: number; host?: string }): Promise<DevIssuer> {
  const { publicJwk } = await ensureDevIssuerKey(options.dir);
  const host = options.host ?? '127.0.0.1';
  let issuer = '';

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const body =
      req.method !== 'GET'
        ? undefined
        : path === '/.well-known/openid-configuration'
          ? {
              issuer,
              jwks_uri: `${issuer}/.well-known/jwks.json`,
              id_token_signing_alg_values_supported: [ALG],
              response_types_supported: ['id_token'],
              subject_types_supported: ['public'],
            }
          : path === '/.well-known/jwks.json'
            ? { keys: [publicJwk] }
            : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  issuer = `http://localhost:${port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Verifiers keep JWKS connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      }),
  };
}

export interface MintDevTokenOptions {
  readonly dir: string;
  readonly issuer: string;
  readonly audience: string;
  readonly sub: string;
  readonly groups?: readonly string[];
  /** Default 3,600. */
  readonly ttlSeconds?: number;
  /** Added to the claims; cannot override iss/aud/sub/groups/iat/nbf/exp. */
  readonly extraClaims?: Record<string, unknown>;
}

/** Signs a token with the dev key in `dir`, as the dev issuer at `issuer`. */
export async function mintDevToken(options: MintDevTokenOptions): Promise<string> {
  const ttlSeconds = options.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds must be a positive integer');
  const { privateJwk, kid } = await ensureDevIssuerKey(options.dir);
  const privateKey = await importJWK(privateJwk, ALG);
  const now = Math.floor(Date.now() / 1000);

  return new SignJWT({ ...options.extraClaims, groups: [...(options.groups ?? [])] })
    .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(privateKey);
}
