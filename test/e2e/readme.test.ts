// The README, block by block: every ```sh block runs, in order, in a fresh bash against a local
// stack of its own (freshly seeded, as after `npm start`), as a reader pasting each block into a
// new terminal would. Nothing carries over from one block to the next but the stack's state and
// the reader's home directory, so a block that needs a token or an id must get it itself.
//
// What the test changes, and nothing else:
// - `npm link`: a `tvm` on PATH that is this checkout's bin/tvm.js (a symlink in a temporary
//   directory, so the machine's global prefix is left alone);
// - the stack: its addresses (localhost:3000, 127.0.0.1:3005, localhost:3002) become this stack's
//   free ports, and TVM_STACK_FILE names its stack.json (the checkout's .tvm/ may hold a developer's);
// - a browser: an `xdg-open` on PATH that writes down the URL it was asked to open;
// - a pause: before each block the local loop is drained (POST …/drain), as a reader takes a
//   moment between blocks while CloudTrail's stand-in delivers their calls;
// - the blocks in NOT_RUN, each with why.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../local/processes.js';
import { REPO_ROOT, startStack, type RunningStack, type StackInfo } from '../../local/stack.js';

/** Blocks not run, by their first line, with why. Each must name a block of the README. */
const NOT_RUN: Readonly<Record<string, string>> = {
  'npm install': 'installs and starts what this test starts itself; test/e2e/npm-start.test.ts runs `npm start`',
  'npm test         # lint, typecheck, unit, integration, template and e2e tests': 'this test is part of it',
  'npm run pack:cli                                 # .esbuild-cli/tvm-cli-0.1.0.tgz (--out <dir> for another folder)':
    'installs globally; test/e2e/cli-credential-process.test.ts packs the same tarball and installs it into a temporary prefix',
  'tvm login                 # opens the browser (--no-browser prints the URL instead)':
    'signs in through a browser form; test/integration/cli-login.test.ts drives it',
  'source <(tvm completion bash)                               # in ~/.bashrc':
    "each line belongs in another shell's startup file; test/integration/cli-completion.test.ts runs them in bash, zsh and fish",
  'npm run redrive -- --stage prod --region eu-west-1 --dry-run   # what would be replayed, and what stays': 'needs a deployed stage',
  'npx serverless deploy --stage prod --region eu-west-1 \\': 'deploys to AWS',
  'aws cloudformation deploy --template-file resources/target-account-revoker.yml \\': 'deploys to AWS',
};

/** What some blocks must show, by a line of theirs: the walkthrough shows data, not `(none)`. */
const SHOWS: Readonly<Record<string, RegExp[]>> = {
  'cat "$EVENT.out"            # {"from":…,"to":…,"evaluated":…,"raised":[…]}': [/"evaluated":\d+/],
  "curl -s -X POST localhost:3000/credentials -H \"authorization: Bearer $TOKEN\" \\": [/"accessKeyId":"ASIA/],
  'tvm alerts --rule use-after-revocation --since -1h': [/credential\.used/, /use-after-revocation/],
};

interface Block {
  readonly line: number;
  readonly text: string;
  readonly firstLine: string;
}

function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    const text = lines.slice(i + 1, end).join('\n');
    blocks.push({ line: i + 1, text, firstLine: lines[i + 1] ?? '' });
    i = end;
  }
  return blocks;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
let stack: RunningStack | undefined;
let info: StackInfo;
let env: NodeJS.ProcessEnv;

function bash(script: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: join(dir, 'work'), env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The block as run here: the stack's own addresses for the README's defaults. */
function substituted(text: string): string {
  const port = (url: string) => new URL(url).port;
  return text
    .replaceAll('localhost:3000', `localhost:${port(info.apiUrl)}`)
    .replaceAll('http://127.0.0.1:3005', info.stsEndpoint)
    .replaceAll('http://localhost:3002', info.lambdaEndpoint);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tvm-readme-'));
  const [bin, home, state] = ['bin', 'home', 'state'].map((name) => join(dir, name)) as [string, string, string];
  for (const path of [bin, home, state, join(dir, 'work')]) mkdirSync(path);
  symlinkSync(join(REPO_ROOT, 'bin', 'tvm.js'), join(bin, 'tvm'));
  writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$1" >> ${JSON.stringify(join(dir, 'opened'))}\n`);
  chmodSync(join(bin, 'xdg-open'), 0o755);

  const ports = { api: 0, console: 0, lambda: 0, sts: 0, issuer: 0, dynamodb: 0 };
  for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
  const log = openSync(join(dir, 'offline.log'), 'a');
  stack = await startStack({ ports, stateDir: state, buildDir: '.esbuild-readme', offlineOutput: log }).finally(() => closeSync(log));
  info = stack.info;
  const stackFile = join(state, 'stack.json');
  writeFileSync(stackFile, JSON.stringify(info));

  // A new terminal: the machine's PATH (and the node running this) behind the linked tvm; nothing of tvm's or AWS's.
  const inherited = Object.entries(process.env).filter(([name]) => !/^(TVM_|AWS_|XDG_)/.test(name));
  env = {
    ...Object.fromEntries(inherited),
    PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: home,
    // mktemp's files too go where this test cleans up.
    TMPDIR: join(dir, 'work'),
    TVM_STACK_FILE: stackFile,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const BLOCKS = shellBlocks(README);

it('names only blocks the README has among those it does not run, or expects output of', () => {
  // Assess
  const firstLines = BLOCKS.map((block) => block.firstLine);
  expect(Object.keys(NOT_RUN).filter((line) => !firstLines.includes(line))).toEqual([]);
  const everyLine = BLOCKS.flatMap((block) => block.text.split('\n'));
  expect(Object.keys(SHOWS).filter((line) => !everyLine.includes(line))).toEqual([]);
});

it('never runs `npx tvm`: outside this checkout npx would fetch whatever the registry has under that name', () => {
  // Assess
  expect(BLOCKS.filter((block) => /\bnpx tvm\b/.test(block.text)).map((block) => block.line)).toEqual([]);
});

describe.each(BLOCKS.filter((block) => NOT_RUN[block.firstLine] === undefined).map((block) => [block.line, block] as const))(
  'the README block at line %i',
  (_line, block) => {
    it('runs in a new terminal and succeeds, showing what it is about', async () => {
      // Prepare
      const drained = await fetch(`${info.loopControlUrl ?? ''}/drain`, { method: 'POST' });
      expect(drained.status).toBe(204);

      // Act
      const run = await bash(substituted(block.text));

      // Assess
      const report = `--- block at README.md:${block.line}\n${block.text}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
      // TVM_README_VERBOSE=1: every block's output, to read the README's examples as they run.
      if (process.env.TVM_README_VERBOSE) process.stdout.write(`${report}\n`);
      expect({ code: run.code, report }).toEqual({ code: 0, report });
      // No refusal on the way, from tvm or from the API through curl.
      const refusals = [...(run.stderr.match(/^tvm: [A-Z][A-Z_]+: .*$/gm) ?? []), ...(run.stdout.match(/"error":\s*\{\s*"code".*$/gm) ?? [])];
      expect({ refusals, report }).toEqual({ refusals: [], report });
      for (const [line, patterns] of Object.entries(SHOWS)) {
        if (!block.text.split('\n').includes(line)) continue;
        for (const pattern of patterns) expect({ shows: pattern.test(run.stdout), pattern: String(pattern), report }).toEqual({ shows: true, pattern: String(pattern), report });
      }
    }, 180_000);
  },
);
