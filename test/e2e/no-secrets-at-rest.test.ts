// No secrets at rest: credentials vended here (both response formats), used against AWS (so the
// local loop records the use), refused, and every bearer token sent here — then every item of both
// tables and everything the functions logged (serverless-offline's output, written to a file by
// test/e2e/support/global-setup.js) is searched for them: 0 occurrences, whole or in part.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { api, stackInfo, stsWith, tokenFor } from './support/api.js';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** A secret counts as leaked when it appears whole, or any 24 characters from its middle do. */
function fragmentsOf(secret: string): string[] {
  const middle = Math.max(0, Math.floor(secret.length / 2) - 12);
  return [secret, secret.slice(middle, middle + 24)];
}

/** The parts of a JWT that are unique to it: the whole token, its claims and its signature. */
function jwtFragments(token: string): string[] {
  const [, claims = '', signature = ''] = token.split('.');
  return [token, claims, signature];
}

async function everyItem(tableName: string): Promise<string> {
  const info = stackInfo();
  const client = new DynamoDBClient({
    endpoint: info.dynamodbEndpoint,
    region: info.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const pages: unknown[] = [];
  try {
    let startKey: ScanCommand['input']['ExclusiveStartKey'];
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
      pages.push(page.Items);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } finally {
    client.destroy();
  }
  return JSON.stringify(pages);
}

const offlineLog = () => readFileSync(join(stackInfo().stateDir, 'offline.log'), 'utf8');

/** Reads the log until `expected` all appear in it (log lines reach the file a moment after the response). */
async function logShowing(expected: string[]): Promise<string> {
  for (let waited = 0; ; waited += 100) {
    const log = offlineLog();
    if (expected.every((text) => log.includes(text)) || waited >= 5_000) return log;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('no secrets at rest', () => {
  it('stores and logs none of the secret keys, session tokens or JWTs it handled', async () => {
    // Prepare
    const user = `at-rest-${randomBytes(4).toString('hex')}@example.com`;
    const token = await tokenFor(user, ['engineering']);
    const outsider = await tokenFor(`outsider-${randomBytes(4).toString('hex')}@example.com`, ['sales']);
    const forged = `${token.slice(0, -8)}AAAAAAAA`;

    // Act: vend in both formats, use a credential, be refused, present a forged token
    const vended: Credentials[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await api<{ credentials: Credentials }>('POST', '/credentials', { token, body: { profile: 'demo-readonly' } });
      expect(response.status).toBe(200);
      vended.push(response.body.credentials);
    }
    const processFormat = await api<{ AccessKeyId: string; SecretAccessKey: string; SessionToken: string }>(
      'POST',
      '/credentials?format=credential_process',
      { token, body: { profile: 'demo-readonly' } },
    );
    expect(processFormat.status).toBe(200);
    const { AccessKeyId, SecretAccessKey, SessionToken } = processFormat.body;
    vended.push({ accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken });
    await stsWith(vended[0] as Credentials).send(new GetCallerIdentityCommand({}));
    expect((await api('POST', '/credentials', { token: outsider, body: { profile: 'demo-readonly' } })).status).toBe(403);
    expect((await api('POST', '/credentials', { token: forged, body: { profile: 'demo-readonly' } })).status).toBe(401);
    // Everything signed so far has gone through recordUse (and the alert function) into the table.
    expect((await fetch(`${stackInfo().loopControlUrl}/drain`, { method: 'POST' })).status).toBe(204);

    const secrets = [
      ...vended.flatMap(({ secretAccessKey, sessionToken }) => [...fragmentsOf(secretAccessKey), ...fragmentsOf(sessionToken)]),
      ...[token, outsider, forged].flatMap(jwtFragments),
    ];
    const stored = (await everyItem(stackInfo().tables.audit)) + (await everyItem(stackInfo().tables.delegations));
    const logged = await logShowing(vended.map(({ accessKeyId }) => accessKeyId));

    // Assess: both searches looked at the right material (the issuances and their log lines are there)
    for (const { accessKeyId } of vended) {
      expect(stored).toContain(accessKeyId);
      expect(logged).toContain(accessKeyId);
    }
    expect(stored).toContain(user);
    expect(secrets.filter((secret) => stored.includes(secret))).toEqual([]);
    expect(secrets.filter((secret) => logged.includes(secret))).toEqual([]);
    // And nothing any earlier suite on this stack issued: no JWT, no session token (the local STS's
    // are 512 base64 characters), whoever it belonged to.
    for (const text of [stored, logged]) {
      expect(text.match(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/g) ?? []).toEqual([]);
      expect(text.match(/[A-Za-z0-9+/]{300,}={0,2}/g) ?? []).toEqual([]);
    }
  });
});
