// `tvm exec <profile> -- <command> [args…]`: runs one command with the profile's credentials in its
// environment (as aws-vault exec does), so nobody has to `eval` secrets into their own shell. The
// credentials come as `tvm credentials` gets them (cache, cut-off check, vend); tvm's own output
// stays empty, and it exits with the command's exit code.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Command } from 'commander';
import { CliError, CommandExit, EXIT } from '../errors.js';
import type { CliContext } from '../context.js';
import { MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, obtainCredentials, type CredentialsOptions } from '../serve-credentials.js';
import type { GlobalOptions } from '../settings.js';
import { collect, parseDuration } from './credentials.js';

/** Profile settings the command must not fall back to instead of the credentials given. */
const SHADOWING = ['AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_CREDENTIAL_PROCESS', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
// Signals sent to tvm alone (a supervisor's SIGTERM) are passed on. Ctrl-C reaches the command from
// the terminal itself (the whole foreground group gets it): tvm only outlives it, to exit as the command does.
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];
const ignore = () => undefined;

export function createExecCommand(context: CliContext): Command {
  return new Command('exec')
    .description("run a command with a profile's short-lived credentials in its environment")
    .argument('<profile>', 'profile to assume, e.g. demo-readonly')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--duration <seconds>', `session length, ${MIN_DURATION_SECONDS}-${MAX_DURATION_SECONDS} s (default: the API's, 900)`, parseDuration)
    .option('--action <action>', 'narrow the session to this IAM action (repeatable)', collect)
    .option('--resource <arn>', 'narrow the session to this resource ARN (repeatable)', collect)
    .option('--reason <text>', 'why, recorded in the audit trail')
    .option('--no-cache', 'neither read nor write the credential cache')
    .addHelpText(
      'after',
      `
The command gets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_CREDENTIAL_EXPIRATION and TVM_PROFILE; AWS_PROFILE and other profile settings are removed so
the AWS tools use these credentials. tvm exits with the command's exit code.

Examples:
  tvm exec demo-readonly -- aws sts get-caller-identity
  tvm exec demo-readonly --reason 'ticket 123' -- ./deploy.sh --dry-run`,
    )
    .action(async (profile: string, command: string[], options: Omit<CredentialsOptions, 'format'>, self: Command) => {
      const { credentials } = await obtainCredentials(context, self.optsWithGlobals<GlobalOptions>(), profile, options, { mayStepUp: true });
      const env: Record<string, string | undefined> = { ...context.env };
      for (const name of SHADOWING) delete env[name];
      Object.assign(env, {
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        AWS_CREDENTIAL_EXPIRATION: credentials.expiration,
        TVM_PROFILE: profile,
      });
      const exitCode = await run(command, env);
      if (exitCode !== EXIT.ok) throw new CommandExit(exitCode);
    });
}

/** Runs the command with its own terminal I/O; resolves with its exit code (128 + n for signal n). */
function run(command: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    process.on('SIGINT', ignore);
    const done = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      process.off('SIGINT', ignore);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      done();
      reject(new CliError(`cannot run ${JSON.stringify(file)}: ${error.code ?? error.message}`, error.code === 'ENOENT' ? 127 : EXIT.usage, 'EXEC_FAILED'));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
