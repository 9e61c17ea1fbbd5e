// Exports of the audit trail: the whole filtered result, recorded before it is
// returned, and CSV that no spreadsheet runs as formulas (the attack: a principal or user agent
// that begins with `=`, `+`, `-` or `@`, chosen by whoever made the request being exported).
import { jest } from '@jest/globals';
import { adminEvent, type AuditEvent } from '../../shared/domain/audit.js';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import { cell, exportAuditEvents, MAX_EXPORT_PAYLOAD_BYTES, MAX_EXPORTED_EVENTS } from '../../shared/domain/export-audit.js';
import { aPrincipal, FIXED_NOW } from '../fixtures/builders.js';
import { fixedClock, InMemoryAuditLog, sequentialIds } from '../fixtures/in-memory.js';
import { failureOf } from '../fixtures/failure.js';

const SECURITY = aPrincipal({ id: 'sec@example.com', groups: ['tvm-security'] });
const META = { requestId: 'req-export', sourceIp: '203.0.113.9' };

function anEvent(minute: number, principal: string, userAgent?: string): AuditEvent {
  const at = new Date(FIXED_NOW.getTime() - minute * 60_000);
  return adminEvent(at, `e${minute}`, 'profile.put', aPrincipal({ id: principal }), { requestId: `r${minute}`, ...(userAgent ? { userAgent } : {}) }, { profile: 'dev-readonly' });
}

async function setUp(events: AuditEvent[]) {
  const audit = new InMemoryAuditLog();
  for (const event of events) await audit.append(event);
  return { audit, deps: { audit, clock: fixedClock(FIXED_NOW), ids: sequentialIds('export') } };
}

it('exports every page of the filtered result, newest first, and records the export first', async () => {
  // Prepare: 250 events of one principal, more than a page, and one of another
  const { audit, deps } = await setUp([...Array.from({ length: 250 }, (_, i) => anEvent(i + 1, 'ann@example.com')), anEvent(300, 'bob@example.com')]);

  // Act
  const exported = await exportAuditEvents(deps, SECURITY, { principal: 'ann@example.com' }, 'ndjson', META);

  // Assess
  const lines = exported.body.trimEnd().split('\n').map((line) => JSON.parse(line) as AuditEvent);
  expect(exported.count).toBe(250);
  expect(lines).toHaveLength(250);
  expect(lines.every((event) => event.principal === 'ann@example.com')).toBe(true);
  expect((lines[0]?.id ?? '') > (lines[249]?.id ?? '')).toBe(true);
  expect(audit.eventsOfType('audit.exported')).toEqual([
    expect.objectContaining({ principal: 'sec@example.com', requestId: 'req-export', profiles: ['*'], detail: { filters: { principal: 'ann@example.com' }, format: 'ndjson', count: 250 } }),
  ]);
});

it('neutralises cells a spreadsheet would run as formulas, and quotes every cell', async () => {
  // Prepare: what the people being exported chose: their user agents, a principal id
  const { deps } = await setUp([
    anEvent(1, 'ann@example.com', '=HYPERLINK("http://evil.example","click")'),
    anEvent(2, 'ann@example.com', '+1+cmd|/C calc!A0'),
    anEvent(3, 'ann@example.com', '@SUM(1)'),
    anEvent(4, '-2+3@example.com'),
  ]);

  // Act
  const exported = await exportAuditEvents(deps, SECURITY, {}, 'csv', META);

  // Assess
  const lines = exported.body.split('\r\n');
  expect(lines[0]).toBe('"id","at","type","principal","profile","accessKeyId","requestId","sourceIp","userAgent","details"');
  expect(exported.body).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
  expect(exported.body).toContain(`"'+1+cmd|/C calc!A0"`);
  expect(exported.body).toContain(`"'@SUM(1)"`);
  expect(exported.body).toContain(`"'-2+3@example.com"`);
  expect(exported.body).not.toMatch(/(^|,)"[=+\-@]/m);
});

it.each([
  ['=1+1', `"'=1+1"`],
  ['  =1+1', `"'  =1+1"`],
  ['\u3000@SUM(1)', `"'\u3000@SUM(1)"`],
  ['\uFF1D1+1', `"'\uFF1D1+1"`],
  ['\n=1', `"'\n=1"`],
  ['a-b', '"a-b"'],
  ['a "quoted" word', '"a ""quoted"" word"'],
  ['\tTAB', `"'\tTAB"`],
  [undefined, '""'],
  [42, '"42"'],
])('renders the cell %j as %s', (value, expected) => {
  expect(cell(value)).toBe(expected);
});

it('stops at MAX_EXPORTED_EVENTS and says where the next export starts', async () => {
  // Prepare: an audit log with more than one export holds
  const { audit, deps } = await setUp([anEvent(1, 'ann@example.com')]);
  let served = 0;
  jest.spyOn(audit, 'query').mockImplementation(async (query) => {
    const events = Array.from({ length: query.limit }, (_, i) => anEvent(served + i + 1, 'ann@example.com'));
    served += query.limit;
    return { events, nextCursor: `cursor-${served}` };
  });

  // Act
  const exported = await exportAuditEvents(deps, SECURITY, {}, 'ndjson', META);

  // Assess
  expect(exported.count).toBe(MAX_EXPORTED_EVENTS);
  expect(exported.nextCursor).toBe(`cursor-${MAX_EXPORTED_EVENTS}`);
  expect((audit.eventsOfType('audit.exported')[0] as { detail?: unknown } | undefined)?.detail).toMatchObject({ count: MAX_EXPORTED_EVENTS, nextCursor: `cursor-${MAX_EXPORTED_EVENTS}` });
});

it('stops when a page moves the cursor nowhere (a partition padded with copies of one event id), instead of asking again until the Lambda times out', async () => {
  // Prepare: a trail whose pages, past the first, hold nothing and point back where they started
  const { audit, deps } = await setUp([anEvent(1, 'ann@example.com')]);
  let asked = 0;
  jest.spyOn(audit, 'query').mockImplementation(async (query) => {
    asked += 1;
    if (asked > 100) throw new Error('asked again and again for the same page');
    return query.cursor === undefined ? { events: [anEvent(1, 'ann@example.com')], nextCursor: 'stuck' } : { events: [], nextCursor: 'stuck' };
  });

  // Act
  const exported = await exportAuditEvents(deps, SECURITY, {}, 'ndjson', META);

  // Assess
  expect(asked).toBe(2);
  expect(exported.count).toBe(1);
  expect(exported.nextCursor).toBe('stuck');
  expect((audit.eventsOfType('audit.exported')[0] as { detail?: unknown } | undefined)?.detail).toMatchObject({ count: 1, nextCursor: 'stuck' });
});

// From the attack review: whoever made the calls chooses their user agents and error messages; an
// export of their calls must still fit a Lambda response (6 MB), however they chose them.
it('stops before the response would outgrow a Lambda answer, and says where the next export starts', async () => {
  // Prepare: 3,000 events whose user agents are 512 double quotes (doubled in CSV, then escaped)
  const hostile = Array.from({ length: 3_000 }, (_, i) => anEvent(i + 1, 'ann@example.com', '"'.repeat(512)));
  const { audit, deps } = await setUp(hostile);

  // Act
  const exported = await exportAuditEvents(deps, SECURITY, {}, 'csv', META);

  // Assess
  expect(new TextEncoder().encode(JSON.stringify(exported.body)).length).toBeLessThanOrEqual(MAX_EXPORT_PAYLOAD_BYTES + 2);
  expect(exported.count).toBeGreaterThan(100);
  expect(exported.count).toBeLessThan(3_000);
  const lastRow = exported.body.trimEnd().split('\r\n').at(-1) ?? '';
  expect(lastRow.startsWith(`"${exported.nextCursor ?? 'none'}"`)).toBe(true);
  expect((audit.eventsOfType('audit.exported')[0] as { detail?: unknown } | undefined)?.detail).toMatchObject({ count: exported.count, nextCursor: exported.nextCursor });
});

it('returns nothing when the export cannot be recorded', async () => {
  // Prepare
  const { audit, deps } = await setUp([anEvent(1, 'ann@example.com')]);
  audit.failAppends = true;

  // Act
  const error = await failureOf(exportAuditEvents(deps, SECURITY, {}, 'csv', META));

  // Assess
  expect(error).toBeInstanceOf(AuditUnavailableError);
});
