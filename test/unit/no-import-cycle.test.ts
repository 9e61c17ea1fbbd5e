// The lint rule that fails on any import cycle (local/lint/no-import-cycle.js), on files written
// to a temporary directory: type-only, re-export and dynamic imports count; a file that only
// imports into a cycle is not part of it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import noImportCycle from '../../local/lint/no-import-cycle.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tvm-no-cycle-'));
  const files: Record<string, string> = {
    'a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
    'b.ts': "export * from './d.js';\nexport type B = string;\n",
    'd.ts': "export const load = () => import('./a.js');\n",
    'c.ts': "import type { B } from './b.js';\nexport type C = B;\n",
    'e.ts': "import { readFileSync } from 'node:fs';\nexport const e = readFileSync;\n",
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(name: string): string[] {
  const linter = new Linter({ cwd: dir });
  const config = [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser as Linter.Parser },
      plugins: { tvm: { rules: { 'no-import-cycle': noImportCycle } } },
      rules: { 'tvm/no-import-cycle': 'error' as const },
    },
  ];
  const path = join(dir, name);
  return linter.verify(readFileSync(path, 'utf8'), config, { filename: path }).map((message) => message.message);
}

it('reports each import on a cycle, with its path, through type-only, re-export and dynamic imports', () => {
  // Assess
  expect(lint('a.ts')).toEqual(['import cycle: a.ts → b.ts → d.ts → a.ts']);
  expect(lint('b.ts')).toEqual(['import cycle: b.ts → d.ts → a.ts → b.ts']);
  expect(lint('d.ts')).toEqual(['import cycle: d.ts → a.ts → b.ts → d.ts']);
});

it('leaves alone a file that only imports into a cycle, and imports of packages', () => {
  // Assess
  expect(lint('c.ts')).toEqual([]);
  expect(lint('e.ts')).toEqual([]);
});
