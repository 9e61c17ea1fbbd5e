// Starts one local stack for the whole e2e run, on free ports, with its own state and build
// folders so it never collides with a developer's `npm start`. Plain JS: Jest loads global setup
// outside its transform, so the TypeScript stack code is loaded through tsx.
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { freePort } = await tsImport('../../../local/processes.ts', import.meta.url);
  const { startStack } = await tsImport('../../../local/stack.ts', import.meta.url);
  const stateDir = mkdtempSync(join(tmpdir(), 'tvm-e2e-'));
  const ports = {
    api: await freePort(),
    console: await freePort(),
    lambda: await freePort(),
    sts: await freePort(),
    issuer: await freePort(),
    dynamodb: await freePort(),
  };
  // serverless-offline's output (every function's log lines) goes to a file, so a test can check
  // what was logged (test/e2e/no-secrets-at-rest.test.ts); TVM_E2E_VERBOSE names the file to tail.
  const offlineLog = join(stateDir, 'offline.log');
  const offlineLogFd = openSync(offlineLog, 'a');
  if (process.env.TVM_E2E_VERBOSE) console.log(`serverless-offline output: ${offlineLog}`);
  const stack = await startStack({ ports, stateDir, buildDir: '.esbuild-e2e', offlineOutput: offlineLogFd }).finally(() =>
    closeSync(offlineLogFd),
  );
  const stackFile = join(stateDir, 'stack.json');
  writeFileSync(stackFile, JSON.stringify(stack.info, null, 2));
  process.env.TVM_E2E_STACK_FILE = stackFile;
  globalThis.__tvmStack = stack;
}
