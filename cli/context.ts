// What every command may need from its surroundings, and the CliContext of a real run: this
// process's environment, output and home directory. Apart from main.ts so commands depend on it and
// not on the entry point, and the start-up fast path (fast-path.ts) builds one without commander.
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import type { HttpFetch } from './http-fetch.js';
import { fileDescriptorOutput, type Output } from './output.js';

/** What every command may need from its surroundings, passed in so commands stay testable. */
export interface CliContext {
  /** The checkout tvm runs from (holds package.json and, when the local stack runs, .tvm/). */
  readonly repoRoot: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Where ~/.aws, ~/.config and ~/.cache are. */
  readonly homeDir: string;
  /** Opens a URL in the browser, false when it cannot (default: cli/browser.ts; tests pass a fake). */
  readonly openUrl?: (url: string) => Promise<boolean>;
  /** Sends the API's requests (default: cli/http-fetch.ts; tests pass a fake). */
  readonly fetch?: HttpFetch;
  /** True when a person is at a terminal (stdin and stderr are one), who can sign in again in a browser. */
  readonly atTerminal?: () => boolean;
}

// cli/ in the repository, bin/ in the packed CLI: one level below its package.json either way.
const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export function defaultContext(): CliContext {
  return {
    repoRoot: REPO_ROOT,
    env: process.env,
    homeDir: homedir(),
    atTerminal: () => isatty(0) && isatty(2),
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
