import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export default async function globalTeardown() {
  await globalThis.__tvmStack?.stop();
  const stackFile = process.env.TVM_E2E_STACK_FILE;
  if (stackFile) rmSync(dirname(stackFile), { recursive: true, force: true });
  rmSync(fileURLToPath(new URL('../../../.esbuild-e2e', import.meta.url)), { recursive: true, force: true });
}
