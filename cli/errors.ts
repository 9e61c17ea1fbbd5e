// How the CLI fails: one error class carrying the exit code, so scripts can tell a typo from a refusal.
import type { CliContext } from './context.js';

/** Exit codes, stable for scripts: usage (bad arguments or setup), auth (no or rejected token),
 *  refused (the API said no), server (API unreachable or 5xx), unexpected (a bug in tvm). */
export const EXIT = { ok: 0, unexpected: 1, usage: 2, auth: 3, refused: 4, server: 5 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the user can act on; main.ts prints `tvm: <CODE>: <message>` and exits with exitCode. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The API's stable error code when the API refused, else a short tvm code. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** The run is over with this exit code, and nothing to say (tvm exec: the command's own code). */
export class CommandExit {
  constructor(readonly exitCode: number) {}
}

/** The exit code for an API error status: who has to act (the caller's identity, the request, the server). */
export function exitCodeForStatus(status: number): number {
  if (status === 401) return EXIT.auth;
  if (status >= 500) return EXIT.server;
  if (status >= 400) return EXIT.refused;
  return EXIT.unexpected;
}

/** Prints a CliError as `tvm: <CODE>: <message>`, anything else as an unexpected error; returns the exit code. */
export function reportError(error: unknown, context: Pick<CliContext, 'env' | 'stderr'>): number {
  if (error instanceof CommandExit) return error.exitCode;
  if (error instanceof CliError) {
    context.stderr.write(`tvm: ${error.code ? `${error.code}: ` : ''}${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  context.stderr.write(`tvm: unexpected error: ${message}\n`);
  if (context.env.TVM_DEBUG === '1' && error instanceof Error && error.stack) context.stderr.write(`${error.stack}\n`);
  return EXIT.unexpected;
}
