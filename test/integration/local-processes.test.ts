// The local stack's process hygiene (local/processes.ts), on real processes: a child group started
// with stopWithThisProcess dies within seconds of the process that started it, however that one
// dies (SIGKILL included), and lives as long as it does; a busy port is reported with who holds it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { assertPortFree } from '../../local/processes.js';

const PROCESSES = fileURLToPath(new URL('../../local/processes.ts', import.meta.url));

/** A runner, as `npm start` is one: starts a detached child group (a sleeping node), guarded, and prints its pid. */
const RUNNER = `
import { spawn } from 'node:child_process';
import { stopWithThisProcess } from ${JSON.stringify(PROCESSES)};
const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { detached: true, stdio: 'ignore' });
stopWithThisProcess(child);
console.log(child.pid);
setInterval(() => {}, 1000);
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function startRunner(): Promise<{ runner: ReturnType<typeof spawn>; child: number }> {
  // One process (tsx as a loader, not its CLI, which would run the script in a child of its own).
  const runner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RUNNER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const child = await new Promise<number>((resolve, reject) => {
    runner.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    runner.once('exit', (code) => reject(new Error(`the runner exited (${code})`)));
  });
  return { runner, child };
}

async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

describe('stopWithThisProcess', () => {
  it('stops the child group within seconds of its runner being killed with SIGKILL', async () => {
    // Prepare
    const { runner, child } = await startRunner();
    expect(alive(child)).toBe(true);

    // Act
    runner.kill('SIGKILL');

    // Assess
    expect(await within(10_000, () => !alive(child))).toBe(true);
  }, 30_000);

  it('leaves the child alone while its runner lives', async () => {
    // Prepare
    const { runner, child } = await startRunner();

    try {
      // Act: a while, many guard rounds
      await new Promise((resolve) => setTimeout(resolve, 1_500));

      // Assess
      expect(alive(child)).toBe(true);
    } finally {
      runner.kill('SIGKILL');
      await within(10_000, () => !alive(child));
    }
  }, 30_000);
});

describe('assertPortFree', () => {
  it('names who holds a busy port, and the variable that moves it', async () => {
    // Prepare
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };

    try {
      // Act
      const error = await assertPortFree(port, 'api', 'TVM_PORT').catch((caught: unknown) => caught);

      // Assess
      expect((error as Error).message).toBe(
        `port ${port} for api is already in use by node (pid ${process.pid}): stop it, or choose another with TVM_PORT=<port> (README "What npm start runs")`,
      );
    } finally {
      server.close();
    }
  });
});
