// The use flood on the local stack: an attacker loops a cheap AWS call with one vended key, and
// every call reaches recordUse as a CloudTrail record (here in SQS batches from several senders at
// once, as trail log files and EventBridge deliver them, to several recordUse instances). Meanwhile
// others vend: not one vend may fail, and every use is recorded.
import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import { toCloudTrailRecord, toEventBridgeEvent, type SessionRequestRecord } from '../../local/cloudtrail-bridge.js';
import { invocationSucceeded, invokeLambda } from '../../local/invoke-lambda.js';
import { api, SECURITY_GROUPS, stackInfo, tokenFor } from './support/api.js';
import { issuedEventsOf, statusesOf, vendConcurrently, warmUp } from './support/vend-load.js';

const USES = 480;
/** recordUse invocations in flight at once: each its own instance, writing its batch concurrently. */
const SENDERS = 8;
const BATCH = 8;
const VENDS_PER_WAVE = 20;
const WAVES = 2;

interface VendBody {
  credentials: { accessKeyId: string };
  roleArn: string;
  sessionName: string;
  sourceIdentity: string;
}

/** What the local STS would report for one call signed with the vended key. */
function aCall(vended: VendBody): SessionRequestRecord {
  const now = new Date().toISOString();
  return {
    eventTime: now,
    eventSource: 'sts.amazonaws.com',
    eventName: 'GetCallerIdentity',
    accessKeyId: vended.credentials.accessKeyId,
    sourceIPAddress: '127.0.0.1',
    userAgent: 'flood/1.0',
    requestId: randomUUID(),
    session: {
      roleArn: vended.roleArn,
      assumedRoleArn: `arn:aws:sts::000000000000:assumed-role/${vended.roleArn.split('/').pop()}/${vended.sessionName}`,
      principalId: `AROAFLOODFLOODFLOOD:${vended.sessionName}`,
      sessionName: vended.sessionName,
      sourceIdentity: vended.sourceIdentity,
      issuedAt: now,
      accountId: '000000000000',
    },
  };
}

function sqsBatchOf(records: SessionRequestRecord[]): SQSEvent {
  return {
    Records: records.map((record) => {
      const messageId = randomUUID();
      return {
        messageId,
        receiptHandle: messageId,
        body: JSON.stringify(toEventBridgeEvent(toCloudTrailRecord(record, { region: 'us-east-1', accountId: '000000000000' }))),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'AIDAFLOOD',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: 'x',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:tvm-dev-uses',
        awsRegion: 'us-east-1',
      };
    }),
  };
}

/** Sends `total` uses in batches from SENDERS loops at once; the uses recordUse reported failed. */
async function flood(vended: VendBody, total: number): Promise<number> {
  const info = stackInfo();
  let sent = 0;
  let failed = 0;
  const sender = async () => {
    while (sent < total) {
      const size = Math.min(BATCH, total - sent);
      sent += size;
      const result = await invokeLambda({
        lambdaEndpoint: info.lambdaEndpoint,
        functionName: info.functions.recordUse,
        event: sqsBatchOf(Array.from({ length: size }, () => aCall(vended))),
      });
      const failures = (result.payload as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures;
      failed += invocationSucceeded(result) ? (failures?.length ?? 0) : size;
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  return failed;
}

async function usesRecorded(accessKeyId: string): Promise<number> {
  const token = await tokenFor('flood-auditor@example.com', SECURITY_GROUPS);
  let count = 0;
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ accessKeyId, type: 'credential.used', limit: '100', ...(cursor ? { cursor } : {}) });
    const page = await api<{ events: unknown[]; nextCursor?: string }>('GET', `/audit/events?${query}`, { token });
    expect(page.status).toBe(200);
    count += page.body.events.length;
    cursor = page.body.nextCursor;
  } while (cursor);
  return count;
}

describe('a flood of uses of one key', () => {
  it('never makes a concurrent vend fail, and every use is recorded', async () => {
    // Prepare: the attacker's key, and vend instances ready for the waves
    const attacker = await tokenFor(`flooder-${randomUUID()}@example.com`, ['engineering']);
    const vend = await api<VendBody>('POST', '/credentials', { token: attacker, body: { profile: 'demo-readonly' } });
    expect(vend.status).toBe(200);
    await warmUp(VENDS_PER_WAVE);

    // Act: the flood, and waves of concurrent vends while it runs
    const flooding = flood(vend.body, USES);
    const waves = [];
    for (let wave = 0; wave < WAVES; wave++) waves.push(await vendConcurrently(VENDS_PER_WAVE));
    const failedUses = await flooding;

    // Assess
    for (const run of waves) {
      expect(statusesOf(run)).toEqual({ '200': VENDS_PER_WAVE });
      const issued = await issuedEventsOf(run);
      expect(issued.map((event) => event.accessKeyId).sort()).toEqual(run.outcomes.map((outcome) => outcome.accessKeyId).sort());
    }
    expect(failedUses).toBe(0);
    expect(await usesRecorded(vend.body.credentials.accessKeyId)).toBe(USES);
  }, 180_000);
});
