// The start-up fast path parses `tvm credentials …` without commander. It may hand any call to
// commander, but a call it takes must mean exactly what commander would make of it: same profile,
// same options, same global options. Generated command lines hold it to that.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Command } from 'commander';
import { EXIT } from '../../cli/errors.js';
import { parseCredentialsCall, runFastPath, type CredentialsCall } from '../../cli/fast-path.js';
import { createProgram } from '../../cli/main.js';
import { aContext } from '../fixtures/cli-in-process.js';



/** What commander makes of argv for `credentials`, or undefined when it refuses the line. */
async function commanderParse(argv: readonly string[]): Promise<CredentialsCall | undefined> {
  const program = createProgram(aContext().context);
  let parsed: CredentialsCall | undefined;
  const credentials = program.commands.find((command) => command.name() === 'credentials') as Command;
  credentials.action((profile: string, options: CredentialsCall['options'], command: Command) => {
    parsed = { profile, options: { ...options }, globals: { ...(command.parent as Command).opts() } };
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch {
    return undefined;
  }
  return parsed;
}

// Words a command line may be made of: options of both levels, in both forms, good and bad values.
const WORDS = [
  'credentials',
  'demo-readonly',
  'other',
  '--url',
  '--url=https://tvm.example.com',
  'https://tvm.example.com',
  '--token-command',
  'echo token',
  '--json',
  '--json=yes',
  '--duration',
  '--duration=3600',
  '900',
  '43201',
  'abc',
  '--action',
  '--action=s3:GetObject',
  's3:PutObject',
  '--resource',
  'arn:aws:s3:::demo/*',
  '--reason',
  'because',
  '--reason=',
  '--format',
  '--format=env',
  'credential-process',
  'json',
  'yaml',
  '--no-cache',
  '--help',
  '-h',
  '--version',
  '--unknown',
  '--',
  '-x',
  '',
];

describe('the credentials fast path', () => {
  it.each<[string, string[]]>([
    ['the credential_process line', ['credentials', 'demo-readonly', '--format', 'credential-process']],
    ['global options before and after', ['--url', 'https://tvm.example.com', 'credentials', 'demo-readonly', '--json', '--token-command', 'echo t']],
    ['every option, = forms too', ['credentials', '--duration=3600', 'demo', '--action', 'a', '--action=b', '--resource', 'r', '--reason', 'why', '--format=env', '--no-cache']],
  ])('takes %s as commander does', async (_name, argv) => {
    // Act
    const fast = parseCredentialsCall(argv);

    // Assess
    expect(fast).toBeDefined();
    expect(fast).toEqual(await commanderParse(argv));
  });

  it.each<[string, string[]]>([
    ['another command', ['me']],
    ['help', ['credentials', 'demo', '--help']],
    ['an unknown option', ['credentials', 'demo', '--unknown']],
    ['a value that looks like an option', ['credentials', 'demo', '--reason', '--json']],
    ['a duration out of range', ['credentials', 'demo', '--duration', '60']],
    ['a format it does not know', ['credentials', 'demo', '--format', 'yaml']],
    ['a repeated single option', ['credentials', 'demo', '--format', 'env', '--format', 'json']],
    ['no profile', ['credentials']],
    ['two profiles', ['credentials', 'a', 'b']],
    ['--no-cache before the command', ['--no-cache', 'credentials', 'demo']],
    ['the end of options', ['credentials', '--', 'demo']],
  ])('leaves %s to commander', (_name, argv) => {
    expect(parseCredentialsCall(argv)).toBeUndefined();
  });

  it('never takes a command line differently from commander', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...WORDS), { maxLength: 9 }), async (words) => {
        const argv = words.includes('credentials') || words.length === 0 ? words : ['credentials', ...words];
        const fast = parseCredentialsCall(argv);
        if (fast !== undefined) expect(fast).toEqual(await commanderParse(argv));
      }),
      { numRuns: 1500 },
    );
  });

  it('returns undefined for other commands, so that commander runs them', async () => {
    // Act
    const code = await runFastPath(['grants', 'list'], aContext().context);

    // Assess
    expect(code).toBeUndefined();
  });

  it('reports failures itself, as `tvm: <CODE>: <message>` with their exit code', async () => {
    // Prepare: no URL anywhere, an empty home
    const home = await mkdtemp(join(tmpdir(), 'tvm-fast-path-'));
    const { context, stdout, stderr } = aContext({ XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') });

    // Act
    const code = await runFastPath(['credentials', 'demo-readonly', '--format', 'credential-process'], context).finally(() =>
      rm(home, { recursive: true, force: true }),
    );

    // Assess
    expect({ code, stdout: stdout() }).toEqual({ code: EXIT.usage, stdout: '' });
    expect(stderr()).toMatch(/^tvm: NO_URL: no API URL/);
  });
});
