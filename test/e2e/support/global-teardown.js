import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export default async function globalTeardown() {
  await globalThis.__tvmStack?.stop();
  const stackFile = process.env.TVM_E2E_STACK_FILE;
  // TVM_KEEP=1 keeps the state folder (offline.log, stack.json) to look into a failure.
  if (stackFile && !process.env.TVM_KEEP) rmSync(dirname(stackFile), { recursive: true, force: true });
  rmSync(fileURLToPath(new URL('../../../.esbuild-e2e', import.meta.url)), { recursive: true, force: true });
}
