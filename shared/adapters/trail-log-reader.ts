// A trail's log files in S3: gzip JSON `{"Records":[…]}`, often tens of megabytes once unzipped.
// Each is streamed: GetObject's body through gunzip into a splitter that finds each element of the
// top-level "Records" array and JSON.parses it alone, so memory holds one chunk and one record,
// never the file, and the next chunk is read only as fast as the records are consumed.
import { pipeline, Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TrailObjectTooLargeError } from '../domain/errors.js';
import type { TrailLogElement, TrailLogReader } from '../domain/ports.js';

/** CloudTrail records are far smaller; a bigger element is skipped, not buffered. */
export const DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** CloudTrail's files are tens of megabytes unzipped; far beyond is a bomb or not a trail's file. */
export const DEFAULT_MAX_OBJECT_BYTES = 256 * 1024 * 1024;

export interface TrailLogReaderOptions {
  readonly maxRecordBytes?: number;
  /** Decompressed bytes read of one object at most (DEFAULT_MAX_OBJECT_BYTES). */
  readonly maxObjectBytes?: number;
}

export class S3TrailLogReader implements TrailLogReader {
  constructor(
    private readonly s3: S3Client,
    private readonly options: TrailLogReaderOptions = {},
  ) {}

  /**
   * The elements of the object's "Records" array, in order. S3 and gunzip errors (a dropped
   * connection, a corrupt or truncated file) are thrown: the caller lets the platform retry.
   * Past maxObjectBytes unzipped, TrailObjectTooLargeError is thrown and nothing more downloaded.
   */
  async *read(bucket: string, key: string): AsyncGenerator<TrailLogElement> {
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!(Body instanceof Readable)) throw new Error(`GetObject s3://${bucket}/${key} returned no Node.js stream`);
    const cap = byteCap(this.options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES, () => new TrailObjectTooLargeError(bucket, key, this.options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES));
    // pipeline destroys every stream if one fails, so the error reaches the loop below, and
    // stopping the loop early destroys the download too. The callback's error is that same one.
    const unzipped = pipeline(Body, createGunzip(), cap, () => undefined);
    yield* splitTrailLog(unzipped, this.options);
  }
}

/** Passes bytes through until more than `max` have passed, then fails with `tooLarge()`. */
function byteCap(max: number, tooLarge: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) done(tooLarge());
      else done(null, chunk);
    },
  });
}

/** Splits a stream of a CloudTrail log file's bytes into the elements of its "Records" array. */
export async function* splitTrailLog(
  chunks: AsyncIterable<Uint8Array | string>,
  options: { readonly maxRecordBytes?: number } = {},
): AsyncGenerator<TrailLogElement> {
  const splitter = new RecordsSplitter(options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  for await (const chunk of chunks) {
    yield* splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (splitter.stopped) return;
  }
  yield* splitter.end();
}

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const RECORDS_KEY = /* @__PURE__ */ Buffer.from('Records');
const utf8 = /* @__PURE__ */ new TextDecoder('utf-8');

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * A byte-level scanner that tracks strings, escapes and nesting depth. It works on bytes, not
 * characters: every structural JSON character is ASCII and no byte of a multi-byte UTF-8 character
 * is, so a character split across two chunks needs no care until the record is decoded whole.
 *
 * Depth 0 is outside everything, 1 inside the top-level object, 2 inside its "Records" array (the
 * only array at depth 1 that matters), where each value is one record.
 */
class RecordsSplitter {
  /** Set when the file is not a CloudTrail log (its one malformed element has been yielded). */
  stopped = false;

  private depth = 0;
  private inString = false;
  private escaped = false;
  // Top-level object: is the next string a key, which key was read last, is its value next.
  private expectingKey = false;
  private keyBytes: number[] = [];
  private capturingKey = false;
  private lastKey = '';
  private valueKey: string | undefined;
  private inRecords = false;
  private seenRoot = false;
  // The record being read: its bytes so far (unless too big), and how it started.
  private collecting = false;
  private recordStart = 0;
  private recordIsScalar = false;
  private parts: Uint8Array[] = [];
  private recordBytes = 0;
  private oversized = false;

  constructor(private readonly maxRecordBytes: number) {}

  push(chunk: Uint8Array): TrailLogElement[] {
    const out: TrailLogElement[] = [];
    this.recordStart = 0;
    for (let i = 0; i < chunk.length && !this.stopped; i++) {
      const byte = chunk[i] as number;
      if (this.collecting) {
        if (this.scanRecordByte(byte, chunk, i, out)) continue;
        // A scalar element ended on this byte (a separator): it still needs handling below.
      }
      if (this.inString) {
        this.scanStringByte(byte);
        continue;
      }
      this.scanStructureByte(byte, i, out);
    }
    if (this.collecting) this.keep(chunk.subarray(this.recordStart));
    return out;
  }

  end(): TrailLogElement[] {
    if (this.stopped) return [];
    if (this.collecting || this.inRecords) return [{ ok: false, reason: 'the log file ended inside its Records array' }];
    return [];
  }

  /** Inside a record. True when the byte is consumed; false when it ended a scalar element. */
  private scanRecordByte(byte: number, chunk: Uint8Array, i: number, out: TrailLogElement[]): boolean {
    if (this.inString) {
      this.scanStringByte(byte);
      if (!this.inString && this.recordIsScalar && this.depth === 2) this.finishRecord(chunk, i + 1, out);
      return true;
    }
    if (byte === QUOTE) {
      this.inString = true;
      return true;
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      this.depth++;
      return true;
    }
    if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (this.depth === 2) {
        // `]` right after a scalar: the scalar ends, and the array with it (handled by the caller).
        this.finishRecord(chunk, i, out);
        return false;
      }
      this.depth--;
      if (this.depth === 2) this.finishRecord(chunk, i + 1, out);
      return true;
    }
    if (this.depth === 2 && (byte === COMMA || isWhitespace(byte))) {
      this.finishRecord(chunk, i, out);
      return false;
    }
    return true;
  }

  private scanStringByte(byte: number): void {
    if (this.escaped) this.escaped = false;
    else if (byte === BACKSLASH) this.escaped = true;
    else if (byte === QUOTE) {
      this.inString = false;
      if (this.capturingKey) {
        this.capturingKey = false;
        this.lastKey = Buffer.from(this.keyBytes).toString('utf8');
      }
      return;
    }
    if (this.capturingKey && this.keyBytes.length <= RECORDS_KEY.length) this.keyBytes.push(byte);
  }

  /** Outside any record: the top-level object, its keys and the values other than "Records". */
  private scanStructureByte(byte: number, i: number, out: TrailLogElement[]): void {
    if (isWhitespace(byte)) return;
    if (!this.seenRoot) {
      this.seenRoot = true;
      if (byte !== OPEN_OBJECT) return this.stop(out, 'the log file is not a JSON object');
    }
    if (this.inRecords && this.depth === 2) {
      if (byte === COMMA) return;
      if (byte === CLOSE_ARRAY) {
        this.inRecords = false;
        this.depth = 1;
        return;
      }
      this.startRecord(byte, i);
      return;
    }
    switch (byte) {
      case QUOTE:
        this.inString = true;
        if (this.depth === 1 && this.expectingKey) {
          this.capturingKey = true;
          this.keyBytes = [];
        }
        return;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        this.depth++;
        if (this.depth === 1) this.expectingKey = true;
        if (this.depth === 2 && byte === OPEN_ARRAY && this.valueKey === 'Records') this.inRecords = true;
        this.valueKey = undefined;
        return;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        this.depth--;
        if (this.depth < 0) return this.stop(out, 'the log file is not valid JSON');
        return;
      case COLON:
        if (this.depth === 1) {
          this.expectingKey = false;
          this.valueKey = this.lastKey;
        }
        return;
      case COMMA:
        if (this.depth === 1) {
          this.expectingKey = true;
          this.valueKey = undefined;
        }
        return;
      default:
        // A scalar value at the top level (a number, true, …): nothing to track.
        if (this.depth === 1) this.valueKey = undefined;
        return;
    }
  }

  private startRecord(byte: number, i: number): void {
    this.collecting = true;
    this.recordStart = i;
    this.parts = [];
    this.recordBytes = 0;
    this.oversized = false;
    this.recordIsScalar = byte !== OPEN_OBJECT && byte !== OPEN_ARRAY;
    if (byte === QUOTE) this.inString = true;
    else if (!this.recordIsScalar) this.depth++;
  }

  private keep(bytes: Uint8Array): void {
    if (this.oversized) return;
    this.recordBytes += bytes.length;
    if (this.recordBytes > this.maxRecordBytes) {
      this.oversized = true;
      this.parts = [];
      return;
    }
    this.parts.push(bytes);
  }

  private finishRecord(chunk: Uint8Array, endExclusive: number, out: TrailLogElement[]): void {
    this.keep(chunk.subarray(this.recordStart, endExclusive));
    this.collecting = false;
    if (this.oversized) {
      out.push({ ok: false, reason: `a record is larger than ${this.maxRecordBytes} bytes` });
    } else {
      const [only] = this.parts;
      out.push(parseRecord(utf8.decode(this.parts.length === 1 && only ? only : Buffer.concat(this.parts))));
    }
    this.parts = [];
  }

  private stop(out: TrailLogElement[], reason: string): void {
    out.push({ ok: false, reason });
    this.stopped = true;
  }
}

function parseRecord(text: string): TrailLogElement {
  try {
    return { ok: true, record: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'a record is not valid JSON' };
  }
}
