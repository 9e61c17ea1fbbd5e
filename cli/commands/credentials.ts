// `tvm credentials <profile>`: vend credentials for one profile and print them as the AWS
// credential_process helper protocol, shell exports or the API's JSON. Cached between calls (see
// credential-cache.ts) so `credential_process` in ~/.aws/config does not vend on every AWS command.
import { Command, InvalidArgumentError, Option } from 'commander';
import { createApiClient } from '../api.js';
import {
  createCredentialCache,
  defaultCacheDir,
  principalOfToken,
  vendResponseSchema,
  type CacheKey,
  type VendResponse,
} from '../credential-cache.js';
import { CliError, EXIT } from '../errors.js';
import type { CliContext } from '../main.js';
import { printJson, type Output } from '../output.js';
import { resolveSettings, type GlobalOptions } from '../settings.js';

const FORMATS = ['credential-process', 'env', 'json'] as const;
type Format = (typeof FORMATS)[number];

const MIN_DURATION_SECONDS = 900;
const MAX_DURATION_SECONDS = 43_200;

interface CredentialsOptions {
  readonly duration?: number;
  readonly action?: string[];
  readonly resource?: string[];
  readonly reason?: string;
  readonly format?: Format;
  readonly cache: boolean;
}

export function createCredentialsCommand(context: CliContext): Command {
  return new Command('credentials')
    .description('vend short-lived AWS credentials for a profile (use as credential_process in ~/.aws/config)')
    .argument('<profile>', 'profile to assume, e.g. demo-readonly')
    .option('--duration <seconds>', `session length, ${MIN_DURATION_SECONDS}-${MAX_DURATION_SECONDS} s (default: the API's, 900)`, parseDuration)
    .option('--action <action>', 'narrow the session to this IAM action (repeatable)', collect)
    .option('--resource <arn>', 'narrow the session to this resource ARN (repeatable)', collect)
    .option('--reason <text>', 'why, recorded in the audit trail')
    .addOption(new Option('--format <format>', 'output: credential-process (AWS JSON), env (shell exports) or json (API response); default env, or json with --json').choices(FORMATS))
    .option('--no-cache', `neither read nor write the credential cache ($XDG_CACHE_HOME/tvm or ~/.cache/tvm)`)
    .addHelpText(
      'after',
      `
Examples:
  eval "$(tvm credentials demo-readonly)"
  tvm credentials demo-readonly --duration 3600 --action s3:GetObject --resource 'arn:aws:s3:::demo/*'
  # ~/.aws/config (tvm configure writes it):
  [profile tvm-demo-readonly]
  credential_process = tvm credentials demo-readonly --format credential-process`,
    )
    .action(async (profile: string, options: CredentialsOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const format: Format = options.format ?? (globals.json ? 'json' : 'env');
      const settings = await resolveSettings(context, globals);
      const token = await settings.token();
      const key: CacheKey = {
        url: settings.url,
        principal: principalOfToken(token),
        profile,
        ...(options.duration === undefined ? {} : { durationSeconds: options.duration }),
        ...(options.action ? { actions: options.action } : {}),
        ...(options.resource ? { resources: options.resource } : {}),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      };
      const cache = options.cache
        ? createCredentialCache({ dir: defaultCacheDir(context.env, context.homeDir), warn: (message) => context.stderr.write(`tvm: warning: ${message}\n`) })
        : undefined;

      let response = await cache?.get(key);
      if (response === undefined) {
        const api = createApiClient(settings, { stderr: context.stderr });
        response = parseVendResponse(await api.request<unknown>('POST', '/credentials', { body: vendRequestBody(key) }));
        await cache?.put(key, response);
      }
      printCredentials(context.stdout, format, response);
    });
}

/** The body POST /credentials expects; scope only when narrowed, sorted so it matches the cache key. */
export function vendRequestBody(key: CacheKey): Record<string, unknown> {
  const scope = {
    ...(key.actions ? { actions: [...key.actions].sort() } : {}),
    ...(key.resources ? { resources: [...key.resources].sort() } : {}),
  };
  return {
    profile: key.profile,
    ...(key.durationSeconds === undefined ? {} : { durationSeconds: key.durationSeconds }),
    ...(Object.keys(scope).length > 0 ? { scope } : {}),
    ...(key.reason === undefined ? {} : { reason: key.reason }),
  };
}

function parseVendResponse(body: unknown): VendResponse {
  const parsed = vendResponseSchema.safeParse(body);
  if (!parsed.success) throw new CliError('POST /credentials answered without usable credentials', EXIT.server, 'BAD_RESPONSE');
  return parsed.data;
}

export function printCredentials(stdout: Output, format: Format, response: VendResponse): void {
  const { credentials } = response;
  switch (format) {
    case 'credential-process':
      // Exactly the AWS shape: anything else on stdout breaks the SDK's parsing.
      stdout.write(
        JSON.stringify({
          Version: 1,
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          SessionToken: credentials.sessionToken,
          Expiration: credentials.expiration,
        }) + '\n',
      );
      return;
    case 'env':
      stdout.write(
        [
          ['AWS_ACCESS_KEY_ID', credentials.accessKeyId],
          ['AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey],
          ['AWS_SESSION_TOKEN', credentials.sessionToken],
          ['AWS_CREDENTIAL_EXPIRATION', credentials.expiration],
        ]
          .map(([name, value]) => `export ${name}=${shellQuote(value ?? '')}\n`)
          .join(''),
      );
      return;
    case 'json':
      printJson(stdout, response);
      return;
  }
}

/** Single-quoted for POSIX shells, so `eval "$(tvm credentials …)"` cannot run anything. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9+/=:._-]*$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function parseDuration(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < MIN_DURATION_SECONDS || seconds > MAX_DURATION_SECONDS) {
    throw new InvalidArgumentError(`expected a whole number of seconds from ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS}.`);
  }
  return seconds;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
