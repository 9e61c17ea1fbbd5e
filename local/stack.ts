// The whole tvm stack on one machine: DynamoDB Local, the local STS endpoint, the dev OIDC issuer
// and serverless-offline running the real functions. Used by `npm start` and by the e2e tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDelegationStore } from '../shared/adapters/dynamodb-delegation-store.js';
import { DEV_AUDIENCE, startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.js';
import { stopProcessGroup, waitFor } from './processes.js';
import { seedDemo } from './seed.js';
import { LOCAL_TVM_CALLER, loadLocalRoles, startLocalSts, type LocalSts } from './sts/local-sts.js';
import { createTables, tableNames } from './tables.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STAGE = 'dev';
export const AUDIT_SHARDS = 4;

export interface StackPorts {
  readonly api: number;
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
  /** Where serverless-offline's output goes. */
  readonly offlineOutput?: 'inherit' | 'ignore';
}

/** What stack.json holds: how the CLI and scripts find a running stack. */
export interface StackInfo {
  readonly apiUrl: string;
  readonly stsEndpoint: string;
  readonly iamEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly lambdaEndpoint: string;
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  readonly stateDir: string;
  readonly region: string;
  readonly stage: string;
  readonly tables: { readonly delegations: string; readonly audit: string };
  readonly pid: number;
}

export interface RunningStack {
  readonly info: StackInfo;
  readonly sts: LocalSts;
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

    const sts = await startLocalSts({ port: ports.sts, roles: loadLocalRoles(), callers: [LOCAL_TVM_CALLER] });
    stops.push(() => sts.close());

    const issuer: DevIssuer = await startDevIssuer({ dir: options.stateDir, port: ports.issuer });
    stops.push(() => issuer.close());

    const apiUrl = `http://localhost:${ports.api}`;
    const offline = startOffline(options, {
      TVM_OIDC_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audience: DEV_AUDIENCE, jwksUrl: issuer.jwksUrl }]),
      TVM_STS_ENDPOINT: sts.url,
      TVM_DYNAMODB_ENDPOINT: dynamodb.endpoint,
      TVM_IAM_ENDPOINT: sts.iamUrl,
      TVM_ROLE_ARN_PATTERN: 'arn:aws:iam::000000000000:role/tvm-*',
    });
    stops.push(() => stopProcessGroup(offline));
    await waitFor('serverless-offline', async () => (await fetch(`${apiUrl}/health`)).ok, 90_000, offline);

    const info: StackInfo = {
      apiUrl,
      stsEndpoint: sts.url,
      iamEndpoint: sts.iamUrl,
      dynamodbEndpoint: dynamodb.endpoint,
      lambdaEndpoint: `http://localhost:${ports.lambda}`,
      issuer: issuer.issuer,
      jwksUrl: issuer.jwksUrl,
      audience: DEV_AUDIENCE,
      stateDir: options.stateDir,
      region: 'us-east-1',
      stage: STAGE,
      tables,
      pid: process.pid,
    };
    return { info, sts, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function startOffline(options: StackOptions, env: Record<string, string>): ChildProcess {
  const serverless = fileURLToPath(new URL('../node_modules/serverless/bin/serverless.js', import.meta.url));
  return spawn(
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
      },
    },
  );
}
