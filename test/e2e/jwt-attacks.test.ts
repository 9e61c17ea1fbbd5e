// JWT attacks over HTTP against the running stack, beyond those in authentication.test.ts (alg
// none, HS256 with the public key, a foreign key with the real kid, jku, a path-like kid, expired,
// future nbf, wrong iss/aud, no exp/sub, tampering): each is a 401 UNAUTHENTICATED from tvm, and an
// unknown-kid flood neither gets through nor locks out a legitimate caller. The JWKS request
// bound, stale-key fallback and IdP outages are proven in test/unit (jwt-attacks,
// jose-token-verifier), where the IdP can be switched off.
import { createPrivateKey, randomUUID, sign as cryptoSign, type JsonWebKey } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { ensureDevIssuerKey } from '../../local/dev-issuer.js';
import { api, expectError, stackInfo, tokenFor } from './support/api.js';

const FLOOD = 60;
const FLOOD_CONCURRENCY = 10;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const info = stackInfo();
  return { iss: info.issuer, aud: info.audience, sub: 'mallory@example.com', groups: ['engineering', 'tvm-admin'], iat: now, nbf: now, exp: now + 600, ...overrides };
}

async function devKey() {
  return ensureDevIssuerKey(stackInfo().stateDir);
}

async function signedWithDevKey(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const key = await devKey();
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, ...header }).sign(await importJWK(key.privateJwk, 'ES256'));
}

/** ES256 over any header, signed by hand: jose refuses to sign an unrecognised `crit`. */
async function rawSignedWithDevKey(header: Record<string, unknown>) {
  const key = await devKey();
  const input = `${b64url(header)}.${b64url(claims())}`;
  const privateKey = createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' });
  const signature = cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

async function attackerSigned(header: Record<string, unknown>) {
  const attacker = await generateKeyPair('ES256', { extractable: true });
  return new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', ...header }).sign(attacker.privateKey);
}

async function expectUnauthenticatedEverywhere(token: string) {
  for (const [method, path, body] of [
    ['GET', '/me', undefined],
    ['POST', '/credentials', { profile: 'demo-readonly' }],
  ] as const) {
    const response = await api(method, path, { token, body });
    const error = expectError(response, 401, 'UNAUTHENTICATED');
    expect(error.message).not.toContain(token);
  }
}

describe('JWT attacks over HTTP', () => {
  const attacks: [string, () => Promise<string>][] = [
    ['alg "None" with a signature', async () => `${b64url({ alg: 'None', typ: 'JWT' })}.${b64url(claims())}.${b64url('sig')}`],
    ['HS512 naming the real kid', async () => `${b64url({ alg: 'HS512', kid: (await devKey()).kid })}.${b64url(claims())}.${b64url('sig')}`],
    ['a key not in the JWKS, with its own kid', async () => attackerSigned({ kid: randomUUID() })],
    ['x5u pointing at an attacker certificate', async () => attackerSigned({ kid: 'attacker', x5u: 'http://127.0.0.1:1/cert.pem' })],
    [
      'the signing key embedded in a jwk header',
      async () => {
        const attacker = await generateKeyPair('ES256', { extractable: true });
        return new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', jwk: await exportJWK(attacker.publicKey) }).sign(attacker.privateKey);
      },
    ],
    ['a URL as kid, signed with the real key', async () => signedWithDevKey(claims(), { kid: 'http://127.0.0.1:1/jwks.json' })],
    ['an unrecognised critical header, signed with the real key', async () => rawSignedWithDevKey({ alg: 'ES256', kid: (await devKey()).kid, crit: ['x-evil'], 'x-evil': 1 })],
    ['an issuer differing by a trailing slash', async () => signedWithDevKey(claims({ iss: `${stackInfo().issuer}/` }))],
    ['an audience list without ours', async () => signedWithDevKey(claims({ aud: ['someone-else', 'other'] }))],
    ['exp as a string', async () => signedWithDevKey(claims({ exp: String(Math.floor(Date.now() / 1000) + 600) }))],
    ['no aud', async () => signedWithDevKey(claims({ aud: undefined }))],
  ];

  it.each(attacks)('rejects %s with 401 UNAUTHENTICATED', async (_name, makeToken) => {
    await expectUnauthenticatedEverywhere(await makeToken());
  });

  it(`rejects a flood of ${FLOOD} random kids with 401 and still serves a legitimate token`, async () => {
    const tokens = await Promise.all(Array.from({ length: FLOOD }, () => signedWithDevKey(claims(), { kid: randomUUID() })));
    const statuses: number[] = [];
    for (let i = 0; i < tokens.length; i += FLOOD_CONCURRENCY) {
      const batch = tokens.slice(i, i + FLOOD_CONCURRENCY).map(async (token) => {
        const response = await api('GET', '/me', { token });
        expectError(response, 401, 'UNAUTHENTICATED');
        return response.status;
      });
      statuses.push(...(await Promise.all(batch)));
    }
    expect(statuses).toEqual(Array(FLOOD).fill(401));

    const legitimate = await api('GET', '/me', { token: await tokenFor('alice@example.com', ['engineering']) });
    expect(legitimate.status).toBe(200);
    expect(legitimate.body).toMatchObject({ principal: 'alice@example.com' });
  });
});
