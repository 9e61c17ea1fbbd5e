// DynamoDB Local stopped mid-run, under a second stack of this file's own (never the shared one's):
// starting it takes longer than an always-on e2e file may, hence the stress project.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintDevToken } from '../../local/dev-issuer.js';
import { freePort } from '../../local/processes.js';
import { REPO_ROOT, startStack, type RunningStack } from '../../local/stack.js';

const aCaller = () => `faults-${randomBytes(4).toString('hex')}@example.com`;

describe('DynamoDB Local stopped mid-run (a second stack of this file)', () => {
  let stack: RunningStack | undefined;
  let stateDir: string;
  const buildDir = '.esbuild-e2e-faults';

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'tvm-e2e-faults-'));
    stack = await startStack({
      ports: { api: await freePort(), console: await freePort(), lambda: await freePort(), sts: await freePort(), issuer: await freePort(), dynamodb: await freePort() },
      stateDir,
      buildDir,
      useLoop: false,
      offlineOutput: process.env.TVM_E2E_VERBOSE ? 'inherit' : 'ignore',
    });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(join(REPO_ROOT, buildDir), { recursive: true, force: true });
  }, 60_000);

  async function vendOnSecondStack(principal: string) {
    const info = (stack as RunningStack).info;
    const token = await mintDevToken({ dir: info.stateDir, issuer: info.issuer, audience: info.audience, sub: principal, groups: ['engineering'] });
    const response = await fetch(`${info.apiUrl}/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ profile: 'demo-readonly' }),
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as { error?: { code: string } } };
  }

  it('vends while DynamoDB is up; once it stops: 503, no credentials, no session issued, answered in bounded time', async () => {
    // Prepare
    const running = stack as RunningStack;
    const caller = aCaller();
    const before = await vendOnSecondStack(caller);
    expect(before.status).toBe(200);
    const sessionsBefore = running.sts.issuedSessions().length;

    // Act
    await running.dynamodb.stop();
    const started = Date.now();
    const after = await vendOnSecondStack(caller);
    const elapsed = Date.now() - started;

    // Assess
    expect(after.status).toBe(503);
    expect(['STORE_UNAVAILABLE', 'AUDIT_UNAVAILABLE']).toContain(after.body.error?.code);
    expect(after.text).not.toMatch(/secretAccessKey|sessionToken|ASIA/);
    expect(running.sts.issuedSessions()).toHaveLength(sessionsBefore);
    // The SDK's bounded retries (3 attempts, short timeouts) end well inside the Lambda's 25 s.
    expect(elapsed).toBeLessThan(10_000);
  }, 30_000);
});
