// The local stand-in for AWS's federation endpoint (local/sts/federation.ts), driven by tvm's own
// adapter and use case (FederationSigninTokenIssuer, signInToConsole) against the local STS: a
// session it issued signs in and the login page names it; a cut-off, expired or forged one gets no
// sign-in token; SessionDuration is refused as AWS refuses it for role-chained sessions.
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { FederationSigninTokenIssuer } from '../../shared/adapters/federation-signin-token-issuer.js';
import { signInToConsole } from '../../shared/domain/console-sign-in.js';
import { FederationUnavailableError } from '../../shared/domain/errors.js';
import type { IssuedCredentials } from '../../shared/domain/model.js';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts, type LocalSts } from '../../local/sts/local-sts.js';
import { failureOf } from '../fixtures/failure.js';

const ROLE_NAME = 'tvm-demo-sandbox';
const ROLE = `arn:aws:iam::000000000000:role/${ROLE_NAME}`;

let sts: LocalSts;
let clock: Date | undefined;

beforeAll(async () => {
  sts = await startLocalSts({ roles: loadLocalRoles(), callers: [LOCAL_TVM_CALLER], now: () => clock ?? new Date() });
});

afterAll(async () => {
  await sts.close();
});

afterEach(() => {
  clock = undefined;
});

/**
 * A session of the sandbox role, as tvm's console vend gets it (SourceIdentity and session name, no
 * DurationSeconds), or with `durationSeconds` named as a plain vend does.
 */
async function assume(sessionName: string, durationSeconds?: number): Promise<IssuedCredentials> {
  const client = new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials: { ...LOCAL_TVM_CALLER }, maxAttempts: 1 });
  const out = await client.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: sessionName, SourceIdentity: sessionName, DurationSeconds: durationSeconds }));
  client.destroy();
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = out.Credentials ?? {};
  return {
    accessKeyId: AccessKeyId ?? '',
    secretAccessKey: SecretAccessKey ?? '',
    sessionToken: SessionToken ?? '',
    expiration: Expiration?.toISOString() ?? '',
    assumedRoleArn: out.AssumedRoleUser?.Arn ?? '',
  };
}

const deps = () => ({ signin: new FederationSigninTokenIssuer(sts.federationUrl), federationEndpoint: sts.federationUrl, consoleUrl: sts.awsConsoleUrl });

async function cutOff(sessionName: string): Promise<void> {
  const iam = new IAMClient({ endpoint: sts.iamUrl, region: 'us-east-1', credentials: { ...LOCAL_TVM_CALLER }, maxAttempts: 1 });
  const document = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:SourceIdentity': sessionName } } }],
  };
  await iam.send(new PutRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: `tvm-revocations-${sessionName}`, PolicyDocument: JSON.stringify(document) }));
  iam.destroy();
}

const getSigninToken = (query: Record<string, string>) => fetch(`${sts.federationUrl}?${new URLSearchParams({ Action: 'getSigninToken', ...query })}`);
const sessionOf = (credentials: IssuedCredentials) =>
  JSON.stringify({ sessionId: credentials.accessKeyId, sessionKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken });

describe('the local federation endpoint', () => {
  it("signs a live session in: the login page names the assumed-role session and the destination", async () => {
    // Prepare
    const credentials = await assume('alice@example.com');

    // Act
    const { signinUrl, expiration } = await signInToConsole(deps(), credentials, '/ec2/home?region=eu-west-1');
    const login = await fetch(signinUrl);

    // Assess
    expect(signinUrl.startsWith(`${sts.federationUrl}?Action=login&`)).toBe(true);
    expect(expiration).toBe(credentials.expiration);
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    const html = await login.text();
    expect(html).toContain(`<dd data-testid="session">arn:aws:sts::000000000000:assumed-role/${ROLE_NAME}/alice@example.com</dd>`);
    expect(html).toContain(`${sts.awsConsoleUrl}ec2/home?region=eu-west-1`);
  });

  it('takes a sign-in token once', async () => {
    // Prepare
    const { signinUrl } = await signInToConsole(deps(), await assume('once@example.com'));
    expect((await fetch(signinUrl)).status).toBe(200);

    // Act
    const again = await fetch(signinUrl);

    // Assess
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('unknown, expired or already used');
  });

  it('gives a cut-off session no sign-in token, and a link got before the cut-off no longer signs it in', async () => {
    // Prepare
    const [cut, spared] = [await assume('mallory@example.com'), await assume('spared@example.com')];
    const before = await signInToConsole(deps(), cut);

    // Act
    await cutOff('mallory@example.com');
    const refused = await failureOf(deps().signin.getSigninToken(cut));
    const login = await fetch(before.signinUrl);

    // Assess
    expect(refused).toBeInstanceOf(FederationUnavailableError);
    expect((refused as Error).message).toContain('HTTP 403');
    expect(login.status).toBe(403);
    expect(await login.text()).toContain('denied by its role');
    // The Deny names one person: another session of the role still signs in.
    expect(await deps().signin.getSigninToken(spared)).toMatch(/^[\w-]{40,}$/);
  });

  it('refuses an expired session', async () => {
    // Prepare
    const credentials = await assume('late@example.com');
    clock = new Date(Date.parse(credentials.expiration) + 1_000);

    // Act
    const answer = await getSigninToken({ Session: sessionOf(credentials) });

    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('expired');
  });

  it.each([
    ['a wrong secret', (c: IssuedCredentials) => ({ ...c, secretAccessKey: `${c.secretAccessKey}x` })],
    ['a wrong session token', (c: IssuedCredentials) => ({ ...c, sessionToken: c.sessionToken.slice(1) })],
    ['a key it never issued', (c: IssuedCredentials) => ({ ...c, accessKeyId: 'ASIANEVERISSUED00001' })],
    ["tvm's own long-term key", (c: IssuedCredentials) => ({ ...c, accessKeyId: LOCAL_TVM_CALLER.accessKeyId, secretAccessKey: LOCAL_TVM_CALLER.secretAccessKey })],
  ])('refuses %s', async (_label, forge) => {
    // Prepare
    const credentials = forge(await assume('forger@example.com'));

    // Act
    const answer = await getSigninToken({ Session: sessionOf(credentials) });

    // Assess
    expect(answer.status).toBe(400);
  });

  it('refuses a session assumed with DurationSeconds, as AWS does unless an IAM user assumed it (tvm never is one)', async () => {
    // Prepare
    const credentials = await assume('named-duration@example.com', 900);

    // Act
    const answer = await getSigninToken({ Session: sessionOf(credentials) });

    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('DurationSeconds');
  });

  it('refuses SessionDuration, as AWS does for role-chained sessions', async () => {
    // Prepare
    const credentials = await assume('duration@example.com');

    // Act
    const answer = await getSigninToken({ Session: sessionOf(credentials), SessionDuration: '3600' });

    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('SessionDuration');
  });

  it('refuses a destination outside its console stand-in, and escapes what it shows', async () => {
    // Prepare: a fresh sign-in token for each login
    const credentials = await assume('dest@example.com');
    const login = async (destination: string, issuer = 'tvm') => {
      const { SigninToken } = (await (await getSigninToken({ Session: sessionOf(credentials) })).json()) as { SigninToken: string };
      return fetch(`${sts.federationUrl}?${new URLSearchParams({ Action: 'login', Issuer: issuer, Destination: destination, SigninToken })}`);
    };

    // Act
    const foreign = await login('https://evil.example.com/');
    const hostile = await login(`${sts.awsConsoleUrl}s3`, '<script>alert(1)</script>');

    // Assess
    expect(foreign.status).toBe(400);
    expect(hostile.status).toBe(200);
    const html = await hostile.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  });
});
