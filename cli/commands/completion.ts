// `tvm completion bash|zsh|fish`: prints the shell's completion script for every tvm command and
// option, generated from the command tree it is part of (cli/completion.ts).
import { Argument, Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import type { CliContext } from '../context.js';

export function createCompletionCommand(context: CliContext): Command {
  return new Command('completion')
    .description('print a shell completion script for tvm (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(tvm completion bash)                              # in ~/.bashrc
  source <(tvm completion zsh)                               # in ~/.zshrc, after compinit
  tvm completion fish > ~/.config/fish/completions/tvm.fish`,
    )
    .action((shell: Shell, _options: unknown, command: Command) => {
      let root = command;
      while (root.parent) root = root.parent;
      context.stdout.write(completionScript(shell, root));
    });
}
