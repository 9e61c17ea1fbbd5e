// `npm start`: the whole stack on localhost, seeded with a demo, until Ctrl-C or SIGTERM.
//
// Environment knobs (all optional):
//   TVM_PORT (3000) API · TVM_LAMBDA_PORT (3002) serverless-offline's Lambda invoke API ·
//   TVM_STS_PORT (3005) local STS/IAM · TVM_ISSUER_PORT (3006) dev OIDC issuer · TVM_DYNAMODB_PORT (8000)
//   TVM_STATE_DIR (.tvm) issuer key and stack.json · TVM_DATA_DIR (none: in memory) DynamoDB Local's files
//   TVM_BUILD_DIR (.esbuild) esbuild's work folder
//   TVM_ALERT_INTERVAL_SECONDS (300) how often `alert` runs on its schedule, as the deployed rule does
//   TVM_ANCHOR_INTERVAL_SECONDS (300) how often `anchorChainHeads` anchors the audit chains' heads (.tvm/anchors)
//   TVM_ALERT_WEBHOOK_URL (none) alerts are also POSTed here as JSON (they are always logged)
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertPortFree } from './processes.js';
import { REPO_ROOT, startStack, type StackInfo, type StackPorts } from './stack.js';

const env = process.env;
const port = (name: string, fallback: number) => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port number`);
  return value;
};
const seconds = (name: string, fallback: number) => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 86_400) throw new Error(`${name} must be a whole number of seconds from 1 to 86400`);
  return value;
};

const PORT_VARIABLES: Readonly<Record<keyof StackPorts, string>> = {
  api: 'TVM_PORT',
  console: 'TVM_CONSOLE_PORT',
  lambda: 'TVM_LAMBDA_PORT',
  sts: 'TVM_STS_PORT',
  issuer: 'TVM_ISSUER_PORT',
  dynamodb: 'TVM_DYNAMODB_PORT',
};

/**
 * The AWS SDK warns, in every process that uses it, that its releases after the first week of
 * January 2027 need Node 22. Said once here instead: the deployed functions run nodejs22.x.
 */
function noteNodeVersion(): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    console.log(
      `tvm: note: Node ${process.versions.node} runs the local stack; the deployed functions run nodejs22.x. ` +
        'AWS SDK releases after the first week of January 2027 will need Node 22+ (its warning is shown once, here).',
    );
  }
}

async function main(): Promise<void> {
  noteNodeVersion();
  const stateDir = resolve(REPO_ROOT, env.TVM_STATE_DIR ?? '.tvm');
  const stackFile = join(stateDir, 'stack.json');
  refuseIfRunning(stackFile);

  const ports: StackPorts = {
    api: port('TVM_PORT', 3000),
    console: port('TVM_CONSOLE_PORT', 3008),
    lambda: port('TVM_LAMBDA_PORT', 3002),
    sts: port('TVM_STS_PORT', 3005),
    issuer: port('TVM_ISSUER_PORT', 3006),
    dynamodb: port('TVM_DYNAMODB_PORT', 8000),
  };
  for (const [what, number] of Object.entries(ports)) await assertPortFree(number, what, PORT_VARIABLES[what as keyof StackPorts]);
  const alertIntervalSeconds = seconds('TVM_ALERT_INTERVAL_SECONDS', 300);
  const anchorIntervalSeconds = seconds('TVM_ANCHOR_INTERVAL_SECONDS', 300);

  console.log('tvm: starting DynamoDB Local, local STS, dev issuer and serverless-offline…');
  const started = Date.now();
  const stack = await startStack({
    ports,
    stateDir,
    dataDir: env.TVM_DATA_DIR ? resolve(env.TVM_DATA_DIR) : undefined,
    buildDir: env.TVM_BUILD_DIR,
    alertScheduleMs: alertIntervalSeconds * 1000,
    anchorScheduleMs: anchorIntervalSeconds * 1000,
  });
  writeFileSync(stackFile, JSON.stringify(stack.info, null, 2) + '\n');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\ntvm: ${signal}: stopping…`);
    rmSync(stackFile, { force: true });
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  // Its parent gone (tsx's or npm's process killed outright): stop as on Ctrl-C, not run on unseen.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void stop('its parent process is gone'), 1_000).unref();

  printQuickstart(stack.info, Date.now() - started, alertIntervalSeconds, anchorIntervalSeconds);
}

function refuseIfRunning(stackFile: string): void {
  if (!existsSync(stackFile)) return;
  const running = JSON.parse(readFileSync(stackFile, 'utf8')) as Partial<StackInfo>;
  if (running.pid && isAlive(running.pid)) {
    console.error(`tvm: a local stack is already running (pid ${running.pid}, API ${running.apiUrl}). Stop it first.`);
    process.exit(1);
  }
  // Its runner died without cleaning up (killed, say): its children stopped with it (processes.ts).
  console.log(`tvm: replacing ${stackFile}: the stack it describes (pid ${running.pid ?? '?'}) is gone`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function printQuickstart(info: StackInfo, ms: number, alertIntervalSeconds: number, anchorIntervalSeconds: number): void {
  console.log(`
tvm is running (${(ms / 1000).toFixed(1)} s)
  console        ${info.consoleUrl}
  API            ${info.apiUrl}
  local STS/IAM  ${info.stsEndpoint}
  federation     ${info.federationEndpoint} (console sign-in: tvm console demo-readonly)
  DynamoDB Local ${info.dynamodbEndpoint}
  dev issuer     ${info.issuer}
  local loop     calls with vended credentials → ${info.functions.recordUse}; audit stream and every ${alertIntervalSeconds} s → ${info.functions.alert}
  anchoring      every ${anchorIntervalSeconds} s ${info.functions.anchorChainHeads} → ${info.anchorDir}

Try it:
  TOKEN=$(tvm dev-token --sub alice@example.com --groups engineering)   # tvm: npm link once (README)
  curl -s -X POST ${info.apiUrl}/credentials -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' -d '{"profile":"demo-readonly","durationSeconds":900}'

Ctrl-C stops everything.`);
}

main().catch((error: unknown) => {
  console.error(`tvm: could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
