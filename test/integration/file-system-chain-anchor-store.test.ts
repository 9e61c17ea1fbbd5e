// The local stack's write-once anchor storage, on the real file system: one read-only file per
// anchor under its day, never overwritten, the newest read back, and nothing read that is not an
// anchor of that day.
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemChainAnchorStore } from '../../shared/adapters/file-system-chain-anchor-store.js';
import type { ChainAnchor } from '../../shared/domain/chain-anchor-records.js';
import { failureOf } from '../fixtures/failure.js';
import { hashOf } from '../fixtures/in-memory.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tvm-anchors-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const anAnchor = (day: string, at: string, seq = 3): ChainAnchor => ({
  day,
  at,
  heads: [{ chain: `${day}#0`, seq, hash: hashOf(`${day}/${seq}`), eventId: `${at}#e${seq}` }, { chain: `${day}#u1`, seq: 1, hash: hashOf('u') }],
});

describe('FileSystemChainAnchorStore', () => {
  it('reads back the newest anchor of each day, whatever order they were saved in', async () => {
    // Prepare
    const store = new FileSystemChainAnchorStore(dir);
    const anchors = [
      anAnchor('2026-06-01', '2026-06-01T11:55:00.000Z', 8),
      anAnchor('2026-06-01', '2026-06-01T09:00:00.000Z', 2),
      anAnchor('2026-05-31', '2026-06-01T00:05:00.000Z', 40),
      anAnchor('2026-06-01', '2026-06-01T12:00:00.000Z', 9),
      anAnchor('2026-05-31', '2026-05-31T23:55:00.000Z', 39),
    ];

    // Act
    for (const anchor of anchors) await store.save(anchor);

    // Assess
    expect(await store.latest('2026-06-01')).toEqual(anchors[3]);
    expect(await store.latest('2026-05-31')).toEqual(anchors[2]);
    expect(await store.latest('2026-05-30')).toBeUndefined();
    expect(readdirSync(join(dir, '2026-06-01'))).toHaveLength(3);
  });

  it('never replaces an anchor, and leaves each file read-only', async () => {
    // Prepare
    const store = new FileSystemChainAnchorStore(dir);
    const first = anAnchor('2026-06-01', '2026-06-01T12:00:00.000Z', 5);
    await store.save(first);

    // Act
    const error = await failureOf(store.save({ ...first, heads: [] }));

    // Assess
    expect((error as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(await store.latest('2026-06-01')).toEqual(first);
    const [file] = readdirSync(join(dir, '2026-06-01'));
    expect(statSync(join(dir, '2026-06-01', String(file))).mode & 0o222).toBe(0);
  });

  it('refuses to read a file under the day that is not an anchor of that day', async () => {
    // Prepare: someone with the directory writes a newer file in the day's folder
    const store = new FileSystemChainAnchorStore(dir);
    await store.save(anAnchor('2026-06-01', '2026-06-01T11:00:00.000Z'));
    const forged = join(dir, '2026-06-01', '0000000000000-forged.json');
    writeFileSync(forged, JSON.stringify(anAnchor('2026-05-31', '2026-06-01T12:00:00.000Z')));
    chmodSync(forged, 0o444);

    // Act
    const error = await failureOf(store.latest('2026-06-01'));

    // Assess
    expect(error).toBeInstanceOf(RangeError);
  });

  it('refuses a day that is not a day before it becomes part of a path', async () => {
    // Act
    const error = await failureOf(new FileSystemChainAnchorStore(dir).latest('../../etc'));

    // Assess
    expect(error).toBeInstanceOf(RangeError);
  });
});
