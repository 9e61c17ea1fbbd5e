// The root program in-process: every command and subcommand answers --help, and every kind of
// failure becomes one stderr line and its exit code.
import { CommanderError } from 'commander';
import { CliError, EXIT } from '../../cli/errors.js';
import { createProgram, reportFailure, runCli } from '../../cli/main.js';
import { aContext, commandPaths } from '../fixtures/cli-in-process.js';




describe('tvm --help', () => {
  const paths = commandPaths(createProgram(aContext().context)).filter((path) => path.at(-1) !== 'help');

  it('covers the commands this helper registers', () => {
    // Assess
    expect(paths).toEqual(expect.arrayContaining([['credentials'], ['configure'], ['dev-token']]));
  });

  it.each([[[] as string[]], ...paths.map((path) => [path])])('answers `tvm %j --help` on stdout with exit 0', async (path) => {
    // Prepare
    const { context, stdout, stderr } = aContext();

    // Act
    const code = await runCli([...path, '--help'], context);

    // Assess
    expect({ code, stderr: stderr() }).toEqual({ code: 0, stderr: '' });
    expect(stdout()).toMatch(new RegExp(`^Usage: tvm${path.map((p) => ` ${p}`).join('')}`));
    // The global options, on every subcommand's help too.
    if (path.length > 0) expect(stdout()).toMatch(/Global Options:[\s\S]*--url <url>[\s\S]*--token-command <cmd>[\s\S]*--json/);
  });

  it('marks every option a command requires, and only those', async () => {
    // Prepare
    const { context, stdout } = aContext();

    // Act
    await runCli(['grants', 'create', '--help'], context);

    // Assess
    const marked = stdout()
      .split(/\n(?= {2}-)/)
      .filter((entry) => entry.includes('(required)'))
      .map((entry) => /--[a-z-]+/.exec(entry)?.[0]);
    expect(marked).toEqual(['--profile', '--valid-until']);
  });
});

describe('reportFailure', () => {
  it('prints a CliError as `tvm: <CODE>: <message>` and returns its exit code', () => {
    // Prepare
    const { context, stderr } = aContext();

    // Act
    const withCode = reportFailure(new CliError('no grant for demo', EXIT.refused, 'NO_GRANT'), context);
    const withoutCode = reportFailure(new CliError('something local', EXIT.usage), context);

    // Assess
    expect([withCode, withoutCode]).toEqual([EXIT.refused, EXIT.usage]);
    expect(stderr()).toBe('tvm: NO_GRANT: no grant for demo\ntvm: something local\n');
  });

  it('turns commander errors into usage errors (its help and version into success)', () => {
    // Prepare
    const { context } = aContext();

    // Act / Assess
    expect(reportFailure(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"), context)).toBe(EXIT.usage);
    expect(reportFailure(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), context)).toBe(EXIT.ok);
    expect(reportFailure(new CommanderError(2, 'tvm.noStack', 'no local stack'), context)).toBe(2);
  });

  it('reports a bug as exit 1 in one line, with the stack only when TVM_DEBUG=1', () => {
    // Prepare
    const quiet = aContext();
    const debug = aContext({ TVM_DEBUG: '1' });

    // Act
    const code = reportFailure(new TypeError('x is undefined'), quiet.context);
    reportFailure(new TypeError('x is undefined'), debug.context);

    // Assess
    expect(code).toBe(EXIT.unexpected);
    expect(quiet.stderr()).toBe('tvm: unexpected error: x is undefined\n');
    expect(debug.stderr()).toMatch(/^tvm: unexpected error: x is undefined\nTypeError: x is undefined\n\s+at /);
  });
});

describe('runCli', () => {
  it('exits 2 for an unknown command, printing a usage error', async () => {
    // Prepare
    const { context, stdout, stderr } = aContext();

    // Act
    const code = await runCli(['no-such-command'], context);

    // Assess
    expect(code).toBe(EXIT.usage);
    expect(stdout()).toBe('');
    expect(stderr()).toMatch(/^tvm: USAGE: unknown command 'no-such-command'/);
  });
});
