// The whole tvm stack on one machine: DynamoDB Local, the local STS endpoint, the dev OIDC issuer
// and serverless-offline running the real functions. Used by `npm start` and by the e2e tests.
// With the local loop (the default) it also plays the AWS parts that trigger functions: every request
// signed with vended credentials reaches `recordUse` as CloudTrail would report it through EventBridge
// (cloudtrail-bridge.ts), the audit table's stream and a schedule drive `alert` (alert-driver.ts), and
// a schedule drives `anchorChainHeads` (schedule-driver.ts), which anchors into `<stateDir>/anchors`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDelegationStore } from '../shared/adapters/dynamodb-delegation-store.js';
import { startAlertDriver, type AlertDriver } from './alert-driver.js';
import { startCloudTrailBridge, type CloudTrailBridge } from './cloudtrail-bridge.js';
import { startScheduleDriver, type ScheduleDriver } from './schedule-driver.js';
import { DEV_AUDIENCE, startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { buildConsole, CONSOLE_BASE, consoleBuildIsStale, startEdge } from './edge.js';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.js';
import { listenOn, stopProcessGroup, stopWithThisProcess, waitFor } from './processes.js';
import { seedDemo } from './seed.js';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts, type LocalSts } from './sts/local-sts.js';
import { createTables, tableNames } from './tables.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STAGE = 'dev';
// Every audit write links into one of the shards' hash chains; DynamoDB Local takes ~40 transactions/s
// here, so bursts of concurrent vends (the load tests) need more chains than the deployed default.
export const AUDIT_SHARDS = 64;
/** Uses have chains of their own; a burst of them (a trail log file, the e2e flood) spreads over these. */
export const AUDIT_USE_SHARDS = 16;
const OFFLINE_START_TIMEOUT_MS = 300_000;
/** The local STS's account, tvm's own, where the demo roles live. */
const LOCAL_ACCOUNT_ID = '000000000000';
/**
 * A second account of the local STS, as a target account: its revoker role (serverless.yml names it
 * TvmRevoker-<stage>; local/sts/roles.json has TvmRevoker-dev) lets tvm cut sessions off there.
 */
const LOCAL_TARGET_ACCOUNT_ID = '111111111111';
/** The roles tvm vends for locally (in both accounts); also the EventBridge rule's filter for recordUse. */
const ROLE_ARN_PATTERN = 'arn:aws:iam::*:role/tvm-*';
/** How serverless-offline names the functions for the Lambda invoke API: <service>-<stage>-<key>. */
const RECORD_USE_FUNCTION = `tvm-${STAGE}-recordUse`;
const ALERT_FUNCTION = `tvm-${STAGE}-alert`;
const REPAIR_FUNCTION = `tvm-${STAGE}-repairRevocations`;
const ANCHOR_FUNCTION = `tvm-${STAGE}-anchorChainHeads`;
const EXPIRE_REQUESTS_FUNCTION = `tvm-${STAGE}-expireRequests`;
/** How long stopping waits for recordUse to take what the bridge still holds. */
const STOP_DRAIN_MS = 10_000;

export interface StackPorts {
  readonly api: number;
  /** The console and, proxied, the API on one origin (local/edge.ts), as CloudFront serves them. */
  readonly console: number;
  readonly lambda: number;
  readonly sts: number;
  readonly issuer: number;
  readonly dynamodb: number;
}

export interface StackOptions {
  readonly ports: StackPorts;
  /** Holds the dev issuer's key (created once) and stack.json. */
  readonly stateDir: string;
  /** Persist DynamoDB Local here; in memory when absent. */
  readonly dataDir?: string;
  /** esbuild's work folder, relative to the repo, so two stacks never share one. */
  readonly buildDir?: string;
  readonly seed?: boolean;
  /** Where serverless-offline's output goes: this process's, nowhere, or a file descriptor (a log file). */
  readonly offlineOutput?: 'inherit' | 'ignore' | number;
  /** Run the local loop (CloudTrail bridge to recordUse, alert driver). Default true. */
  readonly useLoop?: boolean;
  /** How often the alert function runs on its schedule. Default 300 s, as deployed. */
  readonly alertScheduleMs?: number;
  /** How often the audit table's stream is polled. Default 1 s. */
  readonly alertPollMs?: number;
  /** How often the chain heads are anchored. Default 300 s, as deployed. */
  readonly anchorScheduleMs?: number;
}

/** What stack.json holds: how the CLI and scripts find a running stack. */
export interface StackInfo {
  readonly apiUrl: string;
  /** The web console (ending in `/`); the API is on the same origin there too. */
  readonly consoleUrl: string;
  readonly stsEndpoint: string;
  readonly iamEndpoint: string;
  /** The stand-in for AWS's federation endpoint (local/sts/federation.ts): console sign-in URLs lead there. */
  readonly federationEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly lambdaEndpoint: string;
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  readonly stateDir: string;
  readonly region: string;
  readonly stage: string;
  readonly tables: { readonly delegations: string; readonly audit: string };
  /** Where anchorChainHeads anchors the audit chains' heads (the stand-in for the Object Lock bucket). */
  readonly anchorDir: string;
  /** The functions the local loop invokes, by their names on `lambdaEndpoint`. */
  readonly functions: {
    readonly recordUse: string;
    readonly alert: string;
    readonly repairRevocations: string;
    readonly anchorChainHeads: string;
    readonly expireRequests: string;
  };
  /**
   * Dev-only, when the local loop runs: `POST {loopControlUrl}/drain` answers 204 once every signed
   * request so far has reached recordUse and every audit event so far has reached alert (so a test
   * can wait for them instead of sleeping); `POST {loopControlUrl}/schedule` runs alert's scheduled
   * invocation now; `POST {loopControlUrl}/repair` runs repairRevocations' now and answers 200 with
   * its outcome; `POST {loopControlUrl}/anchor` runs anchorChainHeads now; `POST
   * {loopControlUrl}/expire-requests` runs expireRequests now and answers 200 with its outcome. 500
   * with a text body when that did not complete.
   */
  readonly loopControlUrl?: string;
  readonly pid: number;
}

export interface RunningStack {
  readonly info: StackInfo;
  readonly sts: LocalSts;
  /** Tests stop it alone to see how the functions answer without their tables. */
  readonly dynamodb: DynamoDbLocal;
  stop(): Promise<void>;
}

/** Starts every part, in dependency order; on any failure stops what had started. */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { ports } = options;
  mkdirSync(options.stateDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const dynamodb: DynamoDbLocal = await startDynamoDbLocal({ port: ports.dynamodb, dataDir: options.dataDir });
    stops.push(() => dynamodb.stop());

    const tables = tableNames(STAGE);
    const client = new DynamoDBClient({
      endpoint: dynamodb.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await createTables(client, STAGE);
      if (options.seed !== false) {
        const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
        const store = new DynamoDbDelegationStore(documents, {
          tableName: tables.delegations,
          auditTableName: tables.audit,
          auditShards: AUDIT_SHARDS,
        });
        await seedDemo(store);
      }
    } finally {
      client.destroy();
    }

    const lambdaEndpoint = `http://localhost:${ports.lambda}`;
    const useLoop = options.useLoop !== false;
    // Before the STS endpoint, so no signed request goes unreported. Nothing is signed with vended
    // credentials before serverless-offline is up, as only its vend function issues them.
    const bridge: CloudTrailBridge | undefined = useLoop
      ? startCloudTrailBridge({ lambdaEndpoint, functionName: RECORD_USE_FUNCTION, targetRolePattern: ROLE_ARN_PATTERN })
      : undefined;
    if (bridge) stops.push(() => bridge.stop());

    const sts = await startLocalSts({
      port: ports.sts,
      roles: loadLocalRoles(),
      callers: [LOCAL_TVM_CALLER],
      ...(bridge ? { onSignedRequest: (record) => bridge.deliver(record) } : {}),
    });
    stops.push(() => sts.close());

    const issuer: DevIssuer = await startDevIssuer({ dir: options.stateDir, port: ports.issuer });
    stops.push(() => issuer.close());

    const apiUrl = `http://localhost:${ports.api}`;
    const anchorDir = join(options.stateDir, 'anchors');
    // An in-memory DynamoDB Local starts with no trail: anchors of an earlier run's chains would
    // report every chain of today as rewritten. A persisted one (dataDir) keeps its anchors.
    if (options.dataDir === undefined) rmSync(anchorDir, { recursive: true, force: true });
    const offline = startOffline(options, {
      TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audience: DEV_AUDIENCE, jwksUrl: issuer.jwksUrl }]),
      TVM_STS_ENDPOINT: sts.url,
      TVM_DYNAMODB_ENDPOINT: dynamodb.endpoint,
      TVM_IAM_ENDPOINT: sts.iamUrl,
      TVM_FEDERATION_ENDPOINT: sts.federationUrl,
      TVM_AWS_CONSOLE_URL: sts.awsConsoleUrl,
      TVM_ROLE_ARN_PATTERN: ROLE_ARN_PATTERN,
      TVM_ANCHOR_DIR: anchorDir,
      // What serverless.yml's edge authorizer names (not enforced locally: --noAuth).
      TVM_EDGE_ISSUER: issuer.issuer,
      TVM_EDGE_AUDIENCE: DEV_AUDIENCE,
      // The local STS's account: the demo roles' (serverless-offline cannot resolve AWS::AccountId).
      TVM_LOCAL_ACCOUNT_ID: LOCAL_ACCOUNT_ID,
      TVM_TARGET_ACCOUNTS: LOCAL_TARGET_ACCOUNT_ID,
      // Where request notices link to (the edge below serves the console there).
      TVM_LOCAL_CONSOLE_URL: `http://localhost:${ports.console}${CONSOLE_BASE}`,
      // Locally alerts go to the log and, if this is set, to a webhook (serverless.yml passes it on).
      ...(process.env.TVM_ALERT_WEBHOOK_URL ? { TVM_ALERT_WEBHOOK_URL: process.env.TVM_ALERT_WEBHOOK_URL } : {}),
    });
    stops.push(() => stopProcessGroup(offline));
    // The console is built while serverless-offline bundles the functions.
    const consoleBuilt = consoleBuildIsStale() ? buildConsole() : Promise.resolve();
    // esbuild bundles every function first (~30 s idle on 2 cores; far more on a busy machine).
    await waitFor('serverless-offline', async () => (await fetch(`${apiUrl}/health`)).ok, OFFLINE_START_TIMEOUT_MS, offline);
    await consoleBuilt;
    const edge = await startEdge({ port: ports.console, apiUrl, issuer: issuer.issuer });
    stops.push(() => edge.close());

    let loopControlUrl: string | undefined;
    if (bridge) {
      const driver = startAlertDriver({
        dynamodbEndpoint: dynamodb.endpoint,
        auditTable: tables.audit,
        lambdaEndpoint,
        functionName: ALERT_FUNCTION,
        // As serverless.yml's stream event: batchSize 50, maximumRetryAttempts 10.
        batchSize: 50,
        maxAttempts: 11,
        ...(options.alertPollMs === undefined ? {} : { pollMs: options.alertPollMs }),
        ...(options.alertScheduleMs === undefined ? {} : { scheduleMs: options.alertScheduleMs }),
      });
      stops.push(() => driver.stop());
      const repair = startScheduleDriver({ lambdaEndpoint, functionName: REPAIR_FUNCTION, everyMs: 300_000 });
      stops.push(() => repair.stop());
      const anchoring = startScheduleDriver({ lambdaEndpoint, functionName: ANCHOR_FUNCTION, everyMs: options.anchorScheduleMs ?? 300_000 });
      stops.push(() => anchoring.stop());
      const expiring = startScheduleDriver({ lambdaEndpoint, functionName: EXPIRE_REQUESTS_FUNCTION, everyMs: 300_000 });
      stops.push(() => expiring.stop());
      // Runs first on stop: what the bridge still holds reaches recordUse while serverless-offline is up.
      stops.push(() => bridge.drain(STOP_DRAIN_MS).catch((error: unknown) => console.error(String(error))));
      const control = await startLoopControl(bridge, driver, { repair, anchoring, expiring });
      stops.push(control.close);
      loopControlUrl = control.url;
    }

    const info: StackInfo = {
      apiUrl,
      consoleUrl: edge.consoleUrl,
      stsEndpoint: sts.url,
      iamEndpoint: sts.iamUrl,
      federationEndpoint: sts.federationUrl,
      dynamodbEndpoint: dynamodb.endpoint,
      lambdaEndpoint,
      issuer: issuer.issuer,
      jwksUrl: issuer.jwksUrl,
      audience: DEV_AUDIENCE,
      stateDir: options.stateDir,
      region: 'us-east-1',
      stage: STAGE,
      tables,
      anchorDir,
      functions: {
        recordUse: RECORD_USE_FUNCTION,
        alert: ALERT_FUNCTION,
        repairRevocations: REPAIR_FUNCTION,
        anchorChainHeads: ANCHOR_FUNCTION,
        expireRequests: EXPIRE_REQUESTS_FUNCTION,
      },
      ...(loopControlUrl === undefined ? {} : { loopControlUrl }),
      pid: process.pid,
    };
    return { info, sts, dynamodb, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function startOffline(options: StackOptions, env: Record<string, string>): ChildProcess {
  const serverless = fileURLToPath(new URL('../node_modules/serverless/bin/serverless.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      serverless,
      'offline',
      'start',
      '--stage',
      STAGE,
      '--httpPort',
      String(options.ports.api),
      '--lambdaPort',
      String(options.ports.lambda),
      `--param=auditShards=${AUDIT_SHARDS}`,
      `--param=auditUseShards=${AUDIT_USE_SHARDS}`,
      // The functions see this process's environment: the endpoint overrides reach them from
      // here, never from serverless.yml, so no deployed template can carry one.
      '--localEnvironment',
      // The edge's JWT authorizer is API Gateway's; locally the functions alone authenticate, as
      // they also do behind it (serverless-offline would only decode the token, not verify it).
      '--noAuth',
    ],
    {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', options.offlineOutput ?? 'inherit', options.offlineOutput ?? 'inherit'],
      env: {
        ...process.env,
        ...env,
        // The identity the local STS trusts to assume the demo roles (a dev-only key).
        AWS_ACCESS_KEY_ID: LOCAL_TVM_CALLER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_TVM_CALLER.secretAccessKey,
        AWS_REGION: 'us-east-1',
        TVM_BUILD_DIR: options.buildDir ?? '.esbuild',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        SLS_DEPRECATION_DISABLE: '*',
        // Every Lambda worker would print the SDK's Node 22 notice again: npm start says it once.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
  );
  stopWithThisProcess(child);
  return child;
}

/** The dev-only routes described at StackInfo.loopControlUrl, on a free port of 127.0.0.1. */
async function startLoopControl(
  bridge: CloudTrailBridge,
  driver: AlertDriver,
  schedules: { readonly repair: ScheduleDriver; readonly anchoring: ScheduleDriver; readonly expiring: ScheduleDriver },
): Promise<{ url: string; close(): Promise<void> }> {
  const routes: Record<string, () => Promise<unknown>> = {
    // In this order: recordUse's writes to the audit table are what the alert driver then reads.
    'POST /drain': async () => {
      await bridge.drain();
      await driver.drain();
    },
    'POST /schedule': () => driver.runSchedule(),
    'POST /repair': () => schedules.repair.runNow(),
    'POST /anchor': () => schedules.anchoring.runNow(),
    'POST /expire-requests': () => schedules.expiring.runNow(),
  };
  const server: Server = createServer((req, res) => {
    const route = routes[`${req.method} ${req.url}`];
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    route().then(
      (answer) =>
        answer === undefined ? res.writeHead(204).end() : res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(error instanceof Error ? error.message : String(error)),
    );
  });
  const port = await listenOn(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
