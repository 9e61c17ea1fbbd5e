// `tvm completion bash|zsh|fish`: scripts generated from the command tree itself, so every command
// and option tvm has is offered. The bash script runs in bash here, as bash runs it on Tab (COMP_WORDS
// and COMP_CWORD in, COMPREPLY out); zsh's and fish's run in test/integration/cli-completion.test.ts.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { completionScript, completionTree, SHELLS } from '../../cli/completion.js';
import { EXIT } from '../../cli/errors.js';
import { createProgram, runCli, type CliContext } from '../../cli/main.js';

const REPO_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

function aContext() {
  const out: string[] = [];
  const err: string[] = [];
  const context: CliContext = {
    repoRoot: REPO_ROOT,
    env: { TVM_STACK_FILE: '/nonexistent/stack.json' },
    homeDir: '/nonexistent-home',
    stdout: { write: (chunk) => out.push(String(chunk)) },
    stderr: { write: (chunk) => err.push(String(chunk)) },
  };
  return { context, stdout: () => out.join(''), stderr: () => err.join('') };
}

const program = () => createProgram(aContext().context);

/** Every command below the root, as its words after `tvm`. */
function commandPaths(command: Command, prefix: string[] = []): string[] {
  return command.commands.flatMap((sub) => [[...prefix, sub.name()].join(' '), ...commandPaths(sub, [...prefix, sub.name()])]);
}

/** What bash offers when Tab is pressed after these words (the last one is being typed). */
function bashCompletes(words: readonly string[]): string[] {
  const script = `${completionScript('bash', program())}
COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')})
COMP_CWORD=${words.length - 1}
_tvm
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter((line) => line !== '');
}

describe('the completion tree', () => {
  it('has every command, each with its own options and the global ones (not --version)', () => {
    // Act
    const tree = completionTree(program());

    // Assess
    expect(tree.map((node) => node.path)).toEqual(['', ...commandPaths(program()).filter((path) => !path.endsWith('help'))]);
    const credentials = tree.find((node) => node.path === 'credentials');
    const names = credentials?.options.map((option) => option.names[0]);
    expect(names).toEqual(expect.arrayContaining(['--duration', '--format', '--no-cache', '--help', '--url', '--token-command', '--json']));
    expect(names).not.toContain('--version');
    expect(credentials?.options.find((option) => option.names[0] === '--format')).toMatchObject({ takesValue: true, choices: ['credential-process', 'env', 'json'] });
    expect(credentials?.options.find((option) => option.names[0] === '--no-cache')).toMatchObject({ takesValue: false, choices: [] });
    expect(tree.find((node) => node.path === 'completion')?.argumentChoices).toEqual([...SHELLS]);
  });

  it('names every command and option in each shell’s script', () => {
    for (const shell of SHELLS) {
      // Act
      const script = completionScript(shell, program());

      // Assess
      for (const node of completionTree(program())) {
        for (const sub of node.subcommands) expect(script).toContain(sub.name);
        for (const option of node.options) expect(script).toContain(shell === 'fish' ? option.names[0]?.replace(/^--/, '-l ') : option.names[0]);
      }
    }
  });
});

describe('bash completion', () => {
  it.each<[string, string[], string[]]>([
    ['the commands', ['tvm', ''], ['login', 'logout', 'credentials', 'grants', 'completion', 'help']],
    ['a command being typed', ['tvm', 'gr'], ['grants']],
    ['subcommands', ['tvm', 'grants', ''], ['list', 'create', 'revoke', 'help']],
    ['subcommands after a global option and its value', ['tvm', '--url', 'https://tvm.example.com', 'grants', ''], ['list', 'create', 'revoke', 'help']],
    ["an option's choices", ['tvm', 'credentials', 'demo', '--format', ''], ['credential-process', 'env', 'json']],
    ["an argument's choices", ['tvm', 'completion', ''], ['bash', 'zsh', 'fish']],
    ['options being typed', ['tvm', 'credentials', 'demo', '--d'], ['--duration']],
  ])('offers %s', (_name, words, expected) => {
    // Act
    const offered = bashCompletes(words);

    // Assess
    expect(offered).toEqual(expect.arrayContaining(expected));
    if (words.at(-1) !== '') expect(offered).toEqual(expected);
  });

  it('offers every option of a subcommand, and the global ones', () => {
    expect(bashCompletes(['tvm', 'grants', 'create', '--'])).toEqual(
      expect.arrayContaining(['--profile', '--user', '--group', '--valid-until', '--can-delegate', '--help', '--url', '--token-command', '--json']),
    );
  });

  it('leaves an option value without choices to bash (file names), not to tvm’s commands', () => {
    expect(bashCompletes(['tvm', '--url', ''])).toEqual([]);
    expect(bashCompletes(['tvm', 'configure', '--aws-config', ''])).toEqual([]);
  });
});

describe('tvm completion', () => {
  it.each([...SHELLS])('prints the %s script on stdout', async (shell) => {
    // Prepare
    const { context, stdout, stderr } = aContext();

    // Act
    const code = await runCli(['completion', shell], context);

    // Assess
    expect({ code, stderr: stderr() }).toEqual({ code: EXIT.ok, stderr: '' });
    expect(stdout()).toBe(completionScript(shell, program()));
    expect(stdout()).toContain(`tvm completion ${shell}`);
  });

  it('refuses a shell it has no script for, as a usage error', async () => {
    // Prepare
    const { context, stdout, stderr } = aContext();

    // Act
    const code = await runCli(['completion', 'powershell'], context);

    // Assess
    expect({ code, stdout: stdout() }).toEqual({ code: EXIT.usage, stdout: '' });
    expect(stderr()).toContain('tvm: USAGE:');
  });
});
