// Verifies OIDC bearer tokens (JWTs) against each trusted issuer's JWKS, following RFC 8725:
// allow-listed algorithms only, iss/aud/exp required, ≤ 60 s clock skew, keys only from the
// issuer's own JWKS (never from `jku`/`x5u`/`jwk` headers, which jose ignores unless asked to).
// The JWKS is fetched and cached here rather than by jose's createRemoteJWKSet, which (jose 5)
// refetches on every request after a failed fetch, drops its keys when a refresh fails and has no
// deadline on the response body.
import { createLocalJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import type { OidcIssuerConfig } from '../config.js';
import { IdentityProviderUnavailableError, UnauthenticatedError } from '../domain/errors.js';
import { hidesCharacters, normalizeIdentifier } from '../domain/identifiers.js';
import type { Principal, SignIn } from '../domain/model.js';
import { DEFAULT_STRONG_AMR } from '../domain/step-up-rules.js';
import type { TokenVerifier } from '../domain/ports.js';

export interface JoseTokenVerifierOptions {
  /** Allowed clock skew for exp/nbf, in seconds. Default 60. */
  readonly clockToleranceSeconds?: number;
  /**
   * Minimum time between two JWKS requests to one issuer, whatever asks for it: an unknown `kid`,
   * an aged cache or a retry after a failure. Default 30,000 ms.
   */
  readonly jwksCooldownMs?: number;
  /** Deadline for one whole JWKS request: connection, headers and body. Default 3,000 ms. */
  readonly jwksTimeoutMs?: number;
  /** Age after which the cached JWKS is refetched before use. Default 600,000 ms (10 min). */
  readonly jwksMaxAgeMs?: number;
  /**
   * How long after its fetch the last good JWKS still verifies tokens while refreshes fail (IdP
   * down, slow or answering garbage). Past it, and with no JWKS at all, tokens get
   * IdentityProviderUnavailableError. Default 3,600,000 ms (1 h).
   */
  readonly jwksMaxStaleMs?: number;
  /** Clock for exp/nbf checks and JWKS cache ages. */
  readonly now?: () => Date;
}

// Real IdP tokens are 1-2 KiB; a cap keeps a hostile header from costing us base64/JSON work.
const MAX_TOKEN_LENGTH = 8 * 1024;
// Real JWKS hold a few keys (~1 KiB each); a cap keeps a broken or hostile endpoint from filling memory.
const MAX_JWKS_BYTES = 256 * 1024;
// Three base64url segments, all non-empty: RS256/ES256 always have a signature, so an empty
// third segment (`alg: none`) is rejected before jose sees it.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ALGORITHMS = ['RS256', 'ES256'];
const MAX_IDENTIFIER_LENGTH = 256;
const MAX_GROUPS = 256;
// C0, DEL and C1 controls: they would let a claim forge log lines or confuse IAM session names.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

interface TrustedIssuer {
  readonly config: OidcIssuerConfig;
  readonly keys: IssuerKeys;
}

interface JwksSettings {
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly maxAgeMs: number;
  readonly maxStaleMs: number;
}

export class JoseTokenVerifier implements TokenVerifier {
  private readonly issuers: ReadonlyMap<string, TrustedIssuer>;
  private readonly clockToleranceSeconds: number;
  private readonly now: () => Date;

  constructor(issuers: readonly OidcIssuerConfig[], options: JoseTokenVerifierOptions = {}) {
    this.clockToleranceSeconds = options.clockToleranceSeconds ?? 60;
    this.now = options.now ?? (() => new Date());
    const settings: JwksSettings = {
      cooldownMs: options.jwksCooldownMs ?? 30_000,
      timeoutMs: options.jwksTimeoutMs ?? 3_000,
      maxAgeMs: options.jwksMaxAgeMs ?? 600_000,
      maxStaleMs: options.jwksMaxStaleMs ?? 3_600_000,
    };
    if (settings.maxStaleMs < settings.maxAgeMs) throw new RangeError('jwksMaxStaleMs must be at least jwksMaxAgeMs');
    const clock = () => this.now().getTime();
    // One key cache per issuer, built once: it lives as long as the Lambda container.
    this.issuers = new Map(
      issuers.map((config) => [config.issuer, { config, keys: new IssuerKeys(config, settings, clock) }]),
    );
  }

  async verify(token: string): Promise<Principal> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      throw new UnauthenticatedError('malformed token');
    }
    const trusted = this.issuers.get(unverifiedIssuer(token));
    if (trusted === undefined) throw new UnauthenticatedError('untrusted issuer');
    const { config, keys } = trusted;

    let payload: JWTPayload;
    try {
      // jose checks the algorithm allow-list before it asks for a key, so `none`/HS256 never fetch.
      ({ payload } = await jwtVerify(token, keys.getKey, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: ALGORITHMS,
        clockTolerance: this.clockToleranceSeconds,
        requiredClaims: ['exp', 'iss', 'aud', config.principalClaim],
        currentDate: this.now(),
      }));
    } catch (error) {
      if (error instanceof IdentityProviderUnavailableError) throw error;
      // jose's claim errors carry the whole claims set, so the cause is deliberately not attached.
      throw new UnauthenticatedError(reasonFor(error));
    }

    const id = payload[config.principalClaim];
    if (!isSafeIdentifier(id)) throw new UnauthenticatedError(`invalid "${config.principalClaim}" claim`);
    // An address the IdP has not verified is one the user typed (OIDC Core 5.1): it names nobody.
    if (config.principalClaim === 'email' && payload.email_verified !== true) {
      throw new UnauthenticatedError('"email" is not verified (email_verified must be true)');
    }
    const signIn = signInFrom(payload, config);
    return {
      id: config.principalPrefix + normalizeIdentifier(id),
      groups: groupsFrom(payload[config.groupsClaim]).map((group) => config.principalPrefix + group),
      issuer: config.issuer,
      ...(signIn ? { signIn } : {}),
    };
  }
}

const MAX_AMR_VALUES = 16;

/**
 * How the person signed in, when the token says (`amr`, `auth_time`, `acr`), judged strong by the
 * issuer's own list. Claims of the wrong type count as absent: a step-up is then asked for, never
 * skipped.
 */
function signInFrom(payload: JWTPayload, config: OidcIssuerConfig): SignIn | undefined {
  const { amr, auth_time: authTime, acr } = payload;
  const methods = Array.isArray(amr) ? amr.filter((method): method is string => typeof method === 'string' && isSafeIdentifier(method)).slice(0, MAX_AMR_VALUES) : [];
  const at = typeof authTime === 'number' && Number.isFinite(authTime) ? authTime : undefined;
  const level = typeof acr === 'string' && isSafeIdentifier(acr) ? acr : undefined;
  if (amr === undefined && authTime === undefined && acr === undefined) return undefined;
  const strongAmr = config.strongAmr ?? DEFAULT_STRONG_AMR;
  const strong = methods.some((method) => strongAmr.includes(method)) || (level !== undefined && (config.strongAcr ?? []).includes(level));
  return {
    methods,
    ...(at !== undefined ? { at } : {}),
    ...(level !== undefined ? { acr: level } : {}),
    strong,
    ...(config.strongAcr?.length ? { acrValues: config.strongAcr } : {}),
  };
}

function unverifiedIssuer(token: string): string {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : '';
  } catch {
    throw new UnauthenticatedError('malformed token');
  }
}

/**
 * One issuer's signing keys. Tokens are the attacker's input and the IdP is a dependency that
 * fails, so: at most one JWKS request per cooldown however many tokens (with whatever `kid`s)
 * arrive; the last good JWKS keeps verifying for up to maxStale while refreshes fail; with no
 * usable JWKS the answer is IdentityProviderUnavailableError (503), never a guess.
 */
class IssuerKeys {
  private cached: { readonly getKey: JWTVerifyGetKey; readonly fetchedAt: number } | undefined;
  private lastAttemptAt: number | undefined;
  private lastFailure: unknown;
  private pending: Promise<boolean> | undefined;
  private readonly url: URL;

  constructor(
    private readonly config: OidcIssuerConfig,
    private readonly settings: JwksSettings,
    private readonly now: () => number,
  ) {
    this.url = new URL(config.jwksUrl);
  }

  readonly getKey: JWTVerifyGetKey = async (protectedHeader, token) => {
    if (this.cached === undefined || this.now() - this.cached.fetchedAt >= this.settings.maxAgeMs) await this.refresh();
    try {
      return await lookUp(this.config.issuer, this.usable(), protectedHeader, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // The IdP may have rotated keys since our fetch. If the refresh is not allowed yet or fails,
      // the token is judged by the keys we have: an unknown kid stays the token's problem (401).
      if (!(await this.refresh())) throw error;
      return lookUp(this.config.issuer, this.usable(), protectedHeader, token);
    }
  };

  /** The cached keys if younger than maxStale; otherwise the IdP is unavailable to us. */
  private usable(): JWTVerifyGetKey {
    if (this.cached !== undefined && this.now() - this.cached.fetchedAt < this.settings.maxStaleMs) {
      return this.cached.getKey;
    }
    const { issuer } = this.config;
    throw new IdentityProviderUnavailableError(`identity provider ${issuer} is unavailable`, {
      cause: this.lastFailure,
      details: { issuer },
    });
  }

  /** Fetches the JWKS unless one was requested within the cooldown; true if new keys arrived. */
  private refresh(): Promise<boolean> {
    // Concurrent callers share one request.
    if (this.pending !== undefined) return this.pending;
    const now = this.now();
    if (this.lastAttemptAt !== undefined && now - this.lastAttemptAt < this.settings.cooldownMs) {
      return Promise.resolve(false);
    }
    this.lastAttemptAt = now;
    this.pending = this.fetchKeys().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchKeys(): Promise<boolean> {
    try {
      // createLocalJWKSet validates the set's shape; a malformed set keeps the previous keys.
      const getKey = createLocalJWKSet(await fetchJwks(this.url, this.settings.timeoutMs));
      this.cached = { getKey, fetchedAt: this.now() };
      this.lastFailure = undefined;
      return true;
    } catch (error) {
      this.lastFailure = error;
      return false;
    }
  }
}

/**
 * A missing key is the token's problem (401); anything else the lookup throws (a published key
 * jose cannot import) is the identity provider's (503).
 */
async function lookUp(
  issuer: string,
  keys: JWTVerifyGetKey,
  ...[protectedHeader, token]: Parameters<JWTVerifyGetKey>
): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
  try {
    return await keys(protectedHeader, token);
  } catch (error) {
    if (
      error instanceof errors.JWKSNoMatchingKey ||
      error instanceof errors.JWKSMultipleMatchingKeys ||
      // An algorithm a JWKS cannot hold (e.g. HS256); unreachable behind the allow-list.
      error instanceof errors.JOSENotSupported
    ) {
      throw error;
    }
    throw new IdentityProviderUnavailableError(`identity provider ${issuer} published a key that cannot be used`, {
      cause: error,
      details: { issuer },
    });
  }
}

/** GETs the JWKS within one deadline for the whole exchange, reading at most MAX_JWKS_BYTES. */
async function fetchJwks(url: URL, timeoutMs: number): Promise<JSONWebKeySet> {
  // The signal aborts the body read too: a server that trickles bytes cannot hold a request open.
  const response = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    // A redirect could lead anywhere; the configured URL is the only trusted source of keys.
    redirect: 'error',
    headers: { accept: 'application/json' },
  });
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel();
    throw new Error(`JWKS endpoint answered HTTP ${response.status}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    // Leaving the loop cancels the stream, which closes the connection.
    if (size > MAX_JWKS_BYTES) throw new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`);
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet;
}

function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `missing "${error.claim}" claim`;
    if (error.claim === 'nbf') return 'token not yet valid';
    return `invalid "${error.claim}" claim`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  // An unrecognised `crit` header parameter (RFC 7515 §4.1.11 says such a token must be rejected).
  if (error instanceof errors.JOSENotSupported) return 'unsupported token header';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching signing key';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'token has no kid and the issuer has several keys';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  return 'invalid token';
}

function isSafeIdentifier(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_IDENTIFIER_LENGTH &&
    !CONTROL_CHARS.test(value) &&
    !hidesCharacters(value)
  );
}

/** The groups claim as a list: an array or a single string; anything unusable is dropped, never fatal. */
function groupsFrom(claim: unknown): string[] {
  const values: unknown[] = Array.isArray(claim) ? claim : typeof claim === 'string' ? [claim] : [];
  return [...new Set(values.filter(isSafeIdentifier).map(normalizeIdentifier))].slice(0, MAX_GROUPS);
}
