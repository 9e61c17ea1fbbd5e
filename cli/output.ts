// How commands print: tables and "key: value" lines for people, --json for scripts, and a spinner
// on stderr only when a person is watching (stderr is a terminal), so pipes and stdout stay clean.
import { writeSync } from 'node:fs';

export interface Output {
  write(chunk: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
}

export interface Column<Row> {
  readonly key: string;
  readonly header: string;
  readonly format?: (value: unknown, row: Row) => string;
}

/**
 * Writes straight to a file descriptor: reading process.stdout makes Node build a stream (~3 ms of
 * CPU), a quarter of what a cached `credential_process` call may add to Node's start-up. The same
 * blocking writes Node makes to files, and on Linux to pipes and terminals.
 */
export function fileDescriptorOutput(fd: number, fallback: () => Output, readerGone: () => never = () => process.exit(process.exitCode ?? 0)): Output {
  let stream: Output | undefined;
  return {
    write(chunk) {
      if (stream) return stream.write(chunk);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let written = 0;
      try {
        while (written < bytes.length) written += writeSync(fd, bytes, written);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // The reader is gone (`tvm … | head`): not a failure, and nothing more to do.
        if (code === 'EPIPE') readerGone();
        if (code !== 'EAGAIN') throw error;
        // A non-blocking descriptor that is full: Node's stream waits for it to drain, for this
        // write and, to keep their order, every later one.
        stream = fallback();
        return stream.write(bytes.subarray(written));
      }
      return true;
    },
  };
}

export function printJson(stdout: Output, value: unknown): void {
  stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Aligned columns under a header row; `(none)` when there are no rows. */
export function printTable<Row extends object>(stdout: Output, rows: readonly Row[], columns: readonly Column<Row>[]): void {
  if (rows.length === 0) {
    stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((row) => columns.map((column) => cell(row, column)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => (line[i] ?? '').length)));
  const render = (line: readonly string[]) =>
    line
      .map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd() + '\n';
  stdout.write(render(columns.map((column) => column.header)));
  for (const line of cells) stdout.write(render(line));
}

/** One object as `key: value` lines, keys aligned. Fields without a value are left out. */
export function printFields<Row extends object>(stdout: Output, record: Row, fields: readonly Column<Row>[]): void {
  const shown = fields.filter((field) => valueAt(record, field.key) !== undefined);
  const width = Math.max(0, ...shown.map((field) => field.header.length + 1));
  for (const field of shown) stdout.write(`${(field.header + ':').padEnd(width)} ${cell(record, field)}\n`);
}

function cell<Row extends object>(row: Row, column: Column<Row>): string {
  const value = valueAt(row, column.key);
  return column.format ? oneLine(column.format(value, row)) : formatValue(value);
}

function valueAt(row: object, key: string): unknown {
  return (row as Record<string, unknown>)[key];
}

/** A cell's text: strings as they are, lists comma-separated, objects as compact JSON, nothing as '-'. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'string') return oneLine(value);
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(formatValue).join(', ');
  if (typeof value === 'object') return oneLine(JSON.stringify(value));
  return String(value);
}

/** Keeps a table a table: a value never breaks a line or carries terminal escapes. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

const SPINNER_DELAY_MS = 300;
const SPINNER_FRAME_MS = 80;
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Shows `⠋ label…` on stderr while `work` runs longer than ~300 ms, only when stderr is a terminal,
 * and clears the line when it settles. Returns what `work` returns (or throws what it throws).
 */
export async function withProgress<T>(stderr: Output, label: string, work: Promise<T>): Promise<T> {
  if (!stderr.isTTY) return work;
  let frame = 0;
  let shown = false;
  let spin: NodeJS.Timeout | undefined;
  const draw = () => {
    shown = true;
    stderr.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label}…`);
  };
  const start = setTimeout(() => {
    draw();
    spin = setInterval(draw, SPINNER_FRAME_MS);
  }, SPINNER_DELAY_MS);
  try {
    return await work;
  } finally {
    clearTimeout(start);
    if (spin) clearInterval(spin);
    if (shown) stderr.write('\r\x1b[2K');
  }
}
