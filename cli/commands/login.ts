// `tvm login` and `tvm logout`: sign in at the OpenID Connect issuer in the browser and keep the
// token (cli/login.ts, cli/token-store.ts), so no token_command is needed. TVM_TOKEN and a
// token_command still win when set.
import { Command, InvalidArgumentError } from 'commander';
import { openInBrowser } from '../browser.js';
import { CliError, EXIT } from '../errors.js';
import { DEFAULT_CLIENT_ID, login } from '../login.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';
import { configFilePath, readConfigFile, runningLocalStack, stackFilePath } from '../settings.js';
import { removeLogin, saveLogin } from '../token-store.js';

interface LoginCommandOptions {
  readonly issuer?: string;
  readonly clientId?: string;
  readonly browser: boolean;
  readonly maxAge?: number;
  readonly acrValues?: string[];
}

/** The most `--max-age` takes: a year. */
const MAX_AGE_SECONDS = 31_536_000;
const MAX_ACR_VALUES = 10;
// Printable and unquoted: the values travel in a URL and are shown in commands to copy.
const ACR_VALUE = /^[\x21-\x7e]{1,256}$/;

export function parseMaxAge(value: string): number {
  const seconds = Number(value);
  if (!/^\d{1,8}$/.test(value) || seconds > MAX_AGE_SECONDS) throw new InvalidArgumentError(`expected a whole number of seconds from 0 (a new sign-in) to ${MAX_AGE_SECONDS}.`);
  return seconds;
}

export function parseAcrValues(value: string): string[] {
  const values = value.split(' ').filter((acr) => acr !== '');
  if (values.length === 0 || values.length > MAX_ACR_VALUES || values.some((acr) => !ACR_VALUE.test(acr) || /["'`\\]/.test(acr))) {
    throw new InvalidArgumentError(`expected 1 to ${MAX_ACR_VALUES} space-separated values of printable characters without quotes or backslashes.`);
  }
  return values;
}

export function createLoginCommand(context: CliContext): Command {
  return new Command('login')
    .description('sign in at your identity provider in the browser and keep the token until it expires')
    .option('--issuer <url>', 'OpenID Connect issuer (default: "issuer" in the config file, or the local stack\'s dev issuer)')
    .option('--client-id <id>', `public client id registered for tvm at the issuer (default: "client_id" in the config file, or ${DEFAULT_CLIENT_ID})`)
    .option('--no-browser', 'print the sign-in URL instead of opening a browser (open it on this machine: it redirects to 127.0.0.1)')
    .option('--max-age <seconds>', 'ask for a sign-in at most this old, 0 for a new one (OpenID max_age: what a restricted profile asks for)', parseMaxAge)
    .option('--acr-values <values>', 'ask for one of these authentication context classes, space-separated, preferred first (OpenID acr_values)', parseAcrValues)
    .addHelpText(
      'after',
      `
Examples:
  tvm login
  tvm login --max-age 900
  tvm login --max-age 0 --acr-values 'urn:example:mfa'`,
    )
    .action(async (options: LoginCommandOptions, command: Command) => {
      const config = await readConfigFile(configFilePath(context));
      const issuer = options.issuer ?? config.issuer ?? (await runningLocalStack(stackFilePath(context)))?.issuer;
      if (!issuer) {
        throw new CliError(`no issuer: pass --issuer, set "issuer" in ${configFilePath(context)}, or start the local stack`, EXIT.usage, 'NO_ISSUER');
      }
      const tell = (url: string) => {
        context.stderr.write('tvm: open this URL in a browser on this machine to sign in:\n');
        context.stdout.write(`${url}\n`);
      };
      const result = await login({
        issuer,
        clientId: options.clientId ?? config.client_id ?? DEFAULT_CLIENT_ID,
        open: options.browser ? (url) => (context.openUrl ?? openInBrowser)(url) : async () => false,
        tell,
        ...(options.maxAge === undefined ? {} : { maxAgeSeconds: options.maxAge }),
        ...(options.acrValues === undefined ? {} : { acrValues: options.acrValues }),
      });
      const path = await saveLogin(context, { token: result.token, issuer, expiresAt: result.expiresAt });
      if (command.optsWithGlobals<{ json?: boolean }>().json) printJson(context.stdout, { subject: result.subject, issuer, expiresAt: result.expiresAt, file: path });
      else context.stderr.write(`tvm: signed in${result.subject ? ` as ${result.subject}` : ''} at ${issuer} until ${result.expiresAt} (kept in ${path})\n`);
    });
}

export function createLogoutCommand(context: CliContext): Command {
  return new Command('logout').description('forget the token tvm login kept').action(async () => {
    const removed = await removeLogin(context);
    context.stderr.write(removed ? 'tvm: signed out (the kept token is gone)\n' : 'tvm: not signed in\n');
  });
}
