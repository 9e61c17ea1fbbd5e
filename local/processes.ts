// Child processes of the local stack: each in its own process group, so stopping one also stops
// whatever it started (serverless-offline's workers, the JVM behind DynamoDB Local).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';

/** What a child with piped stdout and stderr wrote, and how it ended (null: by a signal). */
export function outputOf(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Listens on `host`:`port` (0: any free port) and answers the port it got; a busy port rejects. */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** `npm start`'s port variables (local/start.ts), each set to a free port: a stack beside any other. */
export async function freeStackPortsEnv(): Promise<Record<string, string>> {
  const names = ['TVM_PORT', 'TVM_CONSOLE_PORT', 'TVM_LAMBDA_PORT', 'TVM_STS_PORT', 'TVM_ISSUER_PORT', 'TVM_DYNAMODB_PORT'];
  const env: Record<string, string> = {};
  for (const name of names) env[name] = String(await freePort());
  return env;
}

/** Resolves when `port` is free on 127.0.0.1; rejects naming what holds it, and the variable that moves it. */
export async function assertPortFree(port: number, what: string, variable?: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', () => {
      const holder = portHolder(port);
      const move = variable ? `choose another with ${variable}=<port>` : 'choose another port';
      reject(new Error(`port ${port} for ${what} is already in use${holder ? ` by ${holder}` : ''}: stop it, or ${move} (README "What npm start runs")`));
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** Who listens on the port: `node (pid 123)`; undefined when this machine cannot tell. */
export function portHolder(port: number): string | undefined {
  return procPortHolder(port) ?? lsofPortHolder(port);
}

/** Linux: the listening socket's inode in /proc/net/tcp(6), then the process holding it. */
function procPortHolder(port: number): string | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const name = (() => {
          try {
            return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          } catch {
            return 'a process';
          }
        })();
        return `${name} (pid ${pid})`;
      }
    }
  }
  return "another user's process";
}

/** Elsewhere (macOS): lsof, when it is there. */
function lsofPortHolder(port: number): string | undefined {
  const lsof = spawnSync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc'], { encoding: 'utf8', timeout: 2_000 });
  const pid = /^p(\d+)$/m.exec(lsof.stdout ?? '')?.[1];
  const name = /^c(.+)$/m.exec(lsof.stdout ?? '')?.[1];
  return pid ? `${name ?? 'a process'} (pid ${pid})` : undefined;
}

// A guard per child group, in a process of its own: while the process that started the group (the
// runner: `npm start`, a test) is its parent, it waits; once that parent is gone, however it went
// (SIGKILL included), it stops the group (SIGTERM, then SIGKILL) and exits. It exits too once the
// group is gone. Plain JavaScript through `node -e`: nothing to load, a few MB of memory.
const GUARD = `
const [runner, group] = process.argv.slice(1).map(Number);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (error) { return error.code === 'EPERM'; } };
const signal = (name) => { try { process.kill(-group, name); } catch {} };
const timer = setInterval(() => {
  if (!alive(-group)) process.exit(0);
  if (process.ppid === runner) return;
  clearInterval(timer);
  signal('SIGTERM');
  setTimeout(() => { signal('SIGKILL'); process.exit(0); }, 2000);
}, 250);
`;

/** Makes sure the child's process group does not outlive this process, even killed with SIGKILL. */
export function stopWithThisProcess(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const guard = spawn(process.execPath, ['-e', GUARD, String(process.pid), String(child.pid)], { detached: true, stdio: 'ignore' });
  guard.unref();
}

/** SIGTERM to the child's whole process group, then SIGKILL if it has not exited in time. */
export async function stopProcessGroup(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid as number, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // The leader is gone; make sure nothing it started outlives it.
  signalGroup(child.pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child?: ChildProcess) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what} exited before it was ready (code ${child.exitCode ?? child.signalCode})`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} was not ready within ${Math.round(timeoutMs / 1000)} s`);
}
