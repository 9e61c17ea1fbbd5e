// JoseTokenVerifier: what it accepts, the principal it makes, malformed input, and its JWKS cache
// against real JWKS servers on 127.0.0.1 (port 0). The attacks (forged algorithms and keys, bad
// claims, kid floods, cross-issuer tokens) are in jwt-attacks.test.ts.
import { jest } from '@jest/globals';
import { JoseTokenVerifier, type JoseTokenVerifierOptions } from '../../shared/adapters/jose-token-verifier.js';
import type { OidcIssuerConfig } from '../../shared/config.js';
import { IdentityProviderUnavailableError, UnauthenticatedError } from '../../shared/domain/errors.js';
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
import type { JWK, JWTHeaderParameters, JWTPayload } from 'jose';

const ISSUER_A = 'https://idp-a.example.com';
const AUDIENCE = 'tvm-api';
// A fixed instant for claim checks; tokens are built relative to it.
const NOW = new Date('2031-05-04T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const MINUTE = 60_000;

let rsaKey: SigningKey;
let ecKey: SigningKey;
let rotatedKey: SigningKey;
let jwksA: RecordingServer;
/** What jwksA currently publishes (the rotation test adds a key). */
let publishedA: JWK[];

function issuerA(overrides: Partial<OidcIssuerConfig> = {}): OidcIssuerConfig {
  return {
    issuer: ISSUER_A,
    audience: AUDIENCE,
    jwksUrl: `${jwksA.url}/jwks.json`,
    principalClaim: 'sub',
    groupsClaim: 'groups',
    principalPrefix: 'a:',
    ...overrides,
  };
}

/** A verifier with a fresh JWKS cache, its clock frozen at NOW. */
function newVerifier(
  issuers: OidcIssuerConfig[] = [issuerA()],
  options: JoseTokenVerifierOptions = {},
): JoseTokenVerifier {
  return new JoseTokenVerifier(issuers, { now: () => NOW, ...options });
}

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return withClaims(
    { iss: ISSUER_A, aud: AUDIENCE, sub: 'alice', iat: NOW_S - 10, exp: NOW_S + 300, groups: ['engineering', 'ops'] },
    overrides,
  );
}

function sign(key: SigningKey, payload: JWTPayload = claims(), header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  return signWith(key, payload, header);
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  [rsaKey, ecKey, rotatedKey] = await Promise.all([
    newSigningKey('RS256', 'rsa-1'),
    newSigningKey('ES256', 'ec-1'),
    newSigningKey('ES256', 'ec-2'),
  ]);
  jwksA = await startRecordingServer(answer.keys(() => publishedA));
});

afterAll(async () => {
  await jwksA.close();
});

afterEach(() => {
  jest.restoreAllMocks();
});

beforeEach(() => {
  publishedA = [rsaKey.publicJwk, ecKey.publicJwk];
  jwksA.requests.length = 0;
});

// ---------------------------------------------------------------------------------------------

describe('JoseTokenVerifier', () => {
  describe('valid tokens', () => {
    it.each(['RS256', 'ES256'] as const)('accepts a %s token and returns the prefixed principal', async (alg) => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(alg === 'RS256' ? rsaKey : ecKey);

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal).toEqual({ id: 'a:alice', groups: ['a:engineering', 'a:ops'], issuer: ISSUER_A });
    });

    it('fetches the JWKS once and serves later tokens from the cache', async () => {
      // Prepare
      const verifier = newVerifier();
      const tokens = await Promise.all([sign(rsaKey), sign(ecKey), sign(rsaKey, claims({ sub: 'bob' }))]);

      // Act
      for (const token of tokens) await verifier.verify(token);

      // Assess
      expect(jwksA.requests).toEqual(['/jwks.json']);
    });

    it('uses the configured principal claim', async () => {
      // Prepare
      const verifier = newVerifier([issuerA({ principalClaim: 'email' })]);
      const token = await sign(rsaKey, claims({ email: 'alice@example.com', email_verified: true }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.id).toBe('a:alice@example.com');
    });

    // Many IdPs let a user type any address into their profile: an unverified `email` is a claim
    // anyone can make about themselves, so it cannot name a principal.
    it.each([
      ['missing', {}],
      ['false', { email_verified: false }],
      ['the string "true"', { email_verified: 'true' }],
      ['1', { email_verified: 1 }],
    ])('refuses an email principal claim when email_verified is %s', async (_label, verified) => {
      // Prepare
      const verifier = newVerifier([issuerA({ principalClaim: 'email' })]);
      const token = await sign(rsaKey, claims({ email: 'ceo@example.com', ...verified }));

      // Act
      const outcome = verifier.verify(token);

      // Assess
      await expect(outcome).rejects.toThrow(UnauthenticatedError);
      await expect(outcome).rejects.toThrow('"email" is not verified (email_verified must be true)');
    });
  });

  describe('time', () => {
    it('accepts a token expired within the 60 s skew', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ exp: NOW_S - 30 }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.id).toBe('a:alice');
    });

    it('accepts a token whose nbf is within the skew', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ nbf: NOW_S + 30 }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.id).toBe('a:alice');
    });

    it('uses the injected clock, not the real one', async () => {
      // Prepare: valid at NOW (2031), long expired in real time only if the clock were real.
      const verifier = newVerifier([issuerA()], { now: () => new Date((NOW_S + 3600) * 1000) });
      const token = await sign(rsaKey);

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'token expired');
    });
  });

  describe('claims', () => {
    it('accepts an audience list that contains ours', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ aud: ['other', AUDIENCE] }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.id).toBe('a:alice');
    });

    it.each([
      ['empty', ''],
      ['longer than 256 characters', 'a'.repeat(257)],
      ['containing a newline', 'alice\nadmin'],
      ['containing a NUL', 'alice\u0000'],
      // Names that look like another's (or like nothing) on every screen.
      ['containing a zero-width space', 'alice\u200b@example.com'],
      ['containing a right-to-left override', 'alice\u202e@example.com'],
      ['containing a zero-width joiner', 'ali\u200dce@example.com'],
      ['containing a byte-order mark', '\ufeffalice@example.com'],
      ['containing a line separator', 'alice\u2028@example.com'],
      ['containing a paragraph separator', 'alice\u2029@example.com'],
      ['containing a variation selector', 'alice\ufe0f@example.com'],
      ['containing a combining grapheme joiner', 'ali\u034fce@example.com'],
      ['containing a Hangul filler', 'alice\u3164@example.com'],
      ['containing a no-break space', 'alice\u00a0@example.com'],
      ['a number', 42],
      ['an array', ['alice']],
      ['null', null],
    ])('rejects a principal claim that is %s', async (_label, sub) => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ sub }));

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'invalid "sub" claim');
    });

    it('accepts a principal claim of exactly 256 characters', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ sub: 'x'.repeat(256) }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.id).toBe(`a:${'x'.repeat(256)}`);
    });
  });

  describe('how the person signed in (step-up)', () => {
    it('reads amr, auth_time and acr, and judges them strong by the default methods', async () => {
      // Prepare
      const verifier = newVerifier();
      const [mfa, password] = await Promise.all([
        sign(rsaKey, claims({ amr: ['pwd', 'mfa'], auth_time: NOW_S - 60 })),
        sign(rsaKey, claims({ amr: ['pwd'], auth_time: NOW_S - 60, acr: 'phr' })),
      ]);

      // Act
      const [strong, weak] = await Promise.all([verifier.verify(mfa), verifier.verify(password)]);

      // Assess
      expect(strong.signIn).toEqual({ methods: ['pwd', 'mfa'], at: NOW_S - 60, strong: true });
      expect(weak.signIn).toEqual({ methods: ['pwd'], at: NOW_S - 60, acr: 'phr', strong: false });
    });

    it("judges by each issuer's own strongAmr and strongAcr, and names the acr values to ask for", async () => {
      // Prepare
      const verifier = newVerifier([issuerA({ strongAmr: ['hwk'], strongAcr: ['phrh'] })]);
      const [otp, key, acr] = await Promise.all([
        sign(rsaKey, claims({ amr: ['otp'], auth_time: NOW_S })),
        sign(rsaKey, claims({ amr: ['hwk'], auth_time: NOW_S })),
        sign(rsaKey, claims({ acr: 'phrh', auth_time: NOW_S })),
      ]);

      // Act
      const principals = await Promise.all([otp, key, acr].map((token) => verifier.verify(token)));

      // Assess
      expect(principals.map((principal) => principal.signIn?.strong)).toEqual([false, true, true]);
      expect(principals[0]?.signIn?.acrValues).toEqual(['phrh']);
    });

    it('counts claims of the wrong type as absent: never strong, never a time', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ amr: 'mfa', auth_time: String(NOW_S), acr: 42 }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.signIn).toEqual({ methods: [], strong: false });
    });

    it('says nothing of the sign-in when the token does not', async () => {
      // Act
      const principal = await newVerifier().verify(await sign(rsaKey));

      // Assess
      expect(principal.signIn).toBeUndefined();
    });
  });

  describe('Unicode normalisation', () => {
    it('gives the principal and groups in NFC: a decomposed é is the same person as a composed one', async () => {
      // Prepare
      const verifier = newVerifier();
      const decomposed = await sign(rsaKey, claims({ sub: 'rene\u0301@example.com', groups: ['e\u0301quipe', '\u00e9quipe'] }));

      // Act
      const principal = await verifier.verify(decomposed);

      // Assess
      expect(principal.id).toBe('a:ren\u00e9@example.com');
      expect(principal.groups).toEqual(['a:\u00e9quipe']);
    });
  });

  describe('groups claim', () => {
    it.each<[string, unknown, string[]]>([
      ['an array of strings', ['eng', 'ops'], ['a:eng', 'a:ops']],
      ['a single string', 'eng', ['a:eng']],
      ['missing', undefined, []],
      ['a number', 7, []],
      ['an object', { eng: true }, []],
      ['null', null, []],
      ['an array with non-strings', ['eng', 1, null, { x: 1 }, ['ops'], 'ops'], ['a:eng', 'a:ops']],
      ['an array with empty, control-character and duplicate names', ['', 'eng', 'e\nvil', 'eng'], ['a:eng']],
      ['an array with names hiding format characters', ['eng', 'eng\u200b', 'ops\u202e', 'sec\u2028'], ['a:eng']],
    ])('handles a groups claim that is %s', async (_label, groups, expected) => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ groups }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.groups).toEqual(expected);
    });

    it('keeps at most 256 groups', async () => {
      // Prepare
      const verifier = newVerifier();
      const groups = Array.from({ length: 300 }, (_, i) => `g${i}`);
      const token = await sign(rsaKey, claims({ groups }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.groups).toHaveLength(256);
      expect(principal.groups[255]).toBe('a:g255');
    });

    it('reads the configured groups claim', async () => {
      // Prepare
      const verifier = newVerifier([issuerA({ groupsClaim: 'roles' })]);
      const token = await sign(rsaKey, claims({ roles: ['admin'] }));

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.groups).toEqual(['a:admin']);
    });
  });

  describe('malformed input', () => {
    it.each([
      ['an empty string', ''],
      ['a random word', 'hello'],
      ['two segments', 'abc.def'],
      ['four segments', 'a.b.c.d'],
      ['a JWE (five segments)', 'a.b.c.d.e'],
      ['non-base64url characters', 'a+b.c/d.e=f'],
      ['surrounding whitespace', ' a.b.c '],
    ])('rejects %s', async (_label, token) => {
      // Prepare
      const verifier = newVerifier();

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'malformed token');
      expect(jwksA.requests).toHaveLength(0);
    });

    it('rejects a token over 8 KiB without fetching keys', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = await sign(rsaKey, claims({ padding: 'x'.repeat(8 * 1024) }));

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'malformed token');
      expect(jwksA.requests).toHaveLength(0);
    });

    it('rejects a payload that is not JSON', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = `${b64url({ alg: 'RS256', kid: rsaKey.kid })}.${b64url('not json')}.${b64url('sig')}`;

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'malformed token');
    });

    it('rejects a tampered payload', async () => {
      // Prepare
      const verifier = newVerifier();
      const [header, , signature] = (await sign(rsaKey)).split('.');
      const token = `${header}.${b64url(claims({ sub: 'admin' }))}.${signature}`;

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'signature verification failed');
    });

    it('rejects a truncated ES256 signature', async () => {
      // Prepare
      const verifier = newVerifier();
      const token = (await sign(ecKey)).slice(0, -10);

      // Act / Assess
      await expectUnauthenticated(verifier, token, 'signature verification failed');
    });
  });

  describe('JWKS cache', () => {
    it('shares one JWKS request between concurrent first tokens', async () => {
      // Prepare
      const verifier = newVerifier();
      const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => sign(i % 2 ? rsaKey : ecKey)));

      // Act
      const principals = await Promise.all(tokens.map((token) => verifier.verify(token)));

      // Assess
      expect(principals.map((p) => p.id)).toEqual(Array(20).fill('a:alice'));
      expect(jwksA.requests).toEqual(['/jwks.json']);
    });

    it('refetches on an unknown kid once the cooldown has passed, picking up a rotated key', async () => {
      // Prepare
      const clock = manualClock(NOW);
      const verifier = newVerifier([issuerA()], { now: clock.now });
      await verifier.verify(await sign(rsaKey));
      publishedA = [rsaKey.publicJwk, ecKey.publicJwk, rotatedKey.publicJwk];
      const token = await sign(rotatedKey);
      // Within the cooldown the new kid is unknown: no refetch yet.
      clock.advance(29_000);
      await expectUnauthenticated(verifier, token, 'no matching signing key');
      expect(jwksA.requests).toHaveLength(1);
      clock.advance(1_000);

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.id).toBe('a:alice');
      expect(jwksA.requests).toHaveLength(2);
    });

    it('refetches a JWKS older than jwksMaxAgeMs before using it, and not sooner', async () => {
      // Prepare
      const clock = manualClock(NOW);
      const verifier = newVerifier([issuerA()], { now: clock.now, jwksMaxAgeMs: 10 * MINUTE });
      await verifier.verify(await sign(rsaKey));
      clock.advance(10 * MINUTE - 1);
      await verifier.verify(await sign(rsaKey, claims({ exp: NOW_S + 3600 })));
      expect(jwksA.requests).toHaveLength(1);
      publishedA = [rotatedKey.publicJwk];
      clock.advance(1);

      // Act: rsa-1 was withdrawn; the refreshed JWKS must be the one used.
      const error = await failureOf(verifier.verify(await sign(rsaKey, claims({ exp: NOW_S + 3600 }))));

      // Assess
      expect(jwksA.requests).toHaveLength(2);
      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect((error as Error).message).toBe('no matching signing key');
    });

    it('refuses a jwksMaxStaleMs below jwksMaxAgeMs', () => {
      // Act / Assess
      expect(() => newVerifier([issuerA()], { jwksMaxAgeMs: 2 * MINUTE, jwksMaxStaleMs: MINUTE })).toThrow(RangeError);
    });
  });

  describe('identity provider failures', () => {
    const TIMEOUT_MS = 200;
    let idp: RecordingServer;

    beforeEach(async () => {
      idp = await startRecordingServer(answer.keys(() => [rsaKey.publicJwk]));
    });

    afterEach(async () => {
      await idp.close();
    });

    function idpIssuer(): OidcIssuerConfig {
      return issuerA({ jwksUrl: `${idp.url}/jwks.json` });
    }

    const outages: [string, (server: RecordingServer) => Promise<void> | void][] = [
      ['refuses connections', (server) => server.close()],
      ['answers 500', (server) => void (server.respond = answer.json(() => ({ error: 'boom' }), 500))],
      ['answers with HTML', (server) => void (server.respond = (_req, res) => res.end('<html>maintenance</html>'))],
      ['answers JSON that is not a JWKS', (server) => void (server.respond = answer.json(() => ({ keys: 'none' })))],
      ['does not answer within the timeout', (server) => void (server.respond = answer.never())],
      ['sends headers but trickles its body past the timeout', (server) => void (server.respond = answer.trickle(20))],
      [
        'sends a body over 256 KiB',
        (server) => void (server.respond = answer.json(() => ({ keys: [rsaKey.publicJwk], padding: 'x'.repeat(300 * 1024) }))),
      ],
      [
        'redirects to another JWKS',
        (server) =>
          void (server.respond = (_req, res) => {
            res.writeHead(302, { location: `${jwksA.url}/jwks.json` });
            res.end();
          }),
      ],
    ];

    it.each(outages)('without cached keys, fails closed with IDP_UNAVAILABLE within the timeout when the JWKS endpoint %s', async (_label, goDown) => {
      // Prepare
      const verifier = newVerifier([idpIssuer()], { jwksTimeoutMs: TIMEOUT_MS });
      const token = await sign(rsaKey);
      await goDown(idp);
      // The deadline each fetch asks for; a fetch left without one would hang past jest's timeout.
      const deadlines = jest.spyOn(AbortSignal, 'timeout');

      // Act
      const error = await failureOf(verifier.verify(token));

      // Assess
      expect(deadlines.mock.calls).toEqual([[TIMEOUT_MS]]);
      expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
      expect(error).not.toBeInstanceOf(UnauthenticatedError);
      expect(error).toMatchObject({ name: 'IdentityProviderUnavailableError', code: 'IDP_UNAVAILABLE', details: { issuer: ISSUER_A } });
      // The cause may be created in Node's realm, not jest's, so only its shape is checked.
      expect((error as Error).cause).toMatchObject({ message: expect.any(String) });
      expect((error as Error).message).not.toContain(token);
      expect(jwksA.requests).toHaveLength(0);
    });

    it.each(outages)('with cached keys, keeps verifying with the last good JWKS when the endpoint %s', async (_label, goDown) => {
      // Prepare: keys cached at NOW, then the IdP fails and the cache is past its max age.
      const clock = manualClock(NOW);
      const verifier = newVerifier([idpIssuer()], { now: clock.now, jwksTimeoutMs: TIMEOUT_MS, jwksMaxAgeMs: 10 * MINUTE });
      await verifier.verify(await sign(rsaKey));
      await goDown(idp);
      clock.advance(30 * MINUTE);
      const token = await sign(rsaKey, claims({ iat: NOW_S + 1790, exp: NOW_S + 3600 }));
      const deadlines = jest.spyOn(AbortSignal, 'timeout');

      // Act
      const first = await verifier.verify(token);
      const second = await verifier.verify(token);

      // Assess: one refresh, bounded by the timeout, then the cooldown holds.
      expect(deadlines.mock.calls).toEqual([[TIMEOUT_MS]]);
      expect([first.id, second.id]).toEqual(['a:alice', 'a:alice']);
      // (None recorded if the connection was refused.)
      expect(idp.requests.length).toBeLessThanOrEqual(2);
    });

    it('stops serving the last good JWKS after jwksMaxStaleMs and fails closed', async () => {
      // Prepare
      const clock = manualClock(NOW);
      const verifier = newVerifier([idpIssuer()], { now: clock.now, jwksMaxStaleMs: 60 * MINUTE });
      await verifier.verify(await sign(rsaKey));
      idp.respond = answer.json(() => ({}), 503);
      clock.advance(60 * MINUTE - 1);
      const token = await sign(rsaKey, claims({ exp: NOW_S + 7200 }));
      expect((await verifier.verify(token)).id).toBe('a:alice');
      clock.advance(1);

      // Act
      const error = await failureOf(verifier.verify(token));

      // Assess
      expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
    });

    it('after a failed fetch, sends no JWKS request until the cooldown has passed', async () => {
      // Prepare
      const clock = manualClock(NOW);
      idp.respond = answer.json(() => ({ error: 'boom' }), 500);
      const verifier = newVerifier([idpIssuer()], { now: clock.now });
      const token = await sign(rsaKey);

      // Act
      const failures: unknown[] = [];
      for (let i = 0; i < 200; i += 1) failures.push(await failureOf(verifier.verify(token)));
      clock.advance(29_999);
      failures.push(await failureOf(verifier.verify(token)));
      const requestsWithinCooldown = idp.requests.length;
      clock.advance(1);
      failures.push(await failureOf(verifier.verify(token)));

      // Assess
      expect(failures.every((e) => e instanceof IdentityProviderUnavailableError)).toBe(true);
      expect(requestsWithinCooldown).toBe(1);
      expect(idp.requests).toHaveLength(2);
    });

    it('recovers once the JWKS endpoint is back and the cooldown has passed', async () => {
      // Prepare
      const clock = manualClock(NOW);
      idp.respond = answer.json(() => ({}), 503);
      const verifier = newVerifier([idpIssuer()], { now: clock.now });
      const token = await sign(rsaKey);
      await expect(verifier.verify(token)).rejects.toBeInstanceOf(IdentityProviderUnavailableError);
      idp.respond = answer.keys(() => [rsaKey.publicJwk]);
      clock.advance(30_000);

      // Act
      const principal = await verifier.verify(token);

      // Assess
      expect(principal.id).toBe('a:alice');
      expect(idp.requests).toHaveLength(2);
    });

    it('uses the JWKS timeout of 3 s by default', async () => {
      // Prepare: the deadline asked for is recorded and met at once, so no test waits 3 s of real time
      idp.respond = answer.never();
      const verifier = newVerifier([idpIssuer()]);
      const deadlines = jest.spyOn(AbortSignal, 'timeout').mockImplementation(() => AbortSignal.abort(new DOMException('timed out', 'TimeoutError')));

      // Act
      const error = await failureOf(verifier.verify(await sign(rsaKey)));

      // Assess
      expect(deadlines.mock.calls).toEqual([[3_000]]);
      expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
    });
  });
});
