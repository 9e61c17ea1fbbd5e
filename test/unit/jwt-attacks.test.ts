// JWT attacks against JoseTokenVerifier, with real JWKS servers on 127.0.0.1
// (port 0) for two trusted issuers and one attacker. Every attack must end in UnauthenticatedError
// (HTTP 401) for its own reason, without the attacker's server ever being contacted; the unknown-kid
// flood must not turn into a flood of JWKS requests, whether the IdP is up or down.
import { createPublicKey, randomUUID, sign as rsaSign } from 'node:crypto';
import { SignJWT, exportSPKI } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { jest } from '@jest/globals';
import { JoseTokenVerifier } from '../../shared/adapters/jose-token-verifier.js';
import type { OidcIssuerConfig } from '../../shared/config.js';
import { UnauthenticatedError } from '../../shared/domain/errors.js';
import { HTTP_STATUS } from '../../shared/http/error-mapping.js';
import {
  answer,
  b64url,
  expectUnauthenticated,
  manualClock,
  newSigningKey,
  sign as signWith,
  startRecordingServer,
  withClaims,
  type RecordingServer,
  type SigningKey,
} from '../fixtures/jwks.js';

const ISSUER_A = 'https://idp-a.example.com';
const ISSUER_B = 'https://idp-b.example.com';
const AUDIENCE = 'tvm-api';
const NOW = new Date('2031-05-04T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const FLOOD = 200;

let keyA: SigningKey;
let ecKeyA: SigningKey;
let keyB: SigningKey;
let attackerKey: SigningKey;
let jwksA: RecordingServer;
let jwksB: RecordingServer;
let attacker: RecordingServer;

function issuerA(): OidcIssuerConfig {
  return {
    issuer: ISSUER_A,
    audience: AUDIENCE,
    jwksUrl: `${jwksA.url}/jwks.json`,
    principalClaim: 'sub',
    groupsClaim: 'groups',
    principalPrefix: 'a:',
  };
}

function issuerB(): OidcIssuerConfig {
  return { ...issuerA(), issuer: ISSUER_B, jwksUrl: `${jwksB.url}/jwks.json`, principalPrefix: 'b:' };
}

/** Both issuers trusted, a fresh JWKS cache, the clock frozen at NOW unless given. */
function newVerifier(now: () => Date = () => NOW): JoseTokenVerifier {
  return new JoseTokenVerifier([issuerA(), issuerB()], { now });
}

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return withClaims(
    { iss: ISSUER_A, aud: AUDIENCE, sub: 'alice', iat: NOW_S - 10, exp: NOW_S + 300, groups: ['tvm-admin'] },
    overrides,
  );
}

function sign(key: SigningKey, payload: JWTPayload = claims(), header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  return signWith(key, payload, header);
}

function hs256WithSecret(secret: Uint8Array, kid: string): Promise<string> {
  return new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid }).sign(secret);
}

/** Signs any header with an RS256 key by hand: jose refuses to sign some of what we must test. */
function signedRaw(key: SigningKey, header: Record<string, unknown>, payload: JWTPayload = claims()): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** The key's public JWK relabelled with A's published kid (the header type has no `kid` in `jwk`). */
function withPublishedKid(key: SigningKey): JWTHeaderParameters['jwk'] {
  const jwk = { ...key.publicJwk, kid: keyA.kid };
  return jwk;
}

function unsigned(header: Record<string, unknown>, signature = ''): string {
  return `${b64url(header)}.${b64url(claims())}.${signature}`;
}

interface Attack {
  readonly name: string;
  readonly token: () => Promise<string>;
  /** The UnauthenticatedError message: the check that must catch it. */
  readonly reason: string | RegExp;
  /** Rejected before any key lookup, so no JWKS is fetched at all. */
  readonly beforeKeyLookup?: true;
}

const ATTACKS: readonly Attack[] = [
  // Algorithm confusion
  { name: 'alg "none" with an empty signature', token: async () => unsigned({ alg: 'none', typ: 'JWT' }), reason: 'malformed token', beforeKeyLookup: true },
  ...['none', 'None', 'NONE', 'nOnE'].map(
    (alg): Attack => ({
      name: `alg "${alg}" with a signature`,
      token: async () => unsigned({ alg, typ: 'JWT', kid: keyA.kid }, b64url('sig')),
      reason: 'algorithm not allowed',
      beforeKeyLookup: true,
    }),
  ),
  {
    name: 'HS256 signed with the RSA public key (SPKI PEM) as HMAC secret',
    token: async () => hs256WithSecret(Buffer.from(await exportSPKI(createPublicKey(keyA.privateKey))), keyA.kid),
    reason: 'algorithm not allowed',
    beforeKeyLookup: true,
  },
  {
    name: 'HS256 signed with the RSA public key (DER) as HMAC secret',
    token: async () => hs256WithSecret(createPublicKey(keyA.privateKey).export({ type: 'spki', format: 'der' }), keyA.kid),
    reason: 'algorithm not allowed',
    beforeKeyLookup: true,
  },
  {
    name: 'HS256 signed with the RSA public key (JWK JSON) as HMAC secret',
    token: async () => hs256WithSecret(Buffer.from(JSON.stringify(keyA.publicJwk)), keyA.kid),
    reason: 'algorithm not allowed',
    beforeKeyLookup: true,
  },
  ...['HS512', 'RS384', 'PS256', 'ES384', 'EdDSA'].map(
    (alg): Attack => ({
      name: `alg ${alg} (not allow-listed)`,
      token: async () => unsigned({ alg, kid: keyA.kid }, b64url('signature')),
      reason: 'algorithm not allowed',
      beforeKeyLookup: true,
    }),
  ),
  // Keys
  { name: 'a key not in the JWKS, claiming a published kid', token: () => sign(attackerKey, claims(), { kid: keyA.kid }), reason: 'signature verification failed' },
  { name: 'a key not in the JWKS, with its own kid', token: () => sign(attackerKey), reason: 'no matching signing key' },
  { name: 'a key not in the JWKS, without a kid', token: () => sign(attackerKey, claims(), { kid: undefined }), reason: 'signature verification failed' },
  {
    name: "ES256 naming the RSA key's kid (key-type confusion)",
    token: async () => sign(await newSigningKey('ES256', keyA.kid)),
    reason: 'no matching signing key',
  },
  { name: 'jku pointing at an attacker JWKS', token: () => sign(attackerKey, claims(), { jku: `${attacker.url}/jwks.json` }), reason: 'no matching signing key' },
  { name: 'x5u pointing at an attacker certificate', token: () => sign(attackerKey, claims(), { x5u: `${attacker.url}/cert.pem` }), reason: 'no matching signing key' },
  {
    name: 'the signing key embedded in a jwk header, no kid',
    token: () => sign(attackerKey, claims(), { kid: undefined, jwk: attackerKey.publicJwk }),
    reason: 'signature verification failed',
  },
  {
    name: 'the signing key embedded in a jwk header, with a published kid',
    token: () => sign(attackerKey, claims(), { kid: keyA.kid, jwk: withPublishedKid(attackerKey) }),
    reason: 'signature verification failed',
  },
  ...['../../etc/passwd', '/etc/passwd', `${'../'.repeat(20)}dev/null`, 'http://127.0.0.1:1/jwks.json', "' OR '1'='1"].map(
    (kid): Attack => ({
      name: `a path-like or injected kid ${JSON.stringify(kid)}, signed with the real key`,
      token: () => sign(keyA, claims(), { kid }),
      reason: 'no matching signing key',
    }),
  ),
  // Claims
  { name: 'an expired token (61 s past exp)', token: () => sign(keyA, claims({ exp: NOW_S - 61 })), reason: 'token expired' },
  { name: 'a token with nbf 120 s in the future', token: () => sign(keyA, claims({ nbf: NOW_S + 120 })), reason: 'token not yet valid' },
  {
    name: 'an untrusted issuer',
    token: () => sign(keyA, claims({ iss: 'https://evil.example.com' })),
    reason: 'untrusted issuer',
    beforeKeyLookup: true,
  },
  {
    name: 'an issuer differing only by a trailing slash',
    token: () => sign(keyA, claims({ iss: `${ISSUER_A}/` })),
    reason: 'untrusted issuer',
    beforeKeyLookup: true,
  },
  { name: 'no iss', token: () => sign(keyA, claims({ iss: undefined })), reason: 'untrusted issuer', beforeKeyLookup: true },
  { name: 'a wrong audience', token: () => sign(keyA, claims({ aud: 'someone-else' })), reason: 'invalid "aud" claim' },
  { name: 'an audience list without ours', token: () => sign(keyA, claims({ aud: ['someone-else', 'other'] })), reason: 'invalid "aud" claim' },
  ...['exp', 'sub', 'aud'].map(
    (claim): Attack => ({ name: `no ${claim}`, token: () => sign(keyA, claims({ [claim]: undefined })), reason: `missing "${claim}" claim` }),
  ),
  { name: 'exp as a string', token: () => sign(keyA, claims({ exp: String(NOW_S + 300) })), reason: 'invalid "exp" claim' },
  {
    name: 'a tampered payload (sub changed after signing)',
    token: async () => {
      const [header, , signature] = (await sign(keyA)).split('.');
      return `${header}.${b64url(claims({ sub: 'admin' }))}.${signature}`;
    },
    reason: 'signature verification failed',
  },
  {
    name: 'an unrecognised critical header',
    token: async () => signedRaw(keyA, { alg: 'RS256', kid: keyA.kid, crit: ['x-evil'], 'x-evil': true }),
    reason: 'unsupported token header',
  },
  // Cross-issuer impersonation
  { name: "iss A, A's kid, signed with B's key", token: () => sign(keyB, claims(), { kid: keyA.kid }), reason: 'signature verification failed' },
  { name: "iss A, signed with B's key and kid", token: () => sign(keyB), reason: 'no matching signing key' },
  { name: "iss B, signed with A's key and kid", token: () => sign(keyA, claims({ iss: ISSUER_B })), reason: 'no matching signing key' },
];

beforeAll(async () => {
  [keyA, ecKeyA, keyB, attackerKey] = await Promise.all([
    newSigningKey('RS256', 'a-rsa-1'),
    newSigningKey('ES256', 'a-ec-1'),
    newSigningKey('RS256', 'b-rsa-1'),
    newSigningKey('RS256', 'attacker-1'),
  ]);
  jwksA = await startRecordingServer(answer.keys(() => [keyA.publicJwk, ecKeyA.publicJwk]));
  jwksB = await startRecordingServer(answer.keys(() => [keyB.publicJwk]));
  attacker = await startRecordingServer(answer.keys(() => [attackerKey.publicJwk]));
});

afterAll(async () => {
  await Promise.all([jwksA, jwksB, attacker].map((server) => server.close()));
});

afterEach(() => {
  jest.restoreAllMocks();
});

beforeEach(() => {
  jwksA.respond = answer.keys(() => [keyA.publicJwk, ecKeyA.publicJwk]);
  for (const server of [jwksA, jwksB, attacker]) server.requests.length = 0;
});

describe('JWT attacks', () => {
  it.each(ATTACKS.map((attack) => [attack.name, attack] as const))('rejects %s with 401', async (_name, attack) => {
    // Prepare
    const verifier = newVerifier();
    const token = await attack.token();

    // Act / Assess
    await expectUnauthenticated(verifier, token, attack.reason);
    expect(attacker.requests).toHaveLength(0);
    // Only the configured JWKS URLs are ever fetched, whatever the header says.
    for (const request of [...jwksA.requests, ...jwksB.requests]) expect(request).toBe('/jwks.json');
    if (attack.beforeKeyLookup) expect([...jwksA.requests, ...jwksB.requests]).toHaveLength(0);
  });

  it('rejects 100% of the attacks, repeated, on one warm verifier, with at most one JWKS request per issuer', async () => {
    // Prepare
    const verifier = newVerifier();
    await verifier.verify(await sign(keyA));
    await verifier.verify(await sign(keyB, claims({ iss: ISSUER_B })));
    const tokens = await Promise.all([...ATTACKS, ...ATTACKS].map((attack) => attack.token()));

    // Act
    const outcomes = await Promise.allSettled(tokens.map((token) => verifier.verify(token)));

    // Assess
    const rejected = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof UnauthenticatedError);
    expect(rejected).toHaveLength(tokens.length);
    expect(rejected.map((o) => HTTP_STATUS[(o as PromiseRejectedResult).reason.code as 'UNAUTHENTICATED'])).toEqual(
      Array(tokens.length).fill(401),
    );
    expect({ a: jwksA.requests.length, b: jwksB.requests.length, attacker: attacker.requests.length }).toEqual({ a: 1, b: 1, attacker: 0 });
  });

  describe('unknown-kid flood', () => {
    async function flood(): Promise<string[]> {
      return Promise.all(Array.from({ length: FLOOD }, () => sign(attackerKey, claims(), { kid: randomUUID() })));
    }

    it(`fetches the JWKS at most twice for ${FLOOD} concurrent tokens with random kids on a cold verifier`, async () => {
      // Prepare
      const verifier = newVerifier();
      const tokens = await flood();

      // Act
      const outcomes = await Promise.allSettled(tokens.map((token) => verifier.verify(token)));

      // Assess
      expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof UnauthenticatedError)).toBe(true);
      expect(jwksA.requests.length).toBeGreaterThanOrEqual(1);
      expect(jwksA.requests.length).toBeLessThanOrEqual(2);
    });

    it(`fetches the JWKS at most twice for ${FLOOD} sequential random kids within the cooldown`, async () => {
      // Prepare
      const clock = manualClock(NOW);
      const verifier = newVerifier(clock.now);
      await verifier.verify(await sign(keyA));
      const tokens = await flood();

      // Act
      const outcomes: unknown[] = [];
      for (const token of tokens) {
        clock.advance(100); // 200 × 100 ms = 20 s, inside the 30 s cooldown
        outcomes.push(await verifier.verify(token).catch((e: unknown) => e));
      }

      // Assess
      expect(outcomes.every((o) => o instanceof UnauthenticatedError && o.message === 'no matching signing key')).toBe(true);
      expect(jwksA.requests.length).toBeLessThanOrEqual(2);
    });

    it(`fetches the JWKS at most twice for ${FLOOD} random kids while the IdP answers 500, still answering 401`, async () => {
      // Prepare: keys cached, the cooldown over, then the IdP breaks.
      const clock = manualClock(NOW);
      const verifier = newVerifier(clock.now);
      await verifier.verify(await sign(keyA));
      clock.advance(30_000);
      jwksA.respond = answer.json(() => ({ error: 'boom' }), 500);
      const tokens = await flood();

      // Act
      const outcomes: unknown[] = [];
      for (const token of tokens) outcomes.push(await verifier.verify(token).catch((e: unknown) => e));
      const legitimate = await verifier.verify(await sign(keyA));

      // Assess
      expect(outcomes.every((o) => o instanceof UnauthenticatedError && o.message === 'no matching signing key')).toBe(true);
      expect(jwksA.requests.length).toBeLessThanOrEqual(2);
      expect(legitimate.id).toBe('a:alice');
    });
  });

  describe('two issuers', () => {
    it('maps sub "alice" at issuer A to a:alice and at issuer B to b:alice, groups likewise', async () => {
      // Prepare
      const verifier = newVerifier();
      const fromA = await sign(keyA);
      const fromB = await sign(keyB, claims({ iss: ISSUER_B }));

      // Act
      const [a, b] = await Promise.all([verifier.verify(fromA), verifier.verify(fromB)]);

      // Assess
      expect(a).toEqual({ id: 'a:alice', groups: ['a:tvm-admin'], issuer: ISSUER_A });
      expect(b).toEqual({ id: 'b:alice', groups: ['b:tvm-admin'], issuer: ISSUER_B });
    });

    it("never fetches B's JWKS for a token claiming issuer A", async () => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(keyB);

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'no matching signing key');
      expect(jwksB.requests).toHaveLength(0);
    });
  });
});
