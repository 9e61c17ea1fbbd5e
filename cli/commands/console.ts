// `tvm console <profile>`: one-click AWS console sign-in, as aws-vault login and Granted do. Asks
// POST /credentials?format=console for a sign-in URL and opens it in the browser, or prints it. The
// URL signs whoever opens it in until the session ends: shown only when asked or when no browser
// opens, and never written anywhere else.
import { Command, InvalidArgumentError } from 'commander';
import { consoleDestinationSchema } from '../../shared/domain/schemas.js';
import { connect, suggestProfiles } from '../api.js';
import { parseProfileName, parseReason } from '../arguments.js';
import { openInBrowser } from '../browser.js';
import { CliError, EXIT } from '../errors.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

interface ConsoleOptions {
  readonly destination?: string;
  readonly reason?: string;
  readonly print?: boolean;
}

interface SignIn {
  readonly signinUrl: string;
  readonly expiration: string;
}

export function createConsoleCommand(context: CliContext): Command {
  return new Command('console')
    .description('sign in to the AWS console as a profile, in your browser, for one hour (POST /credentials?format=console)')
    .argument('<profile>', 'profile to sign in as, e.g. demo-readonly', parseProfileName)
    .option('--destination <path>', 'console page to open, e.g. s3 or /ec2/home?region=eu-west-1 (default: the console home)', parseDestination)
    .option('--reason <text>', 'why, recorded in the audit trail', parseReason)
    .option('--print', 'print the sign-in URL instead of opening a browser (it signs in whoever opens it: keep it to yourself)')
    .addHelpText(
      'after',
      `
Examples:
  tvm console demo-readonly
  tvm console demo-deploy --destination s3 --reason 'check the release bucket'
  tvm console demo-readonly --print`,
    )
    .action(async (profile: string, options: ConsoleOptions, command: Command) => {
      const api = await connect(context, command);
      const body = {
        profile,
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        ...(options.destination === undefined ? {} : { destination: options.destination }),
      };
      const signIn = readSignIn(
        await api.request<unknown>('POST', '/credentials', { query: { format: 'console' }, body }).catch((error: unknown) => suggestProfiles(api, profile, error)),
      );
      if (command.optsWithGlobals<{ json?: boolean }>().json) {
        printJson(context.stdout, signIn);
      } else if (options.print) {
        context.stdout.write(`${signIn.signinUrl}\n`);
      } else if (await (context.openUrl ?? openInBrowser)(signIn.signinUrl)) {
        context.stderr.write(`tvm: opened the AWS console as ${profile} in your browser (session until ${signIn.expiration})\n`);
      } else {
        context.stderr.write('tvm: could not open a browser; open this URL yourself (it signs in whoever opens it):\n');
        context.stdout.write(`${signIn.signinUrl}\n`);
      }
    });
}

/**
 * The API's answer, and only a web page: a browser is never handed another scheme (file:, a custom
 * protocol handler) or plain http beyond this machine (the local stack).
 */
function readSignIn(answer: unknown): SignIn {
  const { signinUrl, expiration } = (answer ?? {}) as Partial<Record<keyof SignIn, unknown>>;
  let url: URL | undefined;
  try {
    url = new URL(String(signinUrl));
  } catch {
    url = undefined;
  }
  const local = url?.protocol === 'http:' && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname);
  if (typeof signinUrl !== 'string' || typeof expiration !== 'string' || !(url?.protocol === 'https:' || local)) {
    throw new CliError('POST /credentials?format=console answered without a usable sign-in URL', EXIT.server, 'BAD_RESPONSE');
  }
  return { signinUrl, expiration };
}

function parseDestination(value: string): string {
  const parsed = consoleDestinationSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`${parsed.error.issues.map((issue) => issue.message).join('; ')}.`);
  return parsed.data;
}
