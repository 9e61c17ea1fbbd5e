// Reading the zips `serverless package` writes: entries from the central directory, and their
// bytes (stored or deflated, the only two methods it uses). No ZIP64: the bundles are far below 4 GB.
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  readonly name: string;
  readonly size: number;
  readonly compressedSize: number;
  /** Offset of the entry's local header. */
  readonly offset: number;
  readonly method: number;
}

const END_OF_CENTRAL_DIRECTORY = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_ENTRY = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

export function readZipEntries(file: string): ZipEntry[] {
  return entriesOf(readFileSync(file), file);
}

/** Every file in the zip, by name. */
export function extractZip(file: string): Map<string, Buffer> {
  const zip = readFileSync(file);
  const files = new Map<string, Buffer>();
  for (const entry of entriesOf(zip, file)) {
    if (zip.readUInt32LE(entry.offset) !== LOCAL_ENTRY) throw new Error(`${file}: bad local header of ${entry.name}`);
    const start = entry.offset + 30 + zip.readUInt16LE(entry.offset + 26) + zip.readUInt16LE(entry.offset + 28);
    const raw = zip.subarray(start, start + entry.compressedSize);
    if (entry.method !== STORED && entry.method !== DEFLATED) throw new Error(`${file}: ${entry.name} uses compression method ${entry.method}`);
    const data = entry.method === DEFLATED ? inflateRawSync(raw) : Buffer.from(raw);
    if (data.length !== entry.size) throw new Error(`${file}: ${entry.name} inflated to ${data.length} bytes, not ${entry.size}`);
    files.set(entry.name, data);
  }
  return files;
}

function entriesOf(zip: Buffer, file: string): ZipEntry[] {
  const end = zip.lastIndexOf(END_OF_CENTRAL_DIRECTORY);
  if (end < 0) throw new Error(`${file}: no end of central directory`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== CENTRAL_ENTRY) throw new Error(`${file}: bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(offset + 28);
    entries.push({
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      offset: zip.readUInt32LE(offset + 42),
    });
    offset += 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return entries;
}
