// The local stack's write-once storage for chain anchors: a directory (under .tvm/), one read-only
// file per anchor, never overwritten. It stands in for the S3 bucket with Object Lock.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChainAnchor } from '../domain/chain-anchor-records.js';
import type { ChainAnchorStore } from '../domain/ports.js';
import { anchorDay, anchorName, parseAnchor } from './chain-anchor-names.js';

export class FileSystemChainAnchorStore implements ChainAnchorStore {
  constructor(private readonly dir: string) {}

  async save(anchor: ChainAnchor): Promise<void> {
    const file = join(this.dir, anchorName(anchor));
    await mkdir(dirname(file), { recursive: true });
    // 'wx' fails when the file exists: an anchor is never replaced.
    await writeFile(file, `${JSON.stringify(anchor)}\n`, { flag: 'wx', mode: 0o444 });
  }

  async latest(day: string): Promise<ChainAnchor | undefined> {
    const dayDir = join(this.dir, anchorDay(day));
    let names: string[];
    try {
      names = await readdir(dayDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const newest = names.filter((name) => name.endsWith('.json')).sort()[0];
    return newest === undefined ? undefined : parseAnchor(await readFile(join(dayDir, newest), 'utf8'), day);
  }
}
