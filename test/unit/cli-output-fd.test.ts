// The CLI's stdout as a plain file descriptor (no stream to build at start-up): everything written
// arrives, a reader that went away ends the run as a success, and a full non-blocking pipe hands the
// rest to the fallback stream. A FIFO stands in for the pipe the AWS CLI reads from.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileDescriptorOutput, type Output } from '../../cli/output.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tvm-fd-output-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recorder(): Output & { chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  return { chunks, write: (chunk) => chunks.push(Buffer.from(chunk)) };
}

function aFifo(): string {
  const path = join(dir, 'fifo');
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}

describe('fileDescriptorOutput', () => {
  it('writes text and bytes, as UTF-8, in order', () => {
    // Prepare
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    const fallback = recorder();

    // Act
    const output = fileDescriptorOutput(fd, () => fallback);
    output.write('{"Version":1,');
    output.write(Buffer.from('"Ünïcode":"✓"}\n'));
    closeSync(fd);

    // Assess
    expect(readFileSync(path, 'utf8')).toBe('{"Version":1,"Ünïcode":"✓"}\n');
    expect(fallback.chunks).toEqual([]);
  });

  it('ends the run, as a success, once the reader is gone (EPIPE)', () => {
    // Prepare: a pipe whose only reader closes
    const fifo = aFifo();
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    closeSync(reader);
    const readerGone = (): never => {
      throw new Error('the run ends here');
    };

    // Act / Assess
    expect(() => fileDescriptorOutput(writer, recorder, readerGone).write('credentials\n')).toThrow('the run ends here');
    closeSync(writer);
  });

  it('hands what a full non-blocking pipe refuses (EAGAIN) to the fallback stream', () => {
    // Prepare: a reader that reads nothing yet, and more than a pipe holds
    const fifo = aFifo();
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const fallback = recorder();
    const text = 'x'.repeat(1024 * 1024);

    // Act
    fileDescriptorOutput(writer, () => fallback).write(text);
    closeSync(writer);
    closeSync(reader);

    // Assess: the part the pipe took plus the fallback's is all of it
    const handedOver = Buffer.concat(fallback.chunks).length;
    expect(handedOver).toBeGreaterThan(0);
    expect(handedOver).toBeLessThan(text.length);
  });

  it('keeps to the fallback once it had to use it, so that nothing is printed out of order', () => {
    // Prepare: a full non-blocking pipe
    const fifo = aFifo();
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const fallback = recorder();
    const output = fileDescriptorOutput(writer, () => fallback);
    output.write('x'.repeat(1024 * 1024));
    const before = fallback.chunks.length;

    // Act
    output.write('next\n');
    closeSync(writer);
    closeSync(reader);

    // Assess
    expect(fallback.chunks.slice(before).map((chunk) => Buffer.from(chunk).toString())).toEqual(['next\n']);
  });
});
