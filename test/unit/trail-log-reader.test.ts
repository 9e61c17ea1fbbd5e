// The trail log reader: the splitter on awkward JSON cut at every possible byte, and the S3 reader
// streaming a 10,000-record gzip file served by a mocked GetObject.
import 'aws-sdk-client-mock-jest';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
// The SDK's own helper for giving a mocked GetObject a streaming body (aws-sdk-client-mock's README).
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { S3TrailLogReader, splitTrailLog } from '../../shared/adapters/trail-log-reader.js';
import { TrailObjectTooLargeError } from '../../shared/domain/errors.js';
import type { TrailLogElement } from '../../shared/domain/ports.js';
import { aTargetRoleCall } from '../fixtures/cloudtrail-records.js';

async function collect(elements: AsyncIterable<TrailLogElement>): Promise<TrailLogElement[]> {
  const out: TrailLogElement[] = [];
  for await (const element of elements) out.push(element);
  return out;
}

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Every way of cutting `bytes` in two, and cut into single bytes. */
function cuts(bytes: Buffer): Uint8Array[][] {
  const all: Uint8Array[][] = [];
  for (let at = 0; at <= bytes.length; at++) all.push([bytes.subarray(0, at), bytes.subarray(at)]);
  all.push([...bytes].map((byte) => Uint8Array.of(byte)));
  return all;
}

async function* fromArray(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

/** Fails with `message` instead of hanging when a reader waits for the whole file. */
async function withinSeconds<T>(seconds: number, promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function trailLog(records: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ Records: records }), 'utf8');
}

describe('splitTrailLog', () => {
  // Strings holding every structural character, escapes (including an escaped backslash before a
  // quote), multi-byte UTF-8 that chunks may split, nested arrays, and keys around "Records"
  // (one of them a nested "Records" that must not be taken for the top-level one).
  const awkward = [
    { eventID: 'a', note: 'brackets ] } [ { and a comma, "quoted" and a \\ backslash\\' },
    { eventID: 'b', nested: { Records: [1, 2], list: [[], [{}], '"'] }, text: 'é€😀\u2028' },
    [],
    'a string record',
    42,
    null,
    { eventID: 'c', empty: '' },
  ];
  const document = Buffer.from(
    `{"digest": {"Records": [9]}, "list": ["]", "[", {"a": "}"}], "n": -1.5e3, "t": true,\n` +
      ` "Records" : [ ${awkward.map((r) => JSON.stringify(r)).join(' ,\n')} ] , "after": [1, {"Records": [7]}]}`,
    'utf8',
  );

  it('yields exactly the elements of the top-level Records array, however the bytes are cut', async () => {
    // Prepare
    const expected = awkward.map((record) => ({ ok: true, record }));

    // Act
    const results = await Promise.all(cuts(document).map((chunks) => collect(splitTrailLog(fromArray(chunks)))));

    // Assess
    for (const result of results) expect(result).toEqual(expected);
  });

  it('counts an element that is not valid JSON as malformed and carries on with the next', async () => {
    // Prepare
    const log = Buffer.from('{"Records":[{"eventID":"a"},{"eventID": tru},{"eventID":"c"}, nul]}', 'utf8');

    // Act
    const elements = await collect(splitTrailLog(chunksOf(log, 7)));

    // Assess
    expect(elements).toEqual([
      { ok: true, record: { eventID: 'a' } },
      { ok: false, reason: 'a record is not valid JSON' },
      { ok: true, record: { eventID: 'c' } },
      { ok: false, reason: 'a record is not valid JSON' },
    ]);
  });

  it('skips an element larger than the limit without buffering it, and reads the ones after it', async () => {
    // Prepare
    const log = trailLog([{ eventID: 'a' }, { eventID: 'big', padding: 'x'.repeat(1000) }, { eventID: 'c' }]);

    // Act
    const elements = await collect(splitTrailLog(chunksOf(log, 100), { maxRecordBytes: 500 }));

    // Assess
    expect(elements).toEqual([
      { ok: true, record: { eventID: 'a' } },
      { ok: false, reason: 'a record is larger than 500 bytes' },
      { ok: true, record: { eventID: 'c' } },
    ]);
  });

  it('reports a file cut off inside Records, after the records that were complete', async () => {
    // Prepare
    const log = trailLog([{ eventID: 'a' }, { eventID: 'b' }]);
    const truncated = log.subarray(0, log.indexOf('"b"'));

    // Act
    const elements = await collect(splitTrailLog(chunksOf(truncated, 5)));

    // Assess
    expect(elements).toEqual([
      { ok: true, record: { eventID: 'a' } },
      { ok: false, reason: 'the log file ended inside its Records array' },
    ]);
  });

  it('yields one malformed element for a file that is not a JSON object, and nothing for one without Records', async () => {
    // Prepare
    const notAnObject = Buffer.from('[{"eventID":"a"}]', 'utf8');
    const digest = Buffer.from('{"awsAccountId":"123456789012","logFiles":[{"s3Object":"x"}]}', 'utf8');

    // Act
    const fromArrayFile = await collect(splitTrailLog(chunksOf(notAnObject, 4)));
    const fromDigest = await collect(splitTrailLog(chunksOf(digest, 4)));

    // Assess
    expect(fromArrayFile).toEqual([{ ok: false, reason: 'the log file is not a JSON object' }]);
    expect(fromDigest).toEqual([]);
  });

  it('reads an empty Records array as no records', async () => {
    // Act
    const elements = await collect(splitTrailLog(chunksOf(Buffer.from('{"Records":[]}'), 3)));

    // Assess
    expect(elements).toEqual([]);
  });
});

describe('S3TrailLogReader', () => {
  const s3 = mockClient(S3Client);

  beforeEach(() => {
    s3.reset();
  });

  function records(count: number) {
    return Array.from({ length: count }, (_, i) => aTargetRoleCall({ eventID: `event-${String(i).padStart(5, '0')}` }));
  }

  it('streams a 10,000-record gzip log file: yields records before the download has ended, then every one in order', async () => {
    // Prepare
    const gzipped = gzipSync(trailLog(records(10_000)));
    const download = new PassThrough();
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(download) });
    const reader = new S3TrailLogReader(new S3Client({ region: 'us-east-1' }));
    const firstQuarter = Math.floor(gzipped.length / 4);
    download.write(gzipped.subarray(0, firstQuarter));

    // Act
    const elements = reader.read('trail-bucket', 'AWSLogs/123456789012/CloudTrail/us-east-1/2026/06/01/file.json.gz');
    const first = await withinSeconds(5, elements.next(), 'no record was yielded before the download ended');
    const endedBeforeFirstRecord = download.writableEnded;
    download.end(gzipped.subarray(firstQuarter));
    const rest = await collect({ [Symbol.asyncIterator]: () => elements });

    // Assess
    expect(endedBeforeFirstRecord).toBe(false);
    expect(first.value).toEqual({ ok: true, record: expect.objectContaining({ eventID: 'event-00000' }) });
    const all = [first.value as TrailLogElement, ...rest];
    expect(all).toHaveLength(10_000);
    expect(all.every((element, i) => element.ok && (element.record as { eventID: string }).eventID === `event-${String(i).padStart(5, '0')}`)).toBe(true);
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3).toReceiveCommandWith(GetObjectCommand, {
      Bucket: 'trail-bucket',
      Key: 'AWSLogs/123456789012/CloudTrail/us-east-1/2026/06/01/file.json.gz',
    });
  });

  it('throws when the download fails midway, after yielding the records it had', async () => {
    // Prepare
    const gzipped = gzipSync(trailLog(records(2_000)));
    const download = new PassThrough();
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(download) });
    const reader = new S3TrailLogReader(new S3Client({ region: 'us-east-1' }));
    download.write(gzipped.subarray(0, Math.floor(gzipped.length / 2)));
    const seen: TrailLogElement[] = [];

    // Act
    const reading = (async () => {
      for await (const element of reader.read('trail-bucket', 'file.json.gz')) {
        seen.push(element);
        if (seen.length === 1) download.destroy(new Error('socket hang up'));
      }
    })();

    // Assess
    await expect(reading).rejects.toThrow('socket hang up');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(2_000);
  });

  // A gzip bomb (or a huge object in the bucket) must not spin 300 s × 3.
  it('stops at the cap on decompressed bytes with TrailObjectTooLargeError, after the records within it, downloading no further', async () => {
    // Prepare: ~5 MB of records once unzipped (gzip makes them tiny); a 1 MB cap
    const gzipped = gzipSync(trailLog(records(10_000)));
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(PassThrough.from([gzipped])) });
    const reader = new S3TrailLogReader(new S3Client({ region: 'us-east-1' }), { maxObjectBytes: 1024 * 1024 });
    const seen: TrailLogElement[] = [];

    // Act
    const reading = (async () => {
      for await (const element of reader.read('trail-bucket', 'bomb.json.gz')) seen.push(element);
    })();

    // Assess
    const error = await reading.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TrailObjectTooLargeError);
    expect(error).toMatchObject({ bucket: 'trail-bucket', key: 'bomb.json.gz', maxObjectBytes: 1024 * 1024 });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(10_000);
  });

  it('throws for an object that is not gzip', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(PassThrough.from([trailLog(records(1))])) });
    const reader = new S3TrailLogReader(new S3Client({ region: 'us-east-1' }));

    // Act
    const reading = collect(reader.read('trail-bucket', 'plain.json'));

    // Assess
    await expect(reading).rejects.toThrow(/header/);
  });
});
