// The `tvm` command line. Each subcommand lives in cli/commands/<name>.ts and exports a factory
// taking the CliContext; this file only assembles them and runs the program.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createDevTokenCommand } from './commands/dev-token.js';

/** What every command may need from its surroundings, passed in so commands stay testable. */
export interface CliContext {
  /** The checkout tvm runs from (holds package.json and, when the local stack runs, .tvm/). */
  readonly repoRoot: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const context: CliContext = { repoRoot, env: process.env };

const program = new Command('tvm')
  .description('Token-vending machine: short-lived, audited AWS credentials for OIDC-authenticated callers')
  .version(version)
  .addCommand(createDevTokenCommand(context));

await program.parseAsync(process.argv);
