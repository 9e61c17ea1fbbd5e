// Bundle sizes and cold-init times: what `serverless package` builds for AWS (esbuild, minified,
// tree-shaken, SDK clients bundled, source maps external), each bundle then loaded in fresh Node
// processes the way Lambda's runtime loads it, with the environment serverless.yml gives it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CONSOLE_DIST } from '../local/edge.js';
import { REPO_ROOT } from '../local/stack.js';
import { median, round } from './stats.js';
import { extractZip } from './zip.js';

export interface BundleMeasurement {
  /** The handler's .mjs, minified; its external source map is not counted. */
  readonly bytes: number;
  readonly sourceMapBytes: number;
  /** Median over the runs of importing the bundle in a fresh process (module load + init). */
  readonly coldInitMs: number;
}

const SERVERLESS_BIN = join(REPO_ROOT, 'node_modules/serverless/bin/serverless.js');

/** The environment serverless.yml sets for every function, with placeholder AWS resources. */
const FUNCTION_ENV: Record<string, string> = {
  TVM_STAGE: 'bench',
  TVM_DELEGATIONS_TABLE: 'tvm-bench-delegations',
  TVM_AUDIT_TABLE: 'tvm-bench-audit',
  TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example.com/', audience: 'tvm', jwksUrl: 'https://idp.example.com/jwks.json' }]),
  TVM_ADMIN_GROUP: 'tvm-admin',
  TVM_SECURITY_GROUP: 'tvm-security',
  TVM_ROLE_ARN_PATTERN: 'arn:aws:iam::*:role/tvm-*',
  TVM_AUDIT_SHARDS: '4',
  TVM_AUDIT_USE_SHARDS: '8',
  TVM_VEND_RATE_PER_MINUTE: '30',
  TVM_DELEGATION_QUOTA: '200',
  TVM_ALERTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:tvm-bench-alerts',
  TVM_REQUESTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:tvm-bench-requests',
  TVM_ANCHOR_BUCKET: 'tvm-bench-anchorbucket',
  TVM_DEAD_LETTER_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/tvm-bench-dead-letters',
  TVM_ACCOUNT_ID: '000000000000',
  TVM_TARGET_ACCOUNTS: '',
  TVM_REVOKER_ROLE_NAME: 'TvmRevoker-bench',
  POWERTOOLS_SERVICE_NAME: 'tvm',
  // As deployed: stack traces through the external maps.
  NODE_OPTIONS: '--enable-source-maps',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIABENCHPLACEHOLDER',
  AWS_SECRET_ACCESS_KEY: 'bench-placeholder-not-a-key',
  AWS_SESSION_TOKEN: 'bench-placeholder-not-a-token',
  AWS_LAMBDA_FUNCTION_NAME: 'tvm-bench',
};

/** Packages the service for AWS into a temporary folder; returns it (the caller removes it). */
export async function packageService(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'tvm-bench-package-'));
  // The edge's JWT authorizer needs an issuer and audience to package at all: placeholders, as in the template test.
  const edge = ['--param=edgeIssuer=https://idp.example.com/', '--param=edgeAudience=tvm'];
  await run(process.execPath, [SERVERLESS_BIN, 'package', '--stage', 'dev', '--package', out, ...edge], {
    ...process.env,
    TVM_BUILD_DIR: '.esbuild-bench-package',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
  });
  return out;
}

/** Each function's bundle size and cold init, from the zips in `packageDir`. */
export async function measureBundles(packageDir: string, runs: number): Promise<Record<string, BundleMeasurement>> {
  const unpacked = mkdtempSync(join(tmpdir(), 'tvm-bench-bundles-'));
  try {
    const results: Record<string, BundleMeasurement> = {};
    for (const zip of readdirSync(packageDir).filter((file) => file.endsWith('.zip')).sort()) {
      const name = zip.replace(/\.zip$/, '');
      const dir = join(unpacked, name);
      let handler: string | undefined;
      let bytes = 0;
      let sourceMapBytes = 0;
      for (const [entry, data] of extractZip(join(packageDir, zip))) {
        const file = join(dir, entry);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, data);
        if (entry.endsWith('.mjs')) {
          handler = file;
          bytes = data.length;
        } else if (entry.endsWith('.mjs.map')) sourceMapBytes = data.length;
      }
      if (!handler) throw new Error(`${zip} holds no .mjs handler`);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await coldInit(handler));
      results[name] = { bytes, sourceMapBytes, coldInitMs: round(median(times)) };
    }
    return results;
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

// Prints how long importing the bundle took: its module evaluation, which builds config, SDK
// clients and adapters (the part of Lambda's Init phase the code decides).
const COLD_INIT_SCRIPT = `
const started = performance.now();
const module = await import(process.argv[1]);
if (typeof module.handler !== 'function') throw new Error('no handler export');
process.stdout.write(JSON.stringify({ ms: performance.now() - started }));
`;

async function coldInit(handler: string): Promise<number> {
  const { ms } = JSON.parse(
    await run(process.execPath, ['--input-type=module', '-e', COLD_INIT_SCRIPT, pathToFileURL(handler).href], { ...cleanEnv(), ...FUNCTION_ENV }),
  ) as { ms: number };
  return ms;
}

/** PATH and HOME only: nothing of this machine's TVM_* or AWS_* settings leaks into a measured bundle. */
function cleanEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${[command, ...args.slice(0, 2)].join(' ')} exited with ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

/** All of the built console's JavaScript (console/dist/assets/*.js), raw and gzipped. */
export function measureConsoleJs(): { jsBytes: number; jsGzipBytes: number } {
  const assets = join(CONSOLE_DIST, 'assets');
  const scripts = readdirSync(assets).filter((name) => name.endsWith('.js')).map((name) => readFileSync(join(assets, name)));
  return {
    jsBytes: scripts.reduce((sum, code) => sum + code.length, 0),
    jsGzipBytes: scripts.reduce((sum, code) => sum + gzipSync(code).length, 0),
  };
}
