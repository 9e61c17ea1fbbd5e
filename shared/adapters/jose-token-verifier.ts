// Verifies OIDC bearer tokens (JWTs) against each trusted issuer's JWKS, following RFC 8725:
// allow-listed algorithms only, iss/aud/exp required, ≤ 60 s clock skew, keys only from the
// issuer's own JWKS (never from `jku`/`x5u`/`jwk` headers, which jose ignores unless asked to).
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { OidcIssuerConfig } from '../config.js';
import { IdentityProviderUnavailableError, UnauthenticatedError } from '../domain/errors.js';
import type { Principal } from '../domain/model.js';
import type { TokenVerifier } from '../domain/ports.js';

export interface JoseTokenVerifierOptions {
  /** Allowed clock skew for exp/nbf, in seconds. Default 60. */
  readonly clockToleranceSeconds?: number;
  /** Minimum time between JWKS refetches triggered by an unknown `kid`. Default 30,000 ms. */
  readonly jwksCooldownMs?: number;
  /** JWKS HTTP request timeout. Default 3,000 ms. */
  readonly jwksTimeoutMs?: number;
  /** Clock for exp/nbf checks (jose's JWKS cache timing always uses the real Date.now). */
  readonly now?: () => Date;
}

// Real IdP tokens are 1-2 KiB; a cap keeps a hostile header from costing us base64/JSON work.
const MAX_TOKEN_LENGTH = 8 * 1024;
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
  readonly getKey: JWTVerifyGetKey;
}

export class JoseTokenVerifier implements TokenVerifier {
  private readonly issuers: ReadonlyMap<string, TrustedIssuer>;
  private readonly clockToleranceSeconds: number;
  private readonly now: () => Date;

  constructor(issuers: readonly OidcIssuerConfig[], options: JoseTokenVerifierOptions = {}) {
    this.clockToleranceSeconds = options.clockToleranceSeconds ?? 60;
    this.now = options.now ?? (() => new Date());
    const cooldownDuration = options.jwksCooldownMs ?? 30_000;
    const timeoutDuration = options.jwksTimeoutMs ?? 3_000;
    // One remote JWKS per issuer, built once: it caches keys for the life of the Lambda container.
    this.issuers = new Map(
      issuers.map((config) => {
        const remote = createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration, timeoutDuration });
        return [config.issuer, { config, getKey: withUnavailableAsDistinctError(config.issuer, remote) }];
      }),
    );
  }

  async verify(token: string): Promise<Principal> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      throw new UnauthenticatedError('malformed token');
    }
    const trusted = this.issuers.get(unverifiedIssuer(token));
    if (trusted === undefined) throw new UnauthenticatedError('untrusted issuer');
    const { config, getKey } = trusted;

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
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
    return {
      id: config.principalPrefix + id,
      groups: groupsFrom(payload[config.groupsClaim]).map((group) => config.principalPrefix + group),
      issuer: config.issuer,
    };
  }
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
 * A missing key is the token's problem (401); anything else the JWKS lookup throws (network,
 * timeout, non-200, bad JSON, malformed JWKS) is the identity provider's (503).
 */
function withUnavailableAsDistinctError(issuer: string, remote: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (protectedHeader, token) => {
    try {
      return await remote(protectedHeader, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        // An algorithm a JWKS cannot hold (e.g. HS256); unreachable behind the allow-list.
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      // The caller's token may be fine: our dependency failed, so this is a 503, not a 401.
      throw new IdentityProviderUnavailableError(`identity provider ${issuer} is unavailable`, {
        cause: error,
        details: { issuer },
      });
    }
  };
}

function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `missing "${error.claim}" claim`;
    if (error.claim === 'nbf') return 'token not yet valid';
    return `invalid "${error.claim}" claim`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return 'algorithm not allowed';
  }
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
    !CONTROL_CHARS.test(value)
  );
}

/** The groups claim as a list: an array or a single string; anything unusable is dropped, never fatal. */
function groupsFrom(claim: unknown): string[] {
  const values: unknown[] = Array.isArray(claim) ? claim : typeof claim === 'string' ? [claim] : [];
  return [...new Set(values.filter(isSafeIdentifier))].slice(0, MAX_GROUPS);
}
