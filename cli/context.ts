// The CliContext of a real run: this process's environment, output and home directory. Apart from
// main.ts so the start-up fast path (fast-path.ts) can build one without loading commander.
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliContext } from './main.js';
import { fileDescriptorOutput } from './output.js';

// cli/ in the repository, bin/ in the packed CLI: one level below its package.json either way.
const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export function defaultContext(): CliContext {
  return {
    repoRoot: REPO_ROOT,
    env: process.env,
    homeDir: homedir(),
    stdout: fileDescriptorOutput(1, guardedStdout),
    // Node builds this stream when it is first read: not before something is written to it.
    get stderr() {
      return process.stderr;
    },
  };
}

let guarded = false;

/** process.stdout, where `tvm … | head` closing the pipe early is not an error. */
export function guardedStdout(): NodeJS.WriteStream {
  if (!guarded) {
    guarded = true;
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  return process.stdout;
}
