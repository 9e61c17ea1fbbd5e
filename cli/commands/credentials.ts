// `tvm credentials <profile>`: vend credentials for one profile and print them as the AWS
// credential_process helper protocol, shell exports or the API's JSON. Cached between calls (see
// credential-cache.ts) so `credential_process` in ~/.aws/config does not vend on every AWS command.
// The work is in serve-credentials.ts; fast-path.ts parses the common calls without commander.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliContext } from '../context.js';
import {
  FORMATS,
  isDurationSeconds,
  MAX_DURATION_SECONDS,
  MIN_DURATION_SECONDS,
  serveCredentials,
  type CredentialsOptions,
} from '../serve-credentials.js';
import type { GlobalOptions } from '../settings.js';

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
    .action((profile: string, options: CredentialsOptions, command: Command) =>
      serveCredentials(context, command.optsWithGlobals<GlobalOptions>(), profile, options),
    );
}

export function parseDuration(value: string): number {
  if (!isDurationSeconds(value)) {
    throw new InvalidArgumentError(`expected a whole number of seconds from ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS}.`);
  }
  return Number(value);
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
