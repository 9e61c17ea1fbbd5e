// Starts one local stack for the whole e2e run, on free ports, with its own state and build
// folders so it never collides with a developer's `npm start`. Plain JS: Jest loads global setup
// outside its transform, so the TypeScript stack code is loaded through tsx.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { freePort } = await tsImport('../../../local/processes.ts', import.meta.url);
  const { startStack } = await tsImport('../../../local/stack.ts', import.meta.url);
  const stateDir = mkdtempSync(join(tmpdir(), 'tvm-e2e-'));
  const ports = {
    api: await freePort(),
    lambda: await freePort(),
    sts: await freePort(),
    issuer: await freePort(),
    dynamodb: await freePort(),
  };
  const stack = await startStack({
    ports,
    stateDir,
    buildDir: '.esbuild-e2e',
    offlineOutput: process.env.TVM_E2E_VERBOSE ? 'inherit' : 'ignore',
  });
  const stackFile = join(stateDir, 'stack.json');
  writeFileSync(stackFile, JSON.stringify(stack.info, null, 2));
  process.env.TVM_E2E_STACK_FILE = stackFile;
  globalThis.__tvmStack = stack;
}
