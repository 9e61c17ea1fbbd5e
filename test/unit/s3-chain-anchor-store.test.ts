// Chain anchors in the Object Lock bucket, against a mocked S3 client: the exact PutObject (under
// anchors/<day>/, newest first by name, with the checksum Object Lock requires and never over an
// existing key), and `latest` reading only the first key of the day.
import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { S3ChainAnchorStore } from '../../shared/adapters/s3-chain-anchor-store.js';
import type { ChainAnchor } from '../../shared/domain/chain-anchor-records.js';
import { failureOf } from '../fixtures/failure.js';
import { hashOf } from '../fixtures/in-memory.js';

const BUCKET = 'tvm-test-anchorbucket-1a2b3c';
const s3 = mockClient(S3Client);
const store = () => new S3ChainAnchorStore(new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }), { bucket: BUCKET });

const anAnchor = (at: string, day = '2026-06-01'): ChainAnchor => ({
  day,
  at,
  heads: [
    { chain: `${day}#0`, seq: 12, hash: hashOf('a'), eventId: `${day}T11:59:00.000Z#e12` },
    { chain: `${day}#u3`, seq: 400, hash: hashOf('b') },
  ],
});

const body = (anchor: unknown) => sdkStreamMixin(Readable.from([Buffer.from(JSON.stringify(anchor))]));

beforeEach(() => s3.reset());

describe('S3ChainAnchorStore.save', () => {
  it('puts one JSON object under anchors/<day>/, with a SHA-256 checksum, only if the key is new', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    const anchor = anAnchor('2026-06-01T12:00:00.000Z');

    // Act
    await store().save(anchor);

    // Assess
    expect(s3).toReceiveCommandTimes(PutObjectCommand, 1);
    expect(s3).toReceiveCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: `anchors/2026-06-01/${9_999_999_999_999 - Date.parse(anchor.at)}-2026-06-01T120000000Z.json`,
      Body: JSON.stringify(anchor),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
      IfNoneMatch: '*',
    });
  });

  it('names a later anchor of the day so that it sorts first, as S3 lists keys', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});

    // Act
    await store().save(anAnchor('2026-06-01T09:00:00.000Z'));
    await store().save(anAnchor('2026-06-01T23:55:00.000Z'));

    // Assess
    const [earlier, later] = s3.commandCalls(PutObjectCommand).map((call) => String(call.args[0].input.Key));
    expect([later, earlier].sort()).toEqual([later, earlier]);
  });
});

describe('S3ChainAnchorStore.latest', () => {
  it('reads the first key listed under the day, and only that one', async () => {
    // Prepare
    const anchor = anAnchor('2026-06-01T12:00:00.000Z');
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'anchors/2026-06-01/0000-newest.json' }] });
    s3.on(GetObjectCommand).resolves({ Body: body(anchor) });

    // Act
    const latest = await store().latest('2026-06-01');

    // Assess
    expect(latest).toEqual(anchor);
    expect(s3).toReceiveCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'anchors/2026-06-01/', MaxKeys: 1 });
    expect(s3).toReceiveCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: 'anchors/2026-06-01/0000-newest.json' });
  });

  it('answers undefined for a day without anchors, without a GetObject', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });

    // Act
    const latest = await store().latest('2026-05-01');

    // Assess
    expect(latest).toBeUndefined();
    expect(s3).toReceiveCommandTimes(GetObjectCommand, 0);
  });

  it.each([
    ['an anchor of another day', anAnchor('2026-05-31T12:00:00.000Z', '2026-05-31')],
    ['something that is not an anchor', { day: '2026-06-01', at: '2026-06-01T12:00:00.000Z', heads: [{ chain: 'x', seq: 0, hash: 'nope' }] }],
  ])('refuses %s filed under the day', async (_, stored) => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'anchors/2026-06-01/0000.json' }] });
    s3.on(GetObjectCommand).resolves({ Body: body(stored) });

    // Act
    const error = await failureOf(store().latest('2026-06-01'));

    // Assess
    expect(error).toBeInstanceOf(Error);
  });

  it('refuses a day that is not a day before it becomes part of a key', async () => {
    // Act
    const error = await failureOf(store().latest('2026-06-01/../../other'));

    // Assess
    expect(error).toBeInstanceOf(RangeError);
    expect(s3).toReceiveCommandTimes(ListObjectsV2Command, 0);
  });
});
