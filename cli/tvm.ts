#!/usr/bin/env node
// The `tvm` executable. bin/tvm.js runs it from the sources through tsx; cli/release/pack.ts bundles
// it for the packed CLI. A `credentials` call goes the fast path (fast-path.ts); any other command
// loads commander and the command tree (main.ts) only then.
import { defaultContext, guardedStdout } from './context.js';
import { runFastPath } from './fast-path.js';

// No top-level await: the packed bin/tvm.js is CommonJS (pack.ts), which Node starts faster.
async function run(argv: readonly string[]): Promise<number> {
  const context = defaultContext();
  const served = await runFastPath(argv, context);
  if (served !== undefined) return served;
  guardedStdout(); // some commands print through process.stdout itself
  return (await import('./main.js')).runCli(argv, context);
}

void run(process.argv.slice(2)).then((exitCode) => {
  process.exitCode = exitCode;
});
