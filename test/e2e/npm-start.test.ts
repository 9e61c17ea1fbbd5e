// `npm start` as a user runs it (through the same entry point): it serves the README's example,
// refuses a second instance, and leaves no process behind when stopped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeStackPortsEnv } from '../../local/processes.js';
import { REPO_ROOT } from '../../local/stack.js';

const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const BUILD_DIR = '.esbuild-npm-start';

function startCommand(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(TSX, ['local/start.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function output(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

async function until(check: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function portOpen(port: number): boolean {
  return spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' }).status === 0;
}

describe('npm start', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tvm-start-'));
  let env: NodeJS.ProcessEnv;
  let first: ChildProcess | undefined;

  afterAll(async () => {
    if (first && first.exitCode === null) {
      first.kill('SIGKILL');
    }
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(join(REPO_ROOT, BUILD_DIR), { recursive: true, force: true });
  });

  it('serves the quickstart within 60 s, refuses a second instance, and stops every child on SIGTERM', async () => {
    // Prepare
    env = {
      ...process.env,
      TVM_STATE_DIR: stateDir,
      TVM_BUILD_DIR: BUILD_DIR,
      ...(await freeStackPortsEnv()),
    };
    const stackFile = join(stateDir, 'stack.json');

    // Act: start, as `npm start` does
    const started = Date.now();
    first = startCommand(env);
    const firstOutput = output(first);
    await until(() => firstOutput().includes('Ctrl-C stops everything'), 60_000, `the quickstart:\n${firstOutput()}`);
    expect(Date.now() - started).toBeLessThan(60_000);

    // Assess: the README's example works against it
    const info = JSON.parse(readFileSync(stackFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(info)).toEqual(
      expect.arrayContaining(['apiUrl', 'consoleUrl', 'stsEndpoint', 'dynamodbEndpoint', 'lambdaEndpoint', 'issuer', 'jwksUrl']),
    );
    // The built console at consoleUrl, under its security headers
    expect(info.consoleUrl).toBe(`http://localhost:${env.TVM_CONSOLE_PORT}/console/`);
    const page = await fetch(`${info.consoleUrl}keys/ASIAEXAMPLEDEEPLINK1`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="app"></div>');
    const token = spawnSync(
      process.execPath,
      ['bin/tvm.js', 'dev-token', '--sub', 'alice@example.com', '--groups', 'engineering'],
      { cwd: REPO_ROOT, env: { ...env, TVM_STACK_FILE: stackFile }, encoding: 'utf8' },
    ).stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const vend = await fetch(`${info.apiUrl}/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ profile: 'demo-readonly', durationSeconds: 900 }),
    });
    expect(vend.status).toBe(200);
    expect(((await vend.json()) as { credentials: { accessKeyId: string } }).credentials.accessKeyId).toMatch(/^ASIA/);

    // A second instance is refused with a clear message
    const second = spawnSync(TSX, ['local/start.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 30_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain('already running');

    // SIGTERM stops everything: no port left open, no stack file left
    const ports = [env.TVM_PORT, env.TVM_CONSOLE_PORT, env.TVM_LAMBDA_PORT, env.TVM_STS_PORT, env.TVM_ISSUER_PORT, env.TVM_DYNAMODB_PORT].map(Number);
    const exited = new Promise<number | null>((resolve) => first?.once('exit', (code) => resolve(code)));
    first.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const port of ports) expect(portOpen(port)).toBe(false);
    expect(existsSync(stackFile)).toBe(false);
    const leftovers = spawnSync('pgrep', ['-f', `DynamoDBLocal.jar.*-port ${env.TVM_DYNAMODB_PORT}`], { encoding: 'utf8' }).stdout.trim();
    expect(leftovers).toBe('');
  }, 120_000);

  it('leaves no process and no port behind when its runner is killed with SIGKILL, and the next start replaces its stale stack file', async () => {
    // Prepare: a stack of its own, and every process under its runner (DynamoDB Local's JVM,
    // serverless-offline and what it started)
    const killedEnv: NodeJS.ProcessEnv = { ...process.env, TVM_STATE_DIR: stateDir, TVM_BUILD_DIR: BUILD_DIR, ...(await freeStackPortsEnv()) };
    const stackFile = join(stateDir, 'stack.json');
    const started = startCommand(killedEnv);
    const startedOutput = output(started);
    await until(() => startedOutput().includes('Ctrl-C stops everything'), 90_000, `the stack:\n${startedOutput()}`);
    const runner = (JSON.parse(readFileSync(stackFile, 'utf8')) as { pid: number }).pid;
    const children = descendants(runner);
    expect(children.length).toBeGreaterThanOrEqual(2);
    const ports = ['TVM_PORT', 'TVM_CONSOLE_PORT', 'TVM_LAMBDA_PORT', 'TVM_STS_PORT', 'TVM_ISSUER_PORT', 'TVM_DYNAMODB_PORT'].map((name) => Number(killedEnv[name]));

    // Act
    process.kill(runner, 'SIGKILL');

    // Assess: within 10 s, every port free and every process gone
    const killedAt = Date.now();
    await until(() => ports.every((port) => !portOpen(port)) && children.every((pid) => !isAlive(pid)), 10_000, 'the stack to go away');
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(existsSync(stackFile)).toBe(true);
    // The next start sees the stale file for what it is, says so, and replaces it.
    const next = startCommand(killedEnv);
    const nextOutput = output(next);
    try {
      await until(() => nextOutput().includes('Ctrl-C stops everything'), 90_000, `the next stack:\n${nextOutput()}`);
      expect(nextOutput()).toContain(`tvm: replacing ${stackFile}: the stack it describes (pid ${runner}) is gone`);
      expect((JSON.parse(readFileSync(stackFile, 'utf8')) as { pid: number }).pid).not.toBe(runner);
    } finally {
      const exited = new Promise((resolve) => next.once('exit', resolve));
      next.kill('SIGTERM');
      await exited;
    }
  }, 240_000);
});

/** Every process below `pid`, from `ps`. */
function descendants(pid: number): number[] {
  const table = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers until its new parent reaps it: it holds nothing.
    return !/^Z/.test(spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim());
  } catch {
    return false;
  }
}
