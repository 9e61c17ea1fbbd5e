// Where the API is and who the caller is. Flags beat the environment, which beats the config file;
// the local stack's stack.json is the last resort for the URL so `npm start` + `tvm …` just works.
// The token comes from a token_command or TVM_TOKEN when set, else from `tvm login` (token-store.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT } from './errors.js';
import type { CliContext } from './context.js';
import { loadLogin } from './token-store.js';

/** The root program's options, as `command.optsWithGlobals()` returns them. */
export interface GlobalOptions {
  readonly url?: string;
  readonly tokenCommand?: string;
  readonly json?: boolean;
  /** `--query <path>`: print only this field of the answer. */
  readonly query?: string;
}

export interface Settings {
  readonly url: string;
  /** Resolves the caller's token once (running token_command at most once) and remembers it. */
  readonly token: () => Promise<string>;
  /** Where the token comes from: what the person must renew when the API wants a fresher sign-in. */
  readonly tokenSource?: TokenSource;
}

/** A token_command (flag or config file), TVM_TOKEN, or the token `tvm login` kept. */
export type TokenSource = 'token-command' | 'environment' | 'login';

const TOKEN_COMMAND_TIMEOUT_MS = 30_000;
/** A token command printing more than this is not printing a token. */
const TOKEN_COMMAND_MAX_BYTES = 64 * 1024;

// Read synchronously and checked by hand, not with zod: every cached `credential_process` call reads
// these files, and zod or node:fs/promises would add a good part of Node's start-up to it (fast-path.ts).
interface FieldRule {
  readonly valid: (value: unknown) => boolean;
  readonly expected: string;
}
const A_URL: FieldRule = { valid: (value) => typeof value === 'string' && URL.canParse(value), expected: 'a URL' };
const A_STRING: FieldRule = { valid: (value) => typeof value === 'string' && value.length > 0, expected: 'a non-empty string' };

/** The config file's fields; any other is a mistake worth reporting. */
const CONFIG_FIELDS = {
  url: A_URL,
  token_command: A_STRING,
  /** Where `tvm login` signs in, and the public client id registered there for tvm. */
  issuer: A_URL,
  client_id: A_STRING,
} satisfies Record<string, FieldRule>;
export type ConfigFile = { readonly [Field in keyof typeof CONFIG_FIELDS]?: string };

/** The running local stack, as its stack.json describes it. */
export interface LocalStack {
  readonly apiUrl: string;
  readonly issuer: string;
}

export function configFilePath(context: CliContext): string {
  const base = context.env.XDG_CONFIG_HOME || join(context.homeDir, '.config');
  return join(base, 'tvm', 'config.json');
}

export function stackFilePath(context: CliContext): string {
  return context.env.TVM_STACK_FILE || join(context.repoRoot, '.tvm', 'stack.json');
}

export async function resolveSettings(context: CliContext, globals: GlobalOptions): Promise<Settings> {
  const config = await readConfigFile(configFilePath(context));
  const stackFile = stackFilePath(context);
  const local = await runningLocalStack(stackFile);
  const chosen = globals.url || context.env.TVM_URL || config.url;
  if (!chosen && local) context.stderr.write(`tvm: using the local stack at ${local.apiUrl} (${stackFile})\n`);
  const url = chosen || local?.apiUrl;
  if (!url) {
    throw new CliError('no API URL: pass --url, set TVM_URL or "url" in ' + configFilePath(context) + ', or start the local stack', EXIT.usage, 'NO_URL');
  }
  const api = withoutTrailingSlash(checkUrl(url));
  // The local stack trusts its dev issuer only: a real token sent there would be a token given away.
  const toLocal = local !== undefined && sameLocalServer(local.apiUrl, api);
  const token = memoize(async () => {
    const resolved = await resolveToken(context, globals, config);
    if (toLocal) assertIssuedBy(resolved, local.issuer);
    return resolved;
  });
  return { url: api, token, tokenSource: tokenSourceOf(context, globals, config) };
}

function tokenCommandOf(context: CliContext, globals: GlobalOptions, config: ConfigFile): string | undefined {
  return globals.tokenCommand || (context.env.TVM_TOKEN ? undefined : config.token_command);
}

function tokenSourceOf(context: CliContext, globals: GlobalOptions, config: ConfigFile): TokenSource {
  if (tokenCommandOf(context, globals, config)) return 'token-command';
  return context.env.TVM_TOKEN ? 'environment' : 'login';
}

function assertIssuedBy(token: string, issuer: string): void {
  const iss = issuerOf(token);
  if (iss !== issuer) {
    throw new CliError(
      `the token is from ${iss ?? 'an unknown issuer'}, not the local stack's dev issuer (${issuer}): it is not sent there; use tvm dev-token, or --url for another API`,
      EXIT.auth,
      'FOREIGN_TOKEN',
    );
  }
}

/** The `iss` claim of a JWT, read (not verified: the API verifies) to decide where it may go. */
function issuerOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
    return typeof payload.iss === 'string' ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}

async function resolveToken(context: CliContext, globals: GlobalOptions, config: ConfigFile): Promise<string> {
  const command = tokenCommandOf(context, globals, config);
  if (command) return runTokenCommand(command, context);
  if (context.env.TVM_TOKEN) return context.env.TVM_TOKEN.trim();
  const stored = await loadLogin(context);
  if (stored) return stored.token;
  throw new CliError('no token: run tvm login (or set TVM_TOKEN or a token_command; locally, tvm dev-token)', EXIT.auth, 'NO_TOKEN');
}

/** Reads the config file; a missing file is an empty config, a broken one is a usage error. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, EXIT.usage, 'BAD_CONFIG', { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON`, EXIT.usage, 'BAD_CONFIG', { cause: error });
  }
  const problems = configProblems(json);
  if (problems.length > 0) throw new CliError(`${path}: ${problems.join('; ')}`, EXIT.usage, 'BAD_CONFIG');
  return json as ConfigFile;
}

function configProblems(json: unknown): string[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return ['file: expected an object'];
  return Object.entries(json).flatMap(([field, value]) => {
    if (!Object.hasOwn(CONFIG_FIELDS, field)) return [`${field}: not a setting tvm knows`];
    const rule: FieldRule = CONFIG_FIELDS[field as keyof typeof CONFIG_FIELDS];
    return rule.valid(value) ? [] : [`${field}: expected ${rule.expected}`];
  });
}

/**
 * The local stack, if its stack.json names a process that still runs; anything unreadable, or a
 * stack.json left behind by a stack that is gone, means "no local stack".
 */
export async function runningLocalStack(path: string): Promise<LocalStack | undefined> {
  try {
    const { apiUrl, issuer, pid } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (!A_URL.valid(apiUrl) || !A_URL.valid(issuer) || !Number.isInteger(pid) || (pid as number) <= 0) return undefined;
    // The local stack listens on this machine only: a stack.json naming anything else is not one.
    if (!isAlive(pid as number) || !isLoopback(new URL(apiUrl as string).hostname)) return undefined;
    return { apiUrl: apiUrl as string, issuer: issuer as string };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs the token command through the shell (it is a command line the user wrote, like git's
 * credential helpers). Its stderr goes to ours so SSO prompts stay visible; its stdout is the token.
 */
export async function runTokenCommand(command: string, context: Pick<CliContext, 'env' | 'stderr'>): Promise<string> {
  // Loaded only when needed: most calls take their token from TVM_TOKEN or `tvm login`.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      shell: true,
      env: { ...context.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: TOKEN_COMMAND_TIMEOUT_MS,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= TOKEN_COMMAND_MAX_BYTES) chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => context.stderr.write(chunk));
    child.on('error', (error) => reject(new CliError(`token_command failed to start: ${error.message}`, EXIT.auth, 'TOKEN_COMMAND', { cause: error })));
    child.on('close', (code, signal) => {
      if (signal) return reject(new CliError(`token_command was stopped (${signal}${signal === 'SIGTERM' ? ', timed out after 30 s' : ''})`, EXIT.auth, 'TOKEN_COMMAND'));
      if (code !== 0) return reject(new CliError(`token_command exited with status ${code}`, EXIT.auth, 'TOKEN_COMMAND'));
      if (size > TOKEN_COMMAND_MAX_BYTES) return reject(new CliError('token_command printed more than 64 KiB', EXIT.auth, 'TOKEN_COMMAND'));
      const token = Buffer.concat(chunks).toString('utf8').trim();
      if (!token) return reject(new CliError('token_command printed no token', EXIT.auth, 'TOKEN_COMMAND'));
      resolve(token);
    });
  });
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);
const isLoopback = (hostname: string) => LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);

/** Whether two URLs reach the same server on this machine, whatever loopback name each uses. */
function sameLocalServer(a: string, b: string): boolean {
  const [x, y] = [new URL(a), new URL(b)];
  if (x.origin === y.origin) return true;
  return isLoopback(x.hostname) && isLoopback(y.hostname) && x.port === y.port && x.protocol === y.protocol;
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`not an http(s) URL: ${url}`, EXIT.usage, 'BAD_URL');
  }
  if (parsed.protocol === 'https:') return url;
  if (parsed.protocol !== 'http:') throw new CliError(`not an http(s) URL: ${url}`, EXIT.usage, 'BAD_URL');
  // Plain http only to this machine (the local stack): anywhere else the token would travel in clear.
  if (!isLoopback(parsed.hostname)) throw new CliError(`plain http:// is for the local stack only (localhost): use https:// for ${parsed.host}`, EXIT.usage, 'BAD_URL');
  return url;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function memoize<T>(work: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= work());
}
