// Console sign-in, over HTTP against the local stack: POST /credentials?format=console
// answers a sign-in URL on the local federation endpoint whose login page names the assumed-role
// session (recorded as a "console" issuance); revoking the grant cuts the session off, so its
// credentials get no sign-in token and a URL not yet used no longer signs in; a lockdown refuses it
// like any vend; the CLI and the web console's "Open AWS console" button land on that login page.
import { randomBytes } from 'node:crypto';
import { EXIT } from '../../cli/errors.js';
import { toSourceIdentity } from '../../shared/domain/source-identity.js';
import { makeTvmHome } from '../integration/support/cli-harness.js';
import { ADMIN_GROUPS, api, expectError, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';
import { accessibilityViolations, launchBrowser, signInThroughForm, watchErrors } from './support/browser.js';

const unique = () => randomBytes(4).toString('hex');
// A role no demo profile names: the revocation's cut-off touches no other suite's sessions.
const SANDBOX_ROLE = 'arn:aws:iam::000000000000:role/tvm-demo-sandbox';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

interface SignIn {
  signinUrl: string;
  expiration: string;
}

let adminToken: string;
beforeAll(async () => {
  adminToken = await tokenFor('admin@example.com', ADMIN_GROUPS);
});

/** A fresh profile on `roleArn` granted to a fresh user: the user, their token and the grant. */
async function grantedProfile(roleArn = SANDBOX_ROLE): Promise<{ profile: string; user: string; token: string; grantId: string }> {
  const profile = `e2e-console-${unique()}`;
  const user = `cora-${unique()}@example.com`;
  const put = await api('PUT', `/profiles/${profile}`, { token: adminToken, body: { roleArn, maxSessionSeconds: 43_200 } });
  expect({ status: put.status, body: put.body }).toMatchObject({ status: 200 });
  const grant = await api<{ id: string }>('POST', '/grants', {
    token: adminToken,
    // Two hours: an hour-long console session must fit in what is left of it.
    body: { profile, subject: { type: 'user', id: user }, validUntil: new Date(Date.now() + 7_200_000).toISOString() },
  });
  expect({ status: grant.status, body: grant.body }).toMatchObject({ status: 201 });
  return { profile, user, token: await tokenFor(user), grantId: grant.body.id };
}

/** getSigninToken on the local federation endpoint, called directly with a session's credentials. */
function getSigninToken(credentials: Credentials): Promise<Response> {
  const session = JSON.stringify({ sessionId: credentials.accessKeyId, sessionKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken });
  return fetch(`${stackInfo().federationEndpoint}?${new URLSearchParams({ Action: 'getSigninToken', Session: session })}`);
}

describe('POST /credentials?format=console', () => {
  it('answers a sign-in URL on the federation endpoint whose login page names the assumed-role session; the issuance is recorded as "console"', async () => {
    // Prepare
    const { profile, user, token } = await grantedProfile();

    // Act
    const answer = await api<SignIn>('POST', '/credentials?format=console', { token, body: { profile, destination: 's3' } });

    // Assess
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(['expiration', 'signinUrl']);
    const { signinUrl } = answer.body;
    expect(signinUrl.startsWith(`${stackInfo().federationEndpoint}?`)).toBe(true);
    expect(new URL(signinUrl).searchParams.get('Destination')).toBe(`${new URL(stackInfo().federationEndpoint).origin}/federation/console/s3`);
    const login = await fetch(signinUrl);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain(`<dd data-testid="session">arn:aws:sts::000000000000:assumed-role/tvm-demo-sandbox/${toSourceIdentity(user)}</dd>`);
    const security = await tokenFor(`sec-${unique()}@example.com`, SECURITY_GROUPS);
    const trail = await api<{ events: Record<string, unknown>[] }>('GET', `/audit/events?principal=${encodeURIComponent(user)}&type=credential.issued`, {
      token: security,
    });
    expect(trail.body.events).toEqual([expect.objectContaining({ type: 'credential.issued', profile, format: 'console', durationSeconds: 3600 })]);
    expect(Date.parse(answer.body.expiration)).toBe(Date.parse(String(trail.body.events[0]?.expiration)));
  });

  it('refuses more than an hour (role-chained sessions) and a destination that is not a console path', async () => {
    // Prepare
    const { profile, token } = await grantedProfile();

    // Act
    const tooLong = await api('POST', '/credentials?format=console', { token, body: { profile, durationSeconds: 3601 } });
    const elsewhere = await api('POST', '/credentials?format=console', { token, body: { profile, destination: '//evil.example.com' } });

    // Assess
    expect(expectError(tooLong, 400, 'DURATION_OUT_OF_RANGE').message).toContain('a console session lasts 3600 s');
    expect(expectError(elsewhere, 400, 'VALIDATION_FAILED').message).toMatch(/^body\.destination: /);
  });

  it('after the grant is revoked: the console session is cut off (its unused sign-in URL no longer signs in), and a new console vend is refused', async () => {
    // Prepare: a console session's unused sign-in URL, and a plain vend's credentials, under the grant
    const { profile, token, grantId } = await grantedProfile();
    const unused = await api<SignIn>('POST', '/credentials?format=console', { token, body: { profile } });
    expect(unused.status).toBe(200);
    const vended = await api<{ credentials: Credentials }>('POST', '/credentials', { token, body: { profile } });
    // A plain vend names its duration: AWS signs such a session in only for an IAM user, and so does the stand-in.
    const plain = await getSigninToken(vended.body.credentials);
    expect(plain.status).toBe(400);
    expect(await plain.text()).toContain('DurationSeconds');

    // Act
    const revoked = await api<{ revokedSessions: { accessKeyId: string }[]; sessionsNotCut: unknown[] }>('DELETE', `/grants/${grantId}`, { token: adminToken });

    // Assess: both sessions are cut off; the console one can no longer sign in
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedSessions).toHaveLength(2);
    expect(revoked.body.sessionsNotCut).toEqual([]);
    const login = await fetch(unused.body.signinUrl);
    expect(login.status).toBe(403);
    expect(await login.text()).toContain('cut off');
    expectError(await api('POST', '/credentials?format=console', { token, body: { profile } }), 403, 'NO_GRANT');
  });

  it('is refused by a lockdown like any vend, and recorded', async () => {
    // Prepare: a profile on a role no other suite vends, locked down to someone else
    const { profile, user, token } = await grantedProfile('arn:aws:iam::000000000000:role/tvm-demo-ops');
    const [activator, lifter] = [`sec-1-${unique()}@example.com`, `sec-2-${unique()}@example.com`];
    const locked = await api('PUT', '/lockdown', {
      token: await tokenFor(activator, SECURITY_GROUPS),
      body: { profiles: [profile], allow: { principals: [`exec-${unique()}@example.com`] }, reason: 'console sign-in test' },
    });
    expect(locked.status).toBe(200);
    try {
      // Act
      const refused = await api('POST', '/credentials?format=console', { token, body: { profile } });

      // Assess
      expectError(refused, 403, 'LOCKDOWN_ACTIVE');
      const trail = await api<{ events: Record<string, unknown>[] }>('GET', `/audit/events?principal=${encodeURIComponent(user)}`, {
        token: await tokenFor(lifter, SECURITY_GROUPS),
      });
      expect(trail.body.events.filter((event) => event.type === 'credential.denied')).toEqual([
        expect.objectContaining({ type: 'credential.denied', profile, code: 'LOCKDOWN_ACTIVE' }),
      ]);
    } finally {
      // Never leave a lockdown behind for other suites.
      expect((await api('DELETE', '/lockdown', { token: await tokenFor(lifter, SECURITY_GROUPS), body: { reason: 'test done' } })).status).toBe(200);
    }
  });
});

describe('the web console', () => {
  it("signs in to the AWS console from the me page: the button lands on the login page naming the session", async () => {
    // Prepare
    const { profile, user } = await grantedProfile();
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext({ colorScheme: 'dark' });
      const page = await context.newPage();
      const errors = watchErrors(page);
      await signInThroughForm(page, `${stackInfo().consoleUrl}me`, user, '');
      const button = page.getByRole('button', { name: `Open AWS console as ${profile}` });
      await button.waitFor();
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(errors).toEqual([]);

      // Act
      await button.click();

      // Assess
      await page.waitForURL((url) => url.href.startsWith(`${stackInfo().federationEndpoint}?`));
      await page.getByRole('heading', { name: 'Signed in to the local AWS console' }).waitFor();
      await expect(page.getByTestId('session').textContent()).resolves.toBe(`arn:aws:sts::000000000000:assumed-role/tvm-demo-sandbox/${toSourceIdentity(user)}`);
      await context.close();
    } finally {
      await browser.close();
    }
  });
});

describe('tvm console', () => {
  it('prints the sign-in URL when no browser opens (no opener on its PATH), and the URL signs the person in', async () => {
    // Prepare
    const { profile, user, token } = await grantedProfile();
    const home = await makeTvmHome();
    try {
      // Act
      const run = await home.run(['console', profile, '--destination', 's3'], { TVM_URL: stackInfo().apiUrl, TVM_TOKEN: token, PATH: home.dir });

      // Assess
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: EXIT.ok, stderr: expect.stringContaining('could not open a browser') });
      const signinUrl = run.stdout.trim();
      expect(signinUrl.startsWith(`${stackInfo().federationEndpoint}?`)).toBe(true);
      expect(await (await fetch(signinUrl)).text()).toContain(`assumed-role/tvm-demo-sandbox/${toSourceIdentity(user)}`);
    } finally {
      await home.remove();
    }
  });
});
