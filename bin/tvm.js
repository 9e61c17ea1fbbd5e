#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's ESM loader (needs Node ≥ 20.6 for module.register).
import { register } from 'tsx/esm/api';

// `tvm … | head` closing the pipe early is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

register();
const { runCli } = await import('../cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
