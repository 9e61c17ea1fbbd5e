// How the CLI prints for people: aligned tables, "key: value" fields, and a spinner that only a
// terminal ever sees.
import { jest } from '@jest/globals';
import { formatValue, printFields, printJson, printTable, withProgress } from '../../cli/output.js';

function capture(isTTY = false) {
  const chunks: string[] = [];
  return { out: { isTTY, write: (chunk: string | Uint8Array) => chunks.push(String(chunk)) }, text: () => chunks.join(''), chunks };
}

describe('printTable', () => {
  it('aligns columns under a header, formatting values', () => {
    // Prepare
    const { out, text } = capture();
    const rows = [
      { id: 'g-1', profile: 'demo-readonly', groups: ['a', 'b'], ttl: 900 },
      { id: 'grant-22', profile: 'x', groups: [], ttl: undefined },
    ];

    // Act
    printTable(out, rows, [
      { key: 'id', header: 'ID' },
      { key: 'profile', header: 'PROFILE' },
      { key: 'groups', header: 'GROUPS' },
      { key: 'ttl', header: 'TTL', format: (value) => (value === undefined ? 'default' : `${String(value)}s`) },
    ]);

    // Assess
    expect(text()).toBe(
      ['ID        PROFILE        GROUPS  TTL', 'g-1       demo-readonly  a, b    900s', 'grant-22  x              -       default', ''].join('\n'),
    );
  });

  it('prints (none) for no rows', () => {
    // Prepare
    const { out, text } = capture();

    // Act
    printTable(out, [], [{ key: 'id', header: 'ID' }]);

    // Assess
    expect(text()).toBe('(none)\n');
  });

  it('keeps one row on one line whatever a value holds', () => {
    // Prepare
    const { out, text } = capture();

    // Act
    printTable(out, [{ reason: 'line one\nline two\u001b[31m', scope: { actions: ['s3:*'] } }], [
      { key: 'reason', header: 'REASON' },
      { key: 'scope', header: 'SCOPE' },
    ]);

    // Assess
    expect(text().split('\n')).toHaveLength(3);
    expect(text()).toContain('line one line two [31m  {"actions":["s3:*"]}');
  });
});

describe('printFields and printJson', () => {
  it('prints present fields as aligned "key: value" lines', () => {
    // Prepare
    const { out, text } = capture();

    // Act
    printFields(out, { principal: 'alice', groups: ['eng'], absent: undefined }, [
      { key: 'principal', header: 'principal' },
      { key: 'groups', header: 'groups' },
      { key: 'absent', header: 'absent' },
    ]);

    // Assess
    expect(text()).toBe('principal: alice\ngroups:    eng\n');
  });

  it('prints indented JSON with a final newline', () => {
    // Prepare
    const { out, text } = capture();

    // Act
    printJson(out, { a: [1] });

    // Assess
    expect(text()).toBe('{\n  "a": [\n    1\n  ]\n}\n');
  });

  it('formats booleans and numbers as text and nothing as -', () => {
    // Act / Assess
    expect([formatValue(true), formatValue(0), formatValue(null), formatValue('')]).toEqual(['true', '0', '-', '-']);
  });
});

describe('withProgress', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('draws a spinner on a terminal after 300 ms and clears it when the work settles', async () => {
    // Prepare
    const { out, chunks } = capture(true);
    let finish: (value: string) => void = () => undefined;
    const work = new Promise<string>((resolve) => (finish = resolve));

    // Act
    const result = withProgress(out, 'GET /me', work);
    jest.advanceTimersByTime(299);
    const before = chunks.length;
    jest.advanceTimersByTime(200);
    finish('done');

    // Assess
    await expect(result).resolves.toBe('done');
    expect(before).toBe(0);
    expect(chunks.join('')).toContain('GET /me…');
    expect(chunks.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes nothing when the work is quick', async () => {
    // Prepare
    const { out, chunks } = capture(true);

    // Act
    await withProgress(out, 'GET /me', Promise.resolve(1));
    jest.advanceTimersByTime(1000);

    // Assess
    expect(chunks).toEqual([]);
  });

  it('writes nothing when stderr is not a terminal, and passes the failure through', async () => {
    // Prepare
    const { out, chunks } = capture(false);
    const work = new Promise((_resolve, reject) => setTimeout(() => reject(new Error('boom')), 1000));

    // Act
    const result = withProgress(out, 'GET /me', work);
    jest.advanceTimersByTime(1000);

    // Assess
    await expect(result).rejects.toThrow('boom');
    expect(chunks).toEqual([]);
  });
});
