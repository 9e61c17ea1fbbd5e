// `tvm dev-token`: mints a token from the running local stack's dev OIDC issuer, for curl and
// for `tvm credentials` against the local stack. Prints only the token, so `$(tvm dev-token …)` works.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { z } from 'zod';
import { mintDevToken } from '../../local/dev-issuer.js';
import { parseTime } from '../arguments.js';
import type { CliContext } from '../context.js';

const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 43_200;
const MAX_GROUPS = 256;
// Same rule the verifier applies to ids and groups: 1-256 chars, no control characters.
const IDENTIFIER = /^[^\u0000-\u001f\u007f-\u009f]{1,256}$/;
const GROUP = /^[^\s,\u0000-\u001f\u007f-\u009f]{1,256}$/;
// RFC 8176 method names are short lower-case tokens (pwd, mfa, hwk, otp, …); unregistered ones pass too.
const AMR = /^[a-z0-9_-]{1,32}$/;
const MAX_AMR = 16;
const ACR = /^[\x21-\x7e]{1,256}$/;
const AGO = /^-(\d{1,6})([smh])$/;
const SECONDS_PER = { s: 1, m: 60, h: 3600 } as const;

/** What `npm start` writes to .tvm/stack.json; other fields are for other commands. */
const stackFileSchema = z
  .object({
    issuer: z.string().url(),
    audience: z.string().min(1),
    /** Directory holding the dev issuer key; relative paths are relative to the stack file. */
    stateDir: z.string().min(1),
  })
  .passthrough();

export type StackFile = z.infer<typeof stackFileSchema>;

export class StackFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackFileError';
  }
}

export function defaultStackFilePath(context: CliContext): string {
  return context.env.TVM_STACK_FILE || join(context.repoRoot, '.tvm', 'stack.json');
}

/** Reads the running local stack's description; throws StackFileError when there is none. */
export async function readStackFile(path: string): Promise<StackFile> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StackFileError('no local stack running: start it with `npm start`', { cause: error });
    }
    throw new StackFileError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new StackFileError(`${path} is not valid JSON`, { cause: error });
  }
  const parsed = stackFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ');
    throw new StackFileError(`${path} is not a tvm stack file (${problems})`);
  }
  return { ...parsed.data, stateDir: resolve(dirname(path), parsed.data.stateDir) };
}

export function parseTtl(value: string): number {
  const ttl = Number(value);
  if (!/^\d+$/.test(value) || ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
    throw new InvalidArgumentError(`expected a whole number of seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}.`);
  }
  return ttl;
}

export function parseGroups(value: string): string[] {
  const groups = value.split(',').map((g) => g.trim());
  const bad = groups.find((g) => !GROUP.test(g));
  if (bad !== undefined) {
    throw new InvalidArgumentError(`expected groups of 1-256 characters without spaces or control characters (got "${bad}").`);
  }
  if (groups.length > MAX_GROUPS) throw new InvalidArgumentError(`at most ${MAX_GROUPS} groups.`);
  return [...new Set(groups)];
}

/** `pwd,mfa`: how the token says its holder signed in (its `amr`). */
export function parseAmr(value: string): string[] {
  const methods = value.split(',').map((method) => method.trim());
  const bad = methods.find((method) => !AMR.test(method));
  if (bad !== undefined) throw new InvalidArgumentError(`expected comma-separated methods such as pwd,mfa (RFC 8176: lower-case letters, digits, - and _; got "${bad}").`);
  if (methods.length > MAX_AMR) throw new InvalidArgumentError(`at most ${MAX_AMR} methods.`);
  return [...new Set(methods)];
}

/** When the holder signed in (its `auth_time`, epoch seconds): `-5m`, `-30s`, `-2h`, `now` or an ISO 8601 time, never later than now. */
export function parseAuthTime(value: string, now: Date = new Date()): number {
  const usage = 'expected how long ago, -<n>s, -<n>m or -<n>h (e.g. -5m), now, or an ISO 8601 date-time with its offset, not in the future.';
  const ago = AGO.exec(value);
  let at: number;
  if (ago) at = now.getTime() - Number(ago[1]) * SECONDS_PER[ago[2] as keyof typeof SECONDS_PER] * 1000;
  else if (value === 'now' || /^\d{4}-/.test(value)) {
    try {
      at = Date.parse(parseTime(value, now));
    } catch {
      throw new InvalidArgumentError(usage);
    }
  } else throw new InvalidArgumentError(usage);
  if (at > now.getTime()) throw new InvalidArgumentError(`a sign-in cannot be later than now (${value} is).`);
  return Math.floor(at / 1000);
}

function parseAcr(value: string): string {
  if (!ACR.test(value)) throw new InvalidArgumentError('expected 1-256 printable characters without spaces.');
  return value;
}

function parseSub(value: string): string {
  if (!IDENTIFIER.test(value)) throw new InvalidArgumentError('expected 1-256 characters without control characters.');
  return value;
}

interface DevTokenOptions {
  readonly sub: string;
  readonly groups: string[];
  readonly ttl: number;
  readonly amr: string[];
  /** As given: resolved with the token's own `now`, so `-5m` is exactly 300 s before its `iat`. */
  readonly authTime?: string;
  readonly acr?: string;
  readonly stack?: string;
}

export function createDevTokenCommand(context: CliContext): Command {
  return new Command('dev-token')
    .description("print a token from the local stack's dev OIDC issuer (verified by tvm like any IdP's)")
    .requiredOption('--sub <id>', 'subject (principal id) of the token', parseSub)
    .option('--groups <a,b>', 'comma-separated groups', parseGroups, [])
    .option('--ttl <seconds>', `lifetime, ${MIN_TTL_SECONDS}-${MAX_TTL_SECONDS} seconds`, parseTtl, 3600)
    .option('--amr <methods>', 'how the holder signed in, comma-separated RFC 8176 methods (amr), e.g. pwd,mfa', parseAmr, ['pwd'])
    .option('--auth-time <when>', 'when the holder signed in (auth_time): -5m, -2h, now or an ISO 8601 time (default: now)', (value: string) => {
      parseAuthTime(value); // refused here, with the usage; resolved when the token is made
      return value;
    })
    .option('--acr <class>', 'the authentication context class of that sign-in (acr; default: none)', parseAcr)
    .option('--stack <path>', 'stack file of the running local stack (default: $TVM_STACK_FILE or <repo>/.tvm/stack.json)')
    .addHelpText(
      'after',
      `
Examples:
  tvm dev-token --sub alice@example.com --groups engineering
  tvm dev-token --sub alice@example.com --amr pwd,mfa --auth-time -5m`,
    )
    .action(async (options: DevTokenOptions) => {
      let stack: StackFile;
      try {
        stack = await readStackFile(options.stack ?? defaultStackFilePath(context));
      } catch (error) {
        if (error instanceof StackFileError) throw new CliError(error.message, EXIT.usage, 'NO_STACK', { cause: error });
        throw error;
      }
      const now = new Date();
      const token = await mintDevToken({
        now,
        dir: stack.stateDir,
        issuer: stack.issuer,
        audience: stack.audience,
        sub: options.sub,
        groups: options.groups,
        ttlSeconds: options.ttl,
        amr: options.amr,
        ...(options.authTime === undefined ? {} : { authTime: parseAuthTime(options.authTime, now) }),
        ...(options.acr === undefined ? {} : { acr: options.acr }),
      });
      process.stdout.write(`${token}\n`);
    });
}
