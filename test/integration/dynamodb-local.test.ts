// DynamoDB Local as the stack runs it: reachable on 127.0.0.1 and nowhere else (it has no option
// for that; local/dynamodb/LoopbackDynamoDbLocal.java binds it), and gone once stopped.
import { readFileSync } from 'node:fs';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { freePort } from '../../local/processes.js';

const LISTEN = '0A';

/** The local addresses of the sockets listening on `port`, as the kernel lists them (hex, /proc/net/tcp*). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === LISTEN)
      .map((fields) => (fields[1] as string).split(':')[0] as string),
  );
}

// 127.0.0.1 as /proc/net/tcp writes it (little-endian), and the same mapped into IPv6.
const LOOPBACK = new Set(['0100007F', '0000000000000000FFFF00000100007F']);

it('listens on 127.0.0.1 only, answers there, and frees its port when stopped', async () => {
  // Prepare
  const port = await freePort();

  // Act
  const local = await startDynamoDbLocal({ port });
  let addresses: string[];
  let tables: string[] | undefined;
  try {
    addresses = listeningAddresses(port);
    const client = new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    tables = (await client.send(new ListTablesCommand({}))).TableNames;
    client.destroy();
  } finally {
    await local.stop();
  }

  // Assess
  expect(addresses.length).toBeGreaterThan(0);
  expect(addresses.filter((address) => !LOOPBACK.has(address))).toEqual([]);
  expect(tables).toEqual([]);
  expect(listeningAddresses(port)).toEqual([]);
}, 60_000);
