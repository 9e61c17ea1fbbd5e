// `tvm completion zsh` and `tvm completion fish` in the real shells (CI installs both: .ci/run).
// fish completes a command line itself (`complete -C`); zsh's completion functions need its line
// editor, so zsh runs tvm's function with the editor's parameters set and its builtins recorded.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { completionScript } from '../../cli/completion.js';
import { createProgram, type CliContext } from '../../cli/main.js';

const REPO_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

const context: CliContext = {
  repoRoot: REPO_ROOT,
  env: {},
  homeDir: '/nonexistent-home',
  stdout: { write: () => true },
  stderr: { write: () => true },
};
const scriptFor = (shell: 'zsh' | 'fish') => completionScript(shell, createProgram(context));

function run(shell: string, args: readonly string[]): string {
  const result = spawnSync(shell, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home' } });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  return result.stdout;
}

/** fish's own completion of the line: the candidates, without their descriptions. */
function fishCompletes(line: string): string[] {
  const output = run('fish', ['--no-config', '-c', `${scriptFor('fish')}\ncomplete -C ${JSON.stringify(line)}`]);
  return output
    .split('\n')
    .filter((entry) => entry !== '')
    .map((entry) => entry.split('\t')[0] as string);
}

/** What tvm's zsh function hands to _describe, compadd or _files for the words (the last one being typed). */
function zshCompletes(words: readonly string[]): string {
  const program = `
compdef() { : }
${scriptFor('zsh')}
_describe() { local name=\${@[-1]}; local -a items; items=("\${(@P)name}"); print -r -- "\${(j: :)\${(@)items%%:*}}" }
compadd() { local name=\${@[-1]}; print -r -- "\${(j: :)\${(@P)name}}" }
_files() { print -r -- '(files)' }
words=(${words.map((word) => `'${word}'`).join(' ')})
CURRENT=\${#words}
PREFIX=\${words[-1]}
_tvm`;
  return run('zsh', ['-f', '-c', program]).trim();
}

describe('fish completion', () => {
  it('offers the commands', () => {
    expect(fishCompletes('tvm ')).toEqual(expect.arrayContaining(['login', 'credentials', 'grants', 'completion', 'help']));
  });

  it.each<[string, string, string[]]>([
    ['subcommands', 'tvm grants ', ['create', 'help', 'list', 'revoke']],
    ['subcommands after a global option and its value', 'tvm --url https://tvm.example.com grants ', ['create', 'help', 'list', 'revoke']],
    ["an option's choices", 'tvm credentials demo --format ', ['credential-process', 'env', 'json']],
    ["an argument's choices", 'tvm completion ', ['bash', 'fish', 'zsh']],
    ['options being typed', 'tvm grants create --val', ['--valid-from', '--valid-until']],
  ])('offers %s', (_name, line, expected) => {
    expect(fishCompletes(line).sort()).toEqual(expected);
  });
});

describe('zsh completion', () => {
  it.each<[string, string[], string]>([
    ['subcommands', ['tvm', 'grants', ''], 'list create revoke help'],
    ['subcommands after a global option and its value', ['tvm', '--url', 'https://tvm.example.com', 'grants', ''], 'list create revoke help'],
    ["an option's choices", ['tvm', 'credentials', 'demo', '--format', ''], 'credential-process env json'],
    ["an argument's choices", ['tvm', 'completion', ''], 'bash zsh fish'],
    ['files for an option value without choices', ['tvm', 'configure', '--aws-config', ''], '(files)'],
  ])('offers %s', (_name, words, expected) => {
    expect(zshCompletes(words)).toBe(expected);
  });

  it('offers the commands, and every option with the global ones', () => {
    expect(zshCompletes(['tvm', '']).split(' ')).toEqual(expect.arrayContaining(['login', 'credentials', 'grants', 'completion', 'help']));
    expect(zshCompletes(['tvm', 'grants', 'create', '--']).split(' ')).toEqual(
      expect.arrayContaining(['--profile', '--valid-until', '--can-delegate', '--help', '--url', '--token-command', '--json']),
    );
  });
});
