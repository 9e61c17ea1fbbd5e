// Step-up for restricted profiles over HTTP (RFC 9470): a password-only token is refused with the
// standard challenge and the refusal is in the audit trail; a fresh MFA sign-in is served, and its
// issuance says how the person signed in; a standard profile asks nothing of the same token.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_GROUPS, api, expectError, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';

const TVM_BIN = fileURLToPath(new URL('../../bin/tvm.js', import.meta.url));

const unique = () => randomBytes(4).toString('hex');
const now = () => Math.floor(Date.now() / 1000);

interface Vended {
  credentials: { accessKeyId: string };
}
interface Trace {
  issuance: { amr?: string[]; authTime?: string } | null;
}
interface AuditPage {
  events: { type: string; code?: string; profile?: string }[];
}

describe('step-up for restricted profiles', () => {
  it('challenges a password-only sign-in with the RFC 9470 header and records it; serves a fresh MFA sign-in; leaves standard profiles alone', async () => {
    // Prepare: a restricted profile (5 minutes) and a standard one, both granted to the same person
    const [restricted, standard] = [`e2e-top-${unique()}`, `e2e-std-${unique()}`];
    const person = `exec-${unique()}@example.com`;
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    const put = await api('PUT', `/profiles/${restricted}`, {
      token: admin,
      body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-ops', sensitivity: 'restricted', stepUp: { maxAuthAgeSeconds: 300 } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ sensitivity: 'restricted', stepUp: { maxAuthAgeSeconds: 300 } });
    expect((await api('PUT', `/profiles/${standard}`, { token: admin, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly' } })).status).toBe(200);
    for (const profile of [restricted, standard]) {
      const grant = await api('POST', '/grants', { token: admin, body: { profile, subject: { type: 'user', id: person }, validUntil: new Date(Date.now() + 3_600_000).toISOString() } });
      expect(grant.status).toBe(201);
    }
    const passwordOnly = await tokenFor(person, [], { amr: ['pwd'], auth_time: now() });
    const staleMfa = await tokenFor(person, [], { amr: ['pwd', 'mfa'], auth_time: now() - 301 });
    const freshMfa = await tokenFor(person, [], { amr: ['pwd', 'mfa'], auth_time: now() - 5 });

    // Act
    const challenged = await api('POST', '/credentials', { token: passwordOnly, body: { profile: restricted } });
    const tooOld = await api('POST', '/credentials', { token: staleMfa, body: { profile: restricted } });
    const served = await api<Vended>('POST', '/credentials', { token: freshMfa, body: { profile: restricted } });
    const unaffected = await api('POST', '/credentials', { token: passwordOnly, body: { profile: standard } });

    // Assess: the challenge, exactly as RFC 9470 section 3 writes it
    expectError(challenged, 401, 'STEP_UP_REQUIRED');
    expect(challenged.body).toMatchObject({ error: { maxAgeSeconds: 300 } });
    expect(challenged.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_user_authentication", error_description="profile ${restricted} is restricted: it needs a sign-in with MFA (within the last 5 min)", max_age=300`,
    );
    expectError(tooOld, 401, 'STEP_UP_REQUIRED');
    expect(tooOld.headers.get('www-authenticate')).toContain('it needs a more recent sign-in');
    expect(served.status).toBe(200);
    expect(unaffected.status).toBe(200);

    // Assess: both refusals are in the trail, and the key trace says how the person signed in
    const security = await tokenFor(`sec-${unique()}@example.com`, SECURITY_GROUPS);
    const trail = await api<AuditPage>('GET', `/audit/events?principal=${encodeURIComponent(person)}&limit=20`, { token: security });
    const denials = trail.body.events.filter((event) => event.type === 'credential.denied');
    expect(denials.map((event) => [event.profile, event.code])).toEqual([
      [restricted, 'STEP_UP_REQUIRED'],
      [restricted, 'STEP_UP_REQUIRED'],
    ]);
    const trace = await api<Trace>('GET', `/audit/keys/${served.body.credentials.accessKeyId}`, { token: security });
    expect(trace.body.issuance).toMatchObject({ amr: ['pwd', 'mfa'] });
    expect(Date.parse(trace.body.issuance?.authTime ?? '')).toBeGreaterThan(Date.now() - 120_000);
  });

  it('makes the CLI as credential_process say so in one line and exit 3, with nothing on stdout for the SDK to take', async () => {
    // Prepare: a restricted profile granted to someone whose token says only "pwd"
    const profile = `e2e-top-${unique()}`;
    const person = `cli-${unique()}@example.com`;
    const admin = await tokenFor('admin@example.com', ADMIN_GROUPS);
    await api('PUT', `/profiles/${profile}`, { token: admin, body: { roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-ops', sensitivity: 'restricted' } });
    await api('POST', '/grants', { token: admin, body: { profile, subject: { type: 'user', id: person }, validUntil: new Date(Date.now() + 3_600_000).toISOString() } });
    const home = await mkdtemp(join(tmpdir(), 'tvm-step-up-'));
    const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache'), TVM_URL: stackInfo().apiUrl, TVM_TOKEN: await tokenFor(person, [], { amr: ['pwd'] }) };

    // Act
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [TVM_BIN, 'credentials', profile, '--format', 'credential-process'], { env }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    await rm(home, { recursive: true, force: true });

    // Assess
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n').filter((line) => line.startsWith('tvm: '))).toEqual([expect.stringMatching(/^tvm: STEP_UP_REQUIRED: profile "?e2e-top-\w+"? is restricted/)]);
  });
});

