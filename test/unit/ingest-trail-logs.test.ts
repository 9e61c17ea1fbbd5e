// The ingestTrailLogs function, built by its factory as functions/ingest-trail-logs.ts builds it:
// the real reader over a mocked S3 GetObject, the real use case, and the in-memory audit log.
import 'aws-sdk-client-mock-jest';
import { PassThrough, Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import type { S3Event, S3ObjectCreatedNotificationEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { S3TrailLogReader } from '../../shared/adapters/trail-log-reader.js';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import { makeIngestTrailLogsHandler } from '../../shared/events/ingest-trail-logs.js';
import { fixedClock, sequentialIds } from '../fixtures/in-memory.js';
import { failureOf } from '../fixtures/failure.js';
import {
  aLambdaContext,
  anIssuance,
  aTargetRoleCall,
  FlakyAuditLog,
  IGNORED_SOURCES,
  ISSUED_KEY,
  loadCloudTrailFixture,
  TARGET_ROLE_PATTERN,
} from '../fixtures/cloudtrail-records.js';

const audit = new FlakyAuditLog();
const s3 = mockClient(S3Client);
/** The cap here: what the 10,000-record files below stay well within. */
const MAX_OBJECT_BYTES = 16 * 1024 * 1024;
const deadLettered: { event: unknown; rejection: unknown }[] = [];
/** Each file's progress, as DynamoDbTrailProgress keeps it (only ever forward). */
const progress = new Map<string, number>();
const deployed = makeIngestTrailLogsHandler({
  audit,
  roleArnPattern: TARGET_ROLE_PATTERN,
  ignoredSources: IGNORED_SOURCES,
  reader: new S3TrailLogReader(new S3Client({ region: 'us-east-1' }), { maxObjectBytes: MAX_OBJECT_BYTES }),
  progress: {
    resumeAt: async (bucket: string, key: string) => progress.get(`${bucket}/${key}`) ?? 0,
    save: async (bucket: string, key: string, resumeAt: number) => {
      progress.set(`${bucket}/${key}`, Math.max(resumeAt, progress.get(`${bucket}/${key}`) ?? 0));
    },
  },
  deadLetters: {
    put: async (event: unknown, rejection: { functionArn: string; condition: string; reason: string }) => {
      deadLettered.push({ event, rejection });
    },
  },
  clock: fixedClock('2026-06-01T12:06:00.000Z'),
  ids: sequentialIds('ingest'),
  log: { info: () => undefined, warn: () => undefined, error: () => undefined },
});
const handler = (event: S3Event | S3ObjectCreatedNotificationEvent) => deployed(event, aLambdaContext('tvm-dev-ingestTrailLogs'));

/** Twenty issued keys, and a few unknown ones: lookups are cached per key, not per record. */
const ISSUED_KEYS = Array.from({ length: 20 }, (_, i) => `ASIAQTVMISSUEDKEY${String(i).padStart(3, '0')}`);

function s3Event(...objects: { bucket: string; key: string }[]): S3Event {
  return {
    Records: objects.map(({ bucket, key }) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: '2026-06-01T12:05:00.000Z',
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:CloudTrail' },
      requestParameters: { sourceIPAddress: '203.0.113.1' },
      responseElements: { 'x-amz-request-id': 'r', 'x-amz-id-2': 'i' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'trail-logs',
        bucket: { name: bucket, ownerIdentity: { principalId: 'o' }, arn: `arn:aws:s3:::${bucket}` },
        object: { key, size: 1, eTag: 'e', sequencer: '1' },
      },
    })),
  };
}

function serve(...bodies: Buffer[]): void {
  let next = 0;
  s3.on(GetObjectCommand).callsFake(() => {
    const body = bodies[Math.min(next++, bodies.length - 1)] as Buffer;
    return { Body: sdkStreamMixin(PassThrough.from([body])) };
  });
}

function gzipLog(records: unknown[]): Buffer {
  return gzipSync(Buffer.from(JSON.stringify({ Records: records }), 'utf8'));
}

for (const [i, key] of ISSUED_KEYS.entries()) await audit.append(anIssuance({ id: `2026-06-01T11:00:00.000Z#issue-${i}`, accessKeyId: key }));

beforeEach(() => {
  progress.clear();
  s3.reset();
  audit.failFor.clear();
  audit.findIssuanceCalls = 0;
});

describe('ingestTrailLogs', () => {
  it('records all 10,000 records of a gzip log file exactly once; a second delivery finds it done and reads nothing again', async () => {
    // Prepare
    const records = Array.from({ length: 10_000 }, (_, i) =>
      aTargetRoleCall({ eventID: `bulk-${i}`, accessKeyId: i % 50 === 49 ? 'ASIAQNOTISSUEDBYTVM1' : (ISSUED_KEYS[i % 20] as string) }),
    );
    serve(gzipLog(records));
    const event = s3Event({ bucket: 'trail-bucket', key: 'AWSLogs/123456789012/CloudTrail/us-east-1/2026/06/01/bulk.json.gz' });
    const before = audit.uses.length;

    // Act
    const first = await handler(event);
    const second = await handler(event);

    // Assess
    expect(first).toEqual({ recorded: 10_000, duplicates: 0, unrelated: 0, malformed: 0, failed: 0 });
    expect(second).toEqual({ recorded: 0, duplicates: 0, unrelated: 0, malformed: 0, failed: 0 });
    const bulk = audit.uses.slice(before);
    expect(bulk).toHaveLength(10_000);
    expect(new Set(bulk.map((use) => use.cloudTrailEventId)).size).toBe(10_000);
    expect(bulk.filter((use) => use.issuance === null)).toHaveLength(200);
    expect(bulk.every((use) => use.via === 'trail')).toBe(true);
    // 21 keys, looked up once per key; the one tvm did not issue twice (a miss is tried again).
    expect(audit.findIssuanceCalls).toBe(22);
  }, 60_000);

  it('reads the object named by the URL-encoded key ("+" is a space)', async () => {
    // Prepare
    serve(gzipLog([aTargetRoleCall({ eventID: 'key-decoding' })]));

    // Act
    await handler(s3Event({ bucket: 'trail-bucket', key: 'AWSLogs/my+logs/%C3%A9t%C3%A9%2B1.json.gz' }));

    // Assess
    expect(s3).toReceiveCommandWith(GetObjectCommand, { Bucket: 'trail-bucket', Key: 'AWSLogs/my logs/été+1.json.gz' });
  });

  it('counts the real samples and malformed elements of a log file, recording only the target-role calls', async () => {
    // Prepare
    const unrelated = ['ct-01-sts-assumerole-sourceidentity-caller-account.json', 'ct-08-sts-assumerole-accessdenied-stratus-real.json', 'ct-04-s3-deletebucket-assumedrole.json'].map(loadCloudTrailFixture);
    const log = JSON.stringify({ Records: [aTargetRoleCall({ eventID: 'mixed-1' }), ...unrelated, aTargetRoleCall({ eventID: 'mixed-2', accessKeyId: ISSUED_KEY })] });
    const withBadElements = log.replace('{"Records":[', '{"Records":[{"eventID": oops}, 17, ');
    serve(gzipSync(Buffer.from(withBadElements, 'utf8')));

    // Act
    const counts = await handler(s3Event({ bucket: 'trail-bucket', key: 'mixed.json.gz' }));

    // Assess
    expect(counts).toEqual({ recorded: 2, duplicates: 0, unrelated: 3, malformed: 2, failed: 0 });
  });

  it('throws after reading every object when a use could not be written, having written the others', async () => {
    // Prepare
    audit.failFor.add('fail-1');
    serve(
      gzipLog([aTargetRoleCall({ eventID: 'fail-0' }), aTargetRoleCall({ eventID: 'fail-1' }), aTargetRoleCall({ eventID: 'fail-2' })]),
      gzipLog([aTargetRoleCall({ eventID: 'fail-3' })]),
    );

    // Act
    const error = await failureOf(handler(s3Event({ bucket: 'trail-bucket', key: 'a.json.gz' }, { bucket: 'trail-bucket', key: 'b.json.gz' })));

    // Assess
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect((error as Error).message).toBe('1 uses could not be recorded');
    const written = audit.uses.map((use) => use.cloudTrailEventId).filter((id) => id.startsWith('fail-'));
    expect(written.sort()).toEqual(['fail-0', 'fail-2', 'fail-3']);
  });

  it('takes the object from an EventBridge "Object Created" event as well', async () => {
    // Prepare
    serve(gzipLog([aTargetRoleCall({ eventID: 'via-eventbridge-notification' })]));
    const event: S3ObjectCreatedNotificationEvent = {
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '123456789012',
      time: '2026-06-01T12:05:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:s3:::trail-bucket'],
      detail: {
        version: '0',
        bucket: { name: 'trail-bucket' },
        object: { key: 'AWSLogs/123456789012/CloudTrail/us-east-1/2026/06/01/x.json.gz', size: 5, etag: 'e', 'version-id': 'v1', sequencer: '1' },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: 'cloudtrail.amazonaws.com',
        'source-ip-address': '1.2.3.4',
        reason: 'PutObject',
      },
    };

    // Act
    const counts = await handler(event);

    // Assess
    expect(counts.recorded).toBe(1);
    expect(s3).toReceiveCommandWith(GetObjectCommand, { Bucket: 'trail-bucket', Key: 'AWSLogs/123456789012/CloudTrail/us-east-1/2026/06/01/x.json.gz' });
  });

  it('lets an S3 error through, so the platform retries the object', async () => {
    // Prepare
    s3.on(GetObjectCommand).rejects(new Error('SlowDown'));

    // Act
    const error = await failureOf(handler(s3Event({ bucket: 'trail-bucket', key: 'a.json.gz' })));

    // Assess
    expect((error as Error).message).toBe('SlowDown');
  });

  it('skips an S3 event record whose key cannot be decoded, counting it as malformed', async () => {
    // Act
    const counts = await handler(s3Event({ bucket: 'trail-bucket', key: 'bad%E0%A4%A.json.gz' }));

    // Assess
    expect(counts).toEqual({ recorded: 0, duplicates: 0, unrelated: 0, malformed: 1, failed: 0 });
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  // A gzip bomb (or a huge object) must not be read for the function's whole timeout, three times.
  it('rejects an object that unzips past the cap: recorded trail.rejected, dead-lettered, not thrown (no retry), the other objects read', async () => {
    // Prepare: a bomb (one record, then 64 MiB of blanks, streamed as gzip) beside an ordinary file
    async function* bomb(): AsyncGenerator<Buffer> {
      yield Buffer.from(`{"Records":[${JSON.stringify(aTargetRoleCall({ eventID: 'bomb-1' }))}`);
      for (let i = 0; i < 64; i++) yield Buffer.alloc(1024 * 1024, 0x20);
      yield Buffer.from(']}');
    }
    const ordinary = gzipLog([aTargetRoleCall({ eventID: 'ordinary-1' })]);
    s3.on(GetObjectCommand, { Key: 'bomb.json.gz' }).callsFake(() => ({ Body: sdkStreamMixin(Readable.from(bomb()).pipe(createGzip())) }));
    s3.on(GetObjectCommand, { Key: 'ordinary.json.gz' }).resolves({ Body: sdkStreamMixin(PassThrough.from([ordinary])) });
    deadLettered.length = 0;
    const event = s3Event({ bucket: 'trail-bucket', key: 'bomb.json.gz' }, { bucket: 'trail-bucket', key: 'ordinary.json.gz' });

    // Act
    const counts = await handler(event);

    // Assess
    expect(counts.recorded).toBe(1);
    expect(audit.events.filter((e) => e.type === 'credential.used').map((e) => (e as { cloudTrailEventId: string }).cloudTrailEventId)).toContain('ordinary-1');
    expect(audit.eventsOfType('trail.rejected')).toEqual([
      expect.objectContaining({ principal: 'tvm', detail: { bucket: 'trail-bucket', key: 'bomb.json.gz', maxObjectBytes: MAX_OBJECT_BYTES } }),
    ]);
    expect(deadLettered).toEqual([
      { event, rejection: expect.objectContaining({ condition: 'ObjectTooLarge', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tvm-dev-ingestTrailLogs' }) },
    ]);
  });

  // A retry must not read and write again what an earlier delivery already recorded.
  it('resumes a retry where every record before was settled: nothing before it is looked up or written again', async () => {
    // Prepare: 100 records; the 41st cannot be written on the first delivery
    const records = Array.from({ length: 100 }, (_, i) => aTargetRoleCall({ eventID: `resume-${String(i).padStart(3, '0')}`, accessKeyId: ISSUED_KEYS[i % 20] }));
    serve(gzipLog(records));
    audit.failFor.add('resume-040');
    const event = s3Event({ bucket: 'trail-bucket', key: 'resume.json.gz' });
    await failureOf(handler(event));
    const attemptsBefore = audit.attempts.length;
    audit.failFor.clear();

    // Act
    const retry = await handler(event);

    // Assess: positions 40..99 only; 41..99 come back as duplicates, 40 is recorded now
    expect(progress.get('trail-bucket/resume.json.gz')).toBe(100);
    expect(retry).toEqual({ recorded: 1, duplicates: 59, unrelated: 0, malformed: 0, failed: 0 });
    expect(audit.attempts.length - attemptsBefore).toBe(60);
    expect(audit.uses.filter((use) => use.cloudTrailEventId.startsWith('resume-'))).toHaveLength(100);
  });
});
