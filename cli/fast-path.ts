// The AWS CLI and SDKs run `tvm credentials <profile> --format credential-process` before every AWS
// command, and loading commander's whole command tree would cost more than Node's own start-up. So
// cli/tvm.ts first tries this parser for `credentials` calls: it understands the options of
// commands/credentials.ts (as commander would, a unit test holds it to that) and hands anything
// else (help, unknown or repeated options, bad values) to commander, which explains the problem.
import { EXIT, reportError } from './errors.js';
import type { CliContext } from './context.js';
import { FORMATS, isDurationSeconds, serveCredentials, type CredentialsOptions, type Format } from './serve-credentials.js';
import type { GlobalOptions } from './settings.js';

export interface CredentialsCall {
  readonly globals: GlobalOptions;
  readonly profile: string;
  readonly options: CredentialsOptions;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const GLOBAL_VALUES = new Map<string, 'url' | 'tokenCommand'>([
  ['--url', 'url'],
  ['--token-command', 'tokenCommand'],
]);
const VALUES = new Set(['--duration', '--action', '--resource', '--reason', '--format']);
const REPEATABLE = new Set(['--action', '--resource']);

/** The call's globals, profile and options, as commander would parse them; undefined to leave it to commander. */
export function parseCredentialsCall(argv: readonly string[]): CredentialsCall | undefined {
  const globals: Mutable<GlobalOptions> = {};
  const options: Mutable<CredentialsOptions> = { cache: true };
  const seen = new Set<string>();
  let command: string | undefined;
  let profile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) {
      if (command === undefined) {
        if (arg !== 'credentials') return undefined;
        command = arg;
      } else if (profile === undefined && arg !== '') profile = arg;
      else return undefined;
      continue;
    }
    const equals = arg.indexOf('=');
    const name = equals === -1 ? arg : arg.slice(0, equals);
    if (seen.has(name) && !REPEATABLE.has(name)) return undefined;
    seen.add(name);
    if (name === '--json' && equals === -1) {
      globals.json = true;
      continue;
    }
    if (name === '--no-cache' && equals === -1 && command !== undefined) {
      options.cache = false;
      continue;
    }
    const global = GLOBAL_VALUES.get(name);
    if (global === undefined && !(VALUES.has(name) && command !== undefined)) return undefined;
    const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    // A value that looks like an option is more likely a mistake than a value: commander says which.
    if (value === undefined || value.startsWith('-')) return undefined;
    if (global !== undefined) globals[global] = value;
    else if (!setOption(options, name, value)) return undefined;
  }
  return command !== undefined && profile !== undefined ? { globals, profile, options } : undefined;
}

function setOption(options: Mutable<CredentialsOptions>, name: string, value: string): boolean {
  switch (name) {
    case '--duration':
      if (!isDurationSeconds(value)) return false;
      options.duration = Number(value);
      return true;
    case '--action':
      options.action = [...(options.action ?? []), value];
      return true;
    case '--resource':
      options.resource = [...(options.resource ?? []), value];
      return true;
    case '--reason':
      options.reason = value;
      return true;
    case '--format':
      if (!(FORMATS as readonly string[]).includes(value)) return false;
      options.format = value as Format;
      return true;
    default:
      return false;
  }
}

/** The exit code when the fast path served the call, undefined when commander has to. */
export async function runFastPath(argv: readonly string[], context: CliContext): Promise<number | undefined> {
  const call = parseCredentialsCall(argv);
  if (call === undefined) return undefined;
  try {
    await serveCredentials(context, call.globals, call.profile, call.options);
    return EXIT.ok;
  } catch (error) {
    return reportError(error, context);
  }
}
