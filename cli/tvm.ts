#!/usr/bin/env node
// The `tvm` executable. bin/tvm.js runs it from the sources through tsx; cli/release/pack.ts bundles
// it for the packed CLI. A `credentials` call goes the fast path (fast-path.ts); any other command
// loads commander and the command tree (main.ts) only then.
import { defaultContext, guardedStdout } from './context.js';
import { runFastPath } from './fast-path.js';

const argv = process.argv.slice(2);
const context = defaultContext();
let exitCode = await runFastPath(argv, context);
if (exitCode === undefined) {
  guardedStdout(); // some commands print through process.stdout itself
  exitCode = await (await import('./main.js')).runCli(argv, context);
}
process.exitCode = exitCode;
