// ESLint rule: no import may lead back to the file it is in (type-only and dynamic imports
// included), so no module ever sees another half-initialised and layers stay layers. It follows
// relative imports on disk (a regex per file, cached for the run), from each import of the file
// being linted, and reports the first cycle it finds with its path.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const EXTENSIONS = ['.ts', '.tsx', '.js', '.mjs', '/index.ts'];
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;'"]*?\sfrom\s+['"](\.{1,2}\/[^'"]+)['"]|(?:^|\n)\s*import\s+['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The file a relative specifier names (`./x.js` is `./x.ts` in TypeScript sources). */
function resolveSpecifier(from, specifier) {
  const base = resolve(dirname(from), specifier);
  const stem = base.replace(/\.(js|mjs)$/, '');
  for (const candidate of [base, ...EXTENSIONS.map((ext) => stem + ext)]) {
    if (/\.(ts|tsx|js|mjs)$/.test(candidate) && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const cache = new Map();

function importsOf(file) {
  let found = cache.get(file);
  if (!found) {
    const source = readFileSync(file, 'utf8');
    found = [...source.matchAll(IMPORT)].map((match) => resolveSpecifier(file, match[1] ?? match[2] ?? match[3])).filter(Boolean);
    cache.set(file, found);
  }
  return found;
}

/** The chain of imports from `start` back to `goal`, or undefined when there is none. */
function pathBack(start, goal, seen = new Set()) {
  if (start === goal) return [goal];
  if (seen.has(start)) return undefined;
  seen.add(start);
  for (const next of importsOf(start)) {
    const rest = pathBack(next, goal, seen);
    if (rest) return [start, ...rest];
  }
  return undefined;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'disallow imports that lead back to the importing module' },
    messages: { cycle: 'import cycle: {{path}}' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const check = (node, specifier) => {
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const target = resolveSpecifier(file, specifier);
      const path = target && pathBack(target, file);
      if (path) context.report({ node, messageId: 'cycle', data: { path: [file, ...path].map((p) => relative(context.cwd, p)).join(' → ') } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
