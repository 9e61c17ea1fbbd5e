// The README, block by block: every ```sh block runs, in order, in a fresh bash against a local
// stack of its own (freshly seeded, as after `npm start`), as a reader pasting each block into a
// new terminal would. Nothing carries over from one block to the next but the stack's state and
// the reader's home directory, so a block that needs a token or an id must get it itself.
//
// What the test changes, and nothing else:
// - `npm link`: a `tvm` on PATH that is this checkout's bin/tvm.js (the symlink npm link makes, in
//   a temporary directory, so the machine's global prefix is left alone);
// - curl: with --fail-with-body, so an API refusal fails the block, body shown;
// - the stack: its addresses (localhost:3000, 127.0.0.1:3005, localhost:3002) become this stack's
//   free ports, and TVM_STACK_FILE names its stack.json (the checkout's .tvm/ may hold a developer's);
// - a browser: an `xdg-open` on PATH that writes down the URL it was asked to open;
// - a pause: before each block the local loop is drained (POST …/drain), as a reader takes a
//   moment between blocks while CloudTrail's stand-in delivers their calls;
// - the blocks in NOT_RUN, each with why.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, outputOf } from '../../local/processes.js';
import { REPO_ROOT, startStack, type RunningStack, type StackInfo } from '../../local/stack.js';

/** Blocks not run, by their first line, with why. Each must name a block of the README. */
const NOT_RUN: Readonly<Record<string, string>> = {
  'npm install': 'installs and starts what this test starts itself; test/e2e/npm-start.test.ts runs what `npm start` runs (tsx local/start.ts)',
  'npm test': 'this test is part of it',
  'npm run pack:cli': 'installs globally; test/e2e/cli-credential-process.test.ts packs the same tarball and installs it into a temporary prefix',
  'tvm login': 'signs in through a browser form; test/integration/cli-login.test.ts drives it with a stand-in browser',
  'eval "$(tvm completion bash)"':
    "each line belongs in another shell's startup file; test/unit/cli-completion.test.ts runs bash's script, test/integration/cli-completion.test.ts zsh's and fish's",
  'npm run redrive -- --stage prod --region eu-west-1 --dry-run': 'needs a deployed stage',
  'npx serverless deploy --stage prod --region eu-west-1 \\': 'deploys to AWS',
  'aws cloudformation deploy --template-file resources/target-account-revoker.yml \\': 'deploys to AWS',
};

/**
 * What some commands must show, by how they start: the walkthrough shows data, not `(none)`. Each is
 * checked against that command's own output.
 */
const SHOWS: Readonly<Record<string, RegExp>> = {
  'curl -s -X POST localhost:3000/credentials': /"accessKeyId":"ASIA/,
  'cat "$EVENT.out"': /"evaluated":\d+/,
  'tvm grants list --profile billing-read': /billing-read\s+user:bob@example\.com/,
  'tvm exec billing-read': /assumed-role\/tvm-demo-readonly\/bob@example\.com/,
  'tvm grants list --mine': /demo-deploy\s+user:eve@example\.com/,
  'TVM_TOKEN=$CONTRACTOR tvm engagements list': /website rebuild\s+active/,
  'tvm audit events --access-key-id': /"type": "credential\.used"/,
  'tvm alerts --rule use-after-revocation': /critical\s+use-after-revocation\s+dev@agency\.example/,
  'TVM_TOKEN=$(tvm dev-token --sub ann@example.com --groups prod-approvers) tvm requests --pending': /prod-read\s+alice@example\.com\s+pending/,
};

/** Marks, on stdout, where each command of a block begins (bash's DEBUG trap, in the block's own shell). */
const MARK = '@@tvm-readme-command@@ ';

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
/** The SHOWS entries whose command ran and was checked. */
const checked = new Set<string>();

const BLOCK_TIMEOUT_MS = 150_000;

/** Runs `script` as a new terminal would (bash -e -o pipefail); a block over time is killed, its whole process group. */
async function bash(script: string): Promise<Run> {
  const traced = `trap 'printf "\\n%s%s\\n" ${JSON.stringify(MARK)} "$BASH_COMMAND"' DEBUG\n${script}`;
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', traced], { cwd: join(dir, 'work'), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), BLOCK_TIMEOUT_MS);
  return outputOf(child).finally(() => clearTimeout(timer));
}

/** Each command's output, after the mark naming it. */
function outputs(stdout: string): { command: string; output: string }[] {
  return stdout
    .split(`\n${MARK}`)
    .slice(1)
    .map((part) => {
      const newline = part.indexOf('\n');
      return { command: part.slice(0, newline), output: part.slice(newline + 1) };
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
  const curl = execFileSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'curl'), `#!/bin/sh\nexec ${JSON.stringify(curl)} --fail-with-body "$@"\n`);
  chmodSync(join(bin, 'curl'), 0o755);
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
  const inherited = Object.entries(process.env).filter(([name]) => !/^(TVM_|AWS_|XDG_|JEST_|NODE_OPTIONS$|NODE_ENV$)/.test(name));
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

it('names only blocks the README has among those it does not run, and commands it has among those it checks', () => {
  // Assess
  const firstLines = BLOCKS.map((block) => block.firstLine);
  expect(Object.keys(NOT_RUN).filter((line) => !firstLines.includes(line))).toEqual([]);
  const everyLine = BLOCKS.flatMap((block) => block.text.split('\n'));
  expect(Object.keys(SHOWS).filter((start) => !everyLine.some((line) => line.startsWith(start)))).toEqual([]);
});

it('has its shell in ```sh blocks only, so none escapes this test', () => {
  // Assess
  expect(README.match(/^\s*```(bash|shell|zsh|console|shell-session)\s*$/gm) ?? []).toEqual([]);
});

it('never runs `npx tvm`: outside this checkout npx would fetch whatever the registry has under that name', () => {
  // Assess
  expect(BLOCKS.filter((block) => /\bnpx tvm\b/.test(block.text)).map((block) => block.line)).toEqual([]);
});

it("pastes into zsh as into bash: no `#` comments (zsh takes them for words unless interactive_comments is set), no process substitution, no bare brackets", () => {
  // Assess
  const unsafe = BLOCKS.flatMap((block) =>
    block.text
      .split('\n')
      .filter((line) => /(^|\s)#/.test(line) || line.includes('<(') || /(^|\s)\[[^\]]*\](\s|$)/.test(line))
      .map((line) => `README.md:${block.line}: ${line}`),
  );
  expect(unsafe).toEqual([]);
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
      const report = `--- block at README.md:${block.line}\n${block.text}\n--- stdout\n${run.stdout.replaceAll(`\n${MARK}`, "\n$ ")}\n--- stderr\n${run.stderr}`;
      // TVM_README_VERBOSE=1: every block's output, to read the README's examples as they run.
      if (process.env.TVM_README_VERBOSE) process.stdout.write(`${report}\n`);
      expect({ code: run.code, report }).toEqual({ code: 0, report });
      expect(outputs(run.stdout).length).toBeGreaterThan(0);
      // No refusal on the way, from tvm or from the API through curl.
      const refusals = [...(run.stderr.match(/^tvm: [A-Z][A-Z_]+: .*$/gm) ?? []), ...(run.stdout.match(/"error":\s*\{\s*"code".*$/gm) ?? [])];
      expect({ refusals, report }).toEqual({ refusals: [], report });
      for (const { command, output } of outputs(run.stdout)) {
        const [start, pattern] = Object.entries(SHOWS).find(([start]) => command.startsWith(substituted(start))) ?? [];
        if (start === undefined || pattern === undefined) continue;
        checked.add(start);
        expect({ command, shows: pattern.test(output), pattern: String(pattern), report }).toEqual({ command, shows: true, pattern: String(pattern), report });
      }
    }, 180_000);
  },
);

it('checked the output of every command SHOWS names', () => {
  // Assess
  expect(Object.keys(SHOWS).filter((start) => !checked.has(start))).toEqual([]);
});

it('asked the browser to open the AWS console where the README says it does', () => {
  // Assess: `tvm console demo-readonly` and `… --destination s3`, both at the local federation endpoint
  const opened = readFileSync(join(dir, 'opened'), 'utf8').trim().split('\n');
  expect(opened).toEqual([expect.stringContaining(`${info.federationEndpoint}?Action=login`), expect.stringContaining('%2Fs3')]);
});
