// POST /credentials end to end: the real functions under serverless-offline, DynamoDB Local, the
// local STS endpoint through the real SDK, and tokens from the dev issuer.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ADMIN_GROUPS, api, expectError, SECURITY_GROUPS, stackInfo, tokenFor, stsWith } from './support/api.js';

interface VendBody {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string };
  profile: string;
  roleArn: string;
  sessionName: string;
  sourceIdentity: string;
  grantId: string;
  requestId: string;
}

interface AuditEventBody {
  type: string;
  principal: string;
  code?: string;
  accessKeyId?: string;
  requestId: string;
  [key: string]: unknown;
}

const unique = () => randomBytes(4).toString('hex');

// Every secret this file saw vended: none may ever be stored (checked in afterAll).
const vendedSecrets: string[] = [];
const originalFetch = globalThis.fetch;

async function allItems(tableName: string): Promise<string> {
  const client = new DynamoDBClient({
    endpoint: stackInfo().dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const pages: unknown[] = [];
  let startKey: Record<string, never> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    pages.push(page.Items);
    startKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (startKey);
  client.destroy();
  return JSON.stringify(pages);
}

beforeAll(() => {
  // Remember every credential any test here receives.
  globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
    const response = await originalFetch(...args);
    const text = await response.clone().text();
    for (const match of text.matchAll(/"(?:secretAccessKey|sessionToken|SecretAccessKey|SessionToken)":"([^"]+)"/g)) {
      if (match[1]) vendedSecrets.push(match[1]);
    }
    return response;
  };
});

afterAll(async () => {
  globalThis.fetch = originalFetch;
  expect(vendedSecrets.length).toBeGreaterThanOrEqual(8); // four vends in this file, two secrets each
  const stored = (await allItems(stackInfo().tables.audit)) + (await allItems(stackInfo().tables.delegations));
  expect(stored.length).toBeGreaterThan(1000);
  for (const secret of vendedSecrets) expect(stored).not.toContain(secret);
});

async function auditEvents(principal: string): Promise<AuditEventBody[]> {
  const token = await tokenFor('security@example.com', SECURITY_GROUPS);
  const response = await api<{ events: AuditEventBody[] }>('GET', `/audit/events?principal=${encodeURIComponent(principal)}&limit=100`, { token });
  expect(response.status).toBe(200);
  return response.body.events;
}

async function admin() {
  return tokenFor('admin@example.com', ADMIN_GROUPS);
}

/** A fresh profile and a grant of it to `user`, so tests never share state. */
async function profileGrantedTo(
  user: string,
  profile: Record<string, unknown> = {},
  grant: Record<string, unknown> = {},
): Promise<{ name: string; grantId: string }> {
  const name = `e2e-${unique()}`;
  const token = await admin();
  const put = await api('PUT', `/profiles/${name}`, {
    token,
    body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-deploy', maxSessionSeconds: 7200, ...profile },
  });
  expect(put.status).toBe(200);
  const created = await api<{ id: string }>('POST', '/grants', {
    token,
    body: {
      profile: name,
      subject: { type: 'user', id: user },
      validUntil: new Date(Date.now() + 3_600_000).toISOString(),
      ...grant,
    },
  });
  expect(created.status).toBe(201);
  return { name, grantId: created.body.id };
}

describe('POST /credentials', () => {
  it('vends demo-readonly to a member of engineering (the README example), usable with the AWS SDK', async () => {
    // Prepare
    const token = await tokenFor('alice@example.com', ['engineering']);

    // Act
    const response = await api<VendBody>('POST', '/credentials', {
      token,
      body: { profile: 'demo-readonly', durationSeconds: 900 },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { credentials } = response.body;
    expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(Date.parse(credentials.expiration) - Date.now()).toBeGreaterThan(880_000);
    expect(Date.parse(credentials.expiration) - Date.now()).toBeLessThanOrEqual(901_000);
    expect(response.body).toMatchObject({
      profile: 'demo-readonly',
      roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly',
      sessionName: 'alice@example.com',
      sourceIdentity: 'alice@example.com',
      grantId: 'demo-readonly-engineering',
    });
    const identity = await stsWith(credentials).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe('arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/alice@example.com');

    // The SDK call above is recorded as a use of the same key (the local CloudTrail bridge), maybe already.
    const issued = (await auditEvents('alice@example.com')).find((e) => e.type === 'credential.issued' && e.accessKeyId === credentials.accessKeyId);
    expect(issued).toMatchObject({
      type: 'credential.issued',
      profile: 'demo-readonly',
      grantId: 'demo-readonly-engineering',
      sourceIdentity: 'alice@example.com',
      expiration: credentials.expiration,
      requestId: response.body.requestId,
    });
    expect(issued?.policyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(issued)).not.toContain(credentials.secretAccessKey);
    expect(JSON.stringify(issued)).not.toContain(credentials.sessionToken);
  });

  it('fails GetCallerIdentity with a wrong secret', async () => {
    const token = await tokenFor('alice@example.com', ['engineering']);
    const { body } = await api<VendBody>('POST', '/credentials', { token, body: { profile: 'demo-readonly' } });
    // Another last character, whatever it was (one secret in ~60 ends in "x" already).
    const secret = body.credentials.secretAccessKey;
    const forged = { ...body.credentials, secretAccessKey: `${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}` };
    await expect(stsWith(forged).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
  });

  it('answers in the credential_process shape on request', async () => {
    const token = await tokenFor('alice@example.com', ['engineering']);
    const response = await api('POST', '/credentials?format=credential_process', {
      token,
      body: { profile: 'demo-readonly' },
    });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken', 'Version']);
    expect(response.body.Version).toBe(1);
    expect(response.body.AccessKeyId).toMatch(/^ASIA/);
  });

  it('applies a requested scope within the grant and derives identity only from the token', async () => {
    const user = `carol-${unique()}@example.com`;
    const { name } = await profileGrantedTo(user, { scope: { actions: ['s3:Get*'], resources: ['arn:aws:s3:::demo/*'] } });
    const token = await tokenFor(user, []);
    const response = await api<VendBody>('POST', '/credentials', {
      token,
      body: { profile: name, scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::demo/reports/*'] } },
    });
    expect(response.status).toBe(200);
    expect(response.body.sourceIdentity).toBe(user);

    const sessions = (await (await fetch(`${stackInfo().stsEndpoint}/_local/sessions`)).json()) as {
      accessKeyId: string;
      policy?: string;
      tags: { key: string; value: string }[];
    }[];
    const session = sessions.find((s) => s.accessKeyId === response.body.credentials.accessKeyId);
    expect(JSON.parse(session?.policy ?? '{}')).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::demo/reports/*'] }],
    });
    expect(session?.tags).toEqual(
      expect.arrayContaining([
        { key: 'tvm:grant', value: response.body.grantId },
        { key: 'tvm:request', value: response.body.requestId },
        { key: 'tvm:principal', value: user },
      ]),
    );
  });

  describe('refusals, each with its stable code and an audit record', () => {
    it.each([
      ['an unknown field', { profile: 'demo-readonly', roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-deploy' }, 'VALIDATION_FAILED', 400],
      ['a wrong type', { profile: 'demo-readonly', durationSeconds: '900' }, 'VALIDATION_FAILED', 400],
      ['a missing profile field', { durationSeconds: 900 }, 'VALIDATION_FAILED', 400],
    ])('%s → 400 VALIDATION_FAILED', async (_name, body, code, status) => {
      const token = await tokenFor('alice@example.com', ['engineering']);
      const error = expectError(await api('POST', '/credentials', { token, body }), status, code);
      expect(error.message).toMatch(/^body\./);
    });

    it('refuses a duration outside 900…min(grant, profile) with the allowed range', async () => {
      const token = await tokenFor('alice@example.com', ['engineering']);
      for (const durationSeconds of [899, 3601, 43201]) {
        const error = expectError(
          await api('POST', '/credentials', { token, body: { profile: 'demo-readonly', durationSeconds } }),
          400,
          'DURATION_OUT_OF_RANGE',
        );
        expect(error.message).toContain('between 900 and 3600');
      }
    });

    it('refuses a scope beyond the grant', async () => {
      const token = await tokenFor('alice@example.com', ['engineering']);
      const error = expectError(
        await api('POST', '/credentials', { token, body: { profile: 'demo-readonly', scope: { actions: ['s3:PutObject'] } } }),
        403,
        'SCOPE_NOT_GRANTED',
      );
      expect(error.message).toContain('s3:PutObject');
    });

    it('refuses a session policy over 2,048 characters before calling STS', async () => {
      const token = await tokenFor('alice@example.com', ['engineering']);
      const resources = Array.from({ length: 40 }, (_, i) => `arn:aws:s3:::bucket-${i}/some/rather/long/prefix/*`);
      const error = expectError(
        await api('POST', '/credentials', { token, body: { profile: 'demo-readonly', scope: { resources } } }),
        400,
        'SCOPE_TOO_LARGE',
      );
      expect(error.message).toContain('2048');
    });

    it('refuses a caller with no grant and records the denial', async () => {
      const user = `dave-${unique()}@example.com`;
      const token = await tokenFor(user, ['sales']);
      expectError(await api('POST', '/credentials', { token, body: { profile: 'demo-readonly' } }), 403, 'NO_GRANT');
      const [denied] = await auditEvents(user);
      expect(denied).toMatchObject({ type: 'credential.denied', code: 'NO_GRANT', profile: 'demo-readonly', principal: user });
    });

    it('refuses an expired grant with GRANT_EXPIRED', async () => {
      const user = `erin-${unique()}@example.com`;
      // Long enough to be created on a busy machine, then waited out to the end (not a fixed sleep).
      const validUntil = Date.now() + 5_000;
      const { name } = await profileGrantedTo(user, {}, { validUntil: new Date(validUntil).toISOString() });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, validUntil - Date.now()) + 100));
      const token = await tokenFor(user, []);
      expectError(await api('POST', '/credentials', { token, body: { profile: name } }), 403, 'GRANT_EXPIRED');
    });

    it('refuses an unknown profile with NOT_FOUND', async () => {
      const token = await tokenFor('alice@example.com', ['engineering']);
      expectError(await api('POST', '/credentials', { token, body: { profile: 'no-such-profile' } }), 404, 'NOT_FOUND');
    });

    it('refuses a body over 16 KiB with PAYLOAD_TOO_LARGE', async () => {
      const token = await tokenFor('alice@example.com', ['engineering']);
      const rawBody = JSON.stringify({ profile: 'demo-readonly', reason: 'x'.repeat(17 * 1024) });
      expectError(
        await api('POST', '/credentials', { token, rawBody, headers: { 'content-type': 'application/json' } }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
    });

    it('maps an STS refusal to 502 UPSTREAM_STS_ERROR naming the STS code', async () => {
      const user = `frank-${unique()}@example.com`;
      // A role the local STS does not know (so it does not trust tvm): AccessDenied.
      const { name } = await profileGrantedTo(user, { roleArn: 'arn:aws:iam::000000000000:role/tvm-not-trusting' });
      const token = await tokenFor(user, []);
      const error = expectError(await api('POST', '/credentials', { token, body: { profile: name } }), 502, 'UPSTREAM_STS_ERROR');
      expect(error.stsCode).toBe('AccessDenied');
      const [denied] = await auditEvents(user);
      expect(denied).toMatchObject({ type: 'credential.denied', code: 'UPSTREAM_STS_ERROR' });
    });

    it('maps STS throttling to 502 after bounded retries', async () => {
      const sts = stackInfo().stsEndpoint;
      await fetch(`${sts}/_local/fault`, {
        method: 'PUT',
        body: JSON.stringify({ code: 'Throttling', status: 400, message: 'Rate exceeded' }),
      });
      try {
        const token = await tokenFor('alice@example.com', ['engineering']);
        const started = Date.now();
        const error = expectError(await api('POST', '/credentials', { token, body: { profile: 'demo-readonly' } }), 502, 'UPSTREAM_STS_ERROR');
        expect(error.stsCode).toBe('Throttling');
        expect(Date.now() - started).toBeLessThan(10_000);
      } finally {
        await fetch(`${sts}/_local/fault`, { method: 'DELETE' });
      }
    });
  });
});
