#!/usr/bin/env node
// `npm link` in this checkout (or `npx tvm` inside it): runs the TypeScript sources through tsx's ESM loader
// (Node ≥ 20.6 for module.register), so every edit is live. The packed CLI people install
// (`npm run pack:cli`) is bundled, without tsx, and starts an order of magnitude faster.
import { register } from 'tsx/esm/api';

register();
await import('../cli/tvm.ts');
