// The `tvm` command line. Each subcommand lives in cli/commands/<name>.ts and exports a factory
// taking the CliContext; this file assembles them, adds the global options and turns every failure
// into a one-line message on stderr and an exit code (cli/errors.ts). cli/tvm.ts calls runCli.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Help } from 'commander';
import { createAlertsCommand } from './commands/alerts.js';
import { createAuditCommand } from './commands/audit.js';
import { createCompletionCommand } from './commands/completion.js';
import { createConfigureCommand } from './commands/configure.js';
import { createConsoleCommand } from './commands/console.js';
import { createCredentialsCommand } from './commands/credentials.js';
import { createDevTokenCommand } from './commands/dev-token.js';
import { createExecCommand } from './commands/exec.js';
import { createEngagementsCommand } from './commands/engagements.js';
import { createGrantsCommand } from './commands/grants.js';
import { createLockdownCommand } from './commands/lockdown.js';
import { createLoginCommand, createLogoutCommand } from './commands/login.js';
import { createMeCommand } from './commands/me.js';
import { createProfilesCommand } from './commands/profiles.js';
import { createApproveCommand, createDenyCommand, createRequestCommand, createRequestsCommand } from './commands/requests.js';
import { defaultContext, type CliContext } from './context.js';
import { EXIT, reportError } from './errors.js';


/** Every subcommand, in the order `tvm --help` lists them. */
const COMMANDS: readonly ((context: CliContext) => Command)[] = [
  createLoginCommand,
  createLogoutCommand,
  createCredentialsCommand,
  createExecCommand,
  createConsoleCommand,
  createConfigureCommand,
  createDevTokenCommand,
  createMeCommand,
  createProfilesCommand,
  createGrantsCommand,
  createRequestCommand,
  createRequestsCommand,
  createApproveCommand,
  createDenyCommand,
  createEngagementsCommand,
  createLockdownCommand,
  createAuditCommand,
  createAlertsCommand,
  createCompletionCommand,
];

/** The commands that print an API answer (formats.ts' render), so `--query` can pick a field of it. */
const ANSWERING = new Set(['me', 'profiles', 'grants', 'request', 'requests', 'approve', 'deny', 'engagements', 'lockdown', 'audit', 'alerts']);

export { defaultContext, type CliContext };

export function createProgram(context: CliContext): Command {
  const { version } = JSON.parse(readFileSync(join(context.repoRoot, 'package.json'), 'utf8')) as { version: string };
  const program = new Command('tvm')
    .description('Token-vending machine: short-lived, audited AWS credentials for OIDC-authenticated callers')
    .version(version)
    .option('--url <url>', 'tvm API URL (default: $TVM_URL, "url" in ~/.config/tvm/config.json, or the running local stack)')
    .option('--token-command <cmd>', 'shell command printing an OIDC token (default: $TVM_TOKEN, or "token_command" in the config file)')
    .option('--json', 'print JSON instead of tables')
    .addHelpText(
      'after',
      `
Exit codes: ${EXIT.ok} ok · ${EXIT.unexpected} unexpected · ${EXIT.usage} usage or setup · ${EXIT.auth} no or rejected token · ${EXIT.refused} refused by the API · ${EXIT.server} API unreachable or failing`,
    );
  for (const create of COMMANDS) program.addCommand(create(context));
  for (const command of program.commands) {
    if (ANSWERING.has(command.name())) {
      command.option('--query <path>', 'print only this field of the answer, e.g. id or grants.0.id (a list: one line per item)');
    }
  }
  configureEverywhere(program, context);
  return program;
}

/** Runs the program and returns the exit code; never throws. */
export async function runCli(argv: readonly string[], context: CliContext = defaultContext()): Promise<number> {
  const program = createProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    return reportFailure(error, context);
  }
}

/** Prints what went wrong as one line on stderr and picks the exit code. */
export function reportFailure(error: unknown, context: CliContext): number {
  if (error instanceof CommanderError) {
    // Commander has already printed the message (through outputError below), or the help text.
    // Its own failures (unknown option, missing argument…) exit 1; tvm calls them usage errors.
    if (error.exitCode === 0) return EXIT.ok;
    return error.exitCode === 1 ? EXIT.usage : error.exitCode;
  }
  return reportError(error, context);
}

/**
 * Commander copies settings only to subcommands made with .command(), not to added ones, so this
 * walks the tree: throw instead of exiting (runCli picks the code), print usage errors as tvm errors.
 */
function configureEverywhere(command: Command, context: CliContext): void {
  command
    .exitOverride()
    // Every subcommand's help lists --json, --url and --token-command too, and marks what it needs.
    .configureHelp({
      showGlobalOptions: true,
      optionDescription: (option) => `${new Help().optionDescription(option)}${option.mandatory ? ' (required)' : ''}`,
    })
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'tvm: USAGE: ')),
    });
  for (const sub of command.commands) configureEverywhere(sub, context);
}
