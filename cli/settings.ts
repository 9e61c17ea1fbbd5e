// Where the API is and who the caller is. Flags beat the environment, which beats the config file;
// the local stack's stack.json is the last resort for the URL so `npm start` + `tvm …` just works.
// The token is only ever held in memory: tvm reads it from TVM_TOKEN or runs a token_command.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from './errors.js';
import type { CliContext } from './main.js';

/** The root program's options, as `command.optsWithGlobals()` returns them. */
export interface GlobalOptions {
  readonly url?: string;
  readonly tokenCommand?: string;
  readonly json?: boolean;
}

export interface Settings {
  readonly url: string;
  /** Resolves the caller's token once (running token_command at most once) and remembers it. */
  readonly token: () => Promise<string>;
}

const TOKEN_COMMAND_TIMEOUT_MS = 30_000;
/** A token command printing more than this is not printing a token. */
const TOKEN_COMMAND_MAX_BYTES = 64 * 1024;

const configFileSchema = z.object({ url: z.string().url().optional(), token_command: z.string().min(1).optional() }).strict();
export type ConfigFile = z.infer<typeof configFileSchema>;

const stackFileSchema = z.object({ apiUrl: z.string().url() }).passthrough();

export function configFilePath(context: CliContext): string {
  const base = context.env.XDG_CONFIG_HOME || join(context.homeDir, '.config');
  return join(base, 'tvm', 'config.json');
}

export function stackFilePath(context: CliContext): string {
  return context.env.TVM_STACK_FILE || join(context.repoRoot, '.tvm', 'stack.json');
}

export async function resolveSettings(context: CliContext, globals: GlobalOptions): Promise<Settings> {
  const config = await readConfigFile(configFilePath(context));
  const url = globals.url || context.env.TVM_URL || config.url || (await localStackUrl(stackFilePath(context)));
  if (!url) {
    throw new CliError('no API URL: pass --url, set TVM_URL or "url" in ' + configFilePath(context) + ', or start the local stack', EXIT.usage, 'NO_URL');
  }
  return { url: withoutTrailingSlash(checkUrl(url)), token: memoize(() => resolveToken(context, globals, config)) };
}

async function resolveToken(context: CliContext, globals: GlobalOptions, config: ConfigFile): Promise<string> {
  const command = globals.tokenCommand || (context.env.TVM_TOKEN ? undefined : config.token_command);
  if (command) return runTokenCommand(command, context);
  if (context.env.TVM_TOKEN) return context.env.TVM_TOKEN.trim();
  throw new CliError('no token: set TVM_TOKEN or a token_command', EXIT.auth, 'NO_TOKEN');
}

/** Reads the config file; a missing file is an empty config, a broken one is a usage error. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
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
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ');
    throw new CliError(`${path}: ${problems}`, EXIT.usage, 'BAD_CONFIG');
  }
  return parsed.data;
}

/** The running local stack's API, if there is one; anything unreadable just means "no local stack". */
async function localStackUrl(path: string): Promise<string | undefined> {
  try {
    const parsed = stackFileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data.apiUrl : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the token command through the shell (it is a command line the user wrote, like git's
 * credential helpers). Its stderr goes to ours so SSO prompts stay visible; its stdout is the token.
 */
export function runTokenCommand(command: string, context: Pick<CliContext, 'env' | 'stderr'>): Promise<string> {
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

function checkUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return url;
  } catch {
    // falls through to the error below
  }
  throw new CliError(`not an http(s) URL: ${url}`, EXIT.usage, 'BAD_URL');
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function memoize<T>(work: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= work());
}
