// Comments say why, in the present: the tracker's issue numbers and the history of a fix belong in
// commits, not in code or tests, where they age into riddles.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIRS = ['functions', 'shared', 'cli', 'local', 'test', 'bench', 'ops', 'bin', 'resources', 'console/src'];
const SOURCE = /\.(ts|tsx|js|cjs|mjs|java)$/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return SOURCE.test(name) ? [path] : [];
  });
}

// A tracker issue is named "issue <n>/<m>", or bare as the tracker titles them ("<n>/<m>", "<n>b/<m>").
const TRACKER_ISSUE = /\b[Ii]ssues? \d+b?\/\d+|\b\d{1,2}b?\/1[12]\b/;

it('names no tracker issue (issue <n>/<m>, or a bare <n>b/<m>) in code or tests', () => {
  // Assess
  const named = DIRS.flatMap((dir) => sources(join(ROOT, dir))).flatMap((path) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .flatMap((line, i) => (TRACKER_ISSUE.test(line) ? [`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(named).toEqual([]);
});
