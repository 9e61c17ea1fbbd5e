#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's ESM loader (needs Node ≥ 20.6 for module.register).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
