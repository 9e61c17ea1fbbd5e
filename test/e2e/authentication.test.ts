// Authentication over HTTP against the running stack: only tokens the configured issuer signed,
// for tvm's audience, inside their validity window, are accepted. Everything else is a 401 with
// tvm's JSON error body (not API Gateway's bare 403).
import { createHmac } from 'node:crypto';
import { exportSPKI, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { ensureDevIssuerKey } from '../../local/dev-issuer.js';
import { api, expectError, stackInfo, tokenFor } from './support/api.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function devKey() {
  const key = await ensureDevIssuerKey(stackInfo().stateDir);
  return { key, privateKey: await importJWK(key.privateJwk, 'ES256') };
}

function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const info = stackInfo();
  return { iss: info.issuer, aud: info.audience, sub: 'mallory@example.com', groups: ['engineering', 'tvm-admin'], iat: now, nbf: now, exp: now + 600, ...overrides };
}

async function signedWithDevKey(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const { key, privateKey } = await devKey();
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, ...header }).sign(privateKey);
}

function hs256(payload: Record<string, unknown>, secret: string | Buffer, kid: string) {
  const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid })}.${b64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

describe('authentication', () => {
  it('serves /health without a token', async () => {
    const response = await api('GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('accepts a token from the dev issuer, exactly as from any IdP', async () => {
    const response = await api('GET', '/me', { token: await tokenFor('alice@example.com', ['engineering']) });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ principal: 'alice@example.com', groups: ['engineering'] });
  });

  const attacks: [string, () => Promise<string>][] = [
    ['no token at all', async () => ''],
    ['a malformed token', async () => 'not.a.jwt'],
    ['alg none', async () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`],
    [
      'HS256 signed with the public key as HMAC secret (JWK JSON)',
      async () => {
        const { key } = await devKey();
        return hs256(claims(), JSON.stringify(key.publicJwk), key.kid);
      },
    ],
    [
      'HS256 signed with the public key as HMAC secret (PEM)',
      async () => {
        const { key } = await devKey();
        const pem = await exportSPKI((await importJWK(key.publicJwk as JWK, 'ES256')) as KeyLike);
        return hs256(claims(), pem, key.kid);
      },
    ],
    [
      'a key not in the JWKS, claiming the real kid',
      async () => {
        const { key } = await devKey();
        const attacker = await generateKeyPair('ES256');
        return new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(attacker.privateKey);
      },
    ],
    [
      'jku pointing at an attacker JWKS',
      async () => {
        const attacker = await generateKeyPair('ES256');
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'ES256', kid: 'attacker', jku: 'http://127.0.0.1:1/jwks.json' })
          .sign(attacker.privateKey);
      },
    ],
    ['a path-like kid', async () => signedWithDevKey(claims(), { kid: '../../../../etc/passwd' })],
    ['an expired token (beyond 60 s skew)', async () => signedWithDevKey(claims({ exp: Math.floor(Date.now() / 1000) - 120 }))],
    ['a token not yet valid (nbf beyond 60 s skew)', async () => signedWithDevKey(claims({ nbf: Math.floor(Date.now() / 1000) + 300 }))],
    ['a wrong issuer', async () => signedWithDevKey(claims({ iss: 'http://localhost:1' }))],
    ['a wrong audience', async () => signedWithDevKey(claims({ aud: 'someone-else' }))],
    [
      'a token without exp',
      async () => {
        const { exp: _exp, ...rest } = claims();
        return signedWithDevKey(rest);
      },
    ],
    [
      'a token without sub',
      async () => {
        const { sub: _sub, ...rest } = claims();
        return signedWithDevKey(rest);
      },
    ],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await signedWithDevKey(claims({ groups: ['engineering'] }))).split('.');
        return `${header}.${b64url(claims({ groups: ['tvm-admin'] }))}.${signature}`;
      },
    ],
  ];

  it.each(attacks)('rejects %s with 401 UNAUTHENTICATED on every authenticated route', async (_name, makeToken) => {
    const token = await makeToken();
    const headers = token ? { authorization: `Bearer ${token}` } : undefined;
    for (const [method, path, body] of [
      ['GET', '/me', undefined],
      ['POST', '/credentials', { profile: 'demo-readonly' }],
      ['GET', '/audit/events', undefined],
      ['PUT', '/profiles/evil', { roleArn: 'arn:aws:iam::000000000000:role/tvm-evil' }],
    ] as const) {
      const response = await api(method, path, { headers, body });
      const error = expectError(response, 401, 'UNAUTHENTICATED');
      expect(error.message).not.toContain(token || '\u0000');
    }
  });

  it('rejects a non-Bearer authorization scheme', async () => {
    const token = await tokenFor('alice@example.com', ['engineering']);
    expectError(await api('GET', '/me', { headers: { authorization: `Basic ${token}` } }), 401, 'UNAUTHENTICATED');
  });
});
