// What a vend's audit record costs to write: the PutItem the writer sends for a `credential.issued`
// shaped like the benchmark's, as the SDK puts it on the wire, sized by DynamoDB's rules
// (bench/write-units.ts). Within 1 KB it is one write unit; past it, two.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemSize, writeUnitsOf, WRITE_UNIT_BYTES } from '../../bench/write-units.js';
import { DynamoDbAuditWriter } from '../../shared/adapters/dynamodb-audit-writer.js';
import { AuditChains } from '../../shared/adapters/dynamodb-transactions.js';
import { randomIds } from '../../shared/adapters/system.js';
import { eventBase, type CredentialIssuedEvent } from '../../shared/domain/audit.js';
import { toSourceIdentity } from '../../shared/domain/source-identity.js';
import { FIXED_NOW } from '../fixtures/builders.js';

interface SentRequest {
  readonly command: string;
  readonly body: Record<string, unknown>;
}

/**
 * A document client whose requests are serialized as the SDK sends them, recorded, and answered
 * without a network: a Query finds no item (a new chain), a put succeeds.
 */
function recordingDocumentClient(): { client: DynamoDBDocumentClient; sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      const { body } = args.request as { body: Uint8Array | string };
      const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
      sent.push({ command, body: JSON.parse(text) as Record<string, unknown> });
      const output = command === 'QueryCommand' ? { Items: [], Count: 0, ScannedCount: 0 } : {};
      return { output: { ...output, $metadata: {} }, response: {} };
    },
    { step: 'build', name: 'recordAndAnswer' },
  );
  return { client: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), sent };
}

/** A vend's record as the benchmark's vends make it: their principal, profile, role and group. */
function aBenchIssuance(): CredentialIssuedEvent {
  const principal = { id: 'bench-abc123-a-12@example.com', groups: ['tvm-bench'], issuer: 'http://127.0.0.1:4001' };
  const meta = { requestId: randomUUID(), sourceIp: '127.0.0.1', userAgent: 'tvm-cli/0.1.0 (node v20.19.0; linux x64)' };
  const sourceIdentity = toSourceIdentity(principal.id);
  return {
    ...eventBase(FIXED_NOW, randomIds.next(), principal, meta),
    type: 'credential.issued',
    profile: 'bench-vend',
    roleArn: 'arn:aws:iam::000000000000:role/tvm-demo-readonly',
    grantId: randomIds.next(),
    accessKeyId: 'ASIAQ3EGRTLXZ7KWN2PB',
    expiration: new Date(FIXED_NOW.getTime() + 900_000).toISOString(),
    sessionName: sourceIdentity,
    sourceIdentity,
    assumedRoleArn: `arn:aws:sts::000000000000:assumed-role/tvm-demo-readonly/${sourceIdentity}`,
    durationSeconds: 900,
    groups: principal.groups,
  };
}

describe("a vend's audit record", () => {
  it('is one PutItem of at most 1,024 bytes: one write unit', async () => {
    // Prepare
    const { client, sent } = recordingDocumentClient();
    const writer = new DynamoDbAuditWriter(client, { tableName: 'tvm-bench-audit', shards: 64, chains: new AuditChains() });
    const event = aBenchIssuance();

    // Act
    await writer.append(event);

    // Assess
    const puts = sent.filter((request) => request.command === 'PutItemCommand');
    expect(puts).toHaveLength(1);
    const [put] = puts;
    expect(itemSize(put?.body.Item)).toBeLessThanOrEqual(WRITE_UNIT_BYTES);
    expect(writeUnitsOf('PutItem', put?.body)).toBe(1);
  });
});
