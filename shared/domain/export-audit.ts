// Exports of the audit trail (GET /audit/events?format=csv|ndjson): the whole filtered result, not
// a page, for a spreadsheet or a SIEM. An export is itself recorded, before any of it is returned.
import { adminEvent, type AuditEvent } from './audit.js';
import type { Principal, RequestMeta } from './model.js';
import type { AuditLog, AuditQuery, Clock, IdGenerator } from './ports.js';

/** At most this many events in one export (a Lambda response holds 6 MB); the rest by `nextCursor`. */
export const MAX_EXPORTED_EVENTS = 5_000;
const PAGE = 100;

export type ExportFormat = 'csv' | 'ndjson';

export interface AuditExport {
  readonly body: string;
  readonly count: number;
  /** More matched than one export holds: the next export starts at `nextCursor`. */
  readonly nextCursor?: string;
}

export interface ExportDeps {
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/**
 * 1. Read the filtered events, newest first, page after page, up to MAX_EXPORTED_EVENTS.
 * 2. Record `audit.exported` (who, the filters, the format, how many) before anything is returned:
 *    if it cannot be recorded, nothing leaves.
 * 3. Render: NDJSON, one event per line; or CSV with fixed columns (the rest of each event as JSON),
 *    every cell quoted, and a cell a spreadsheet would run as a formula (beginning with = + - @, a
 *    tab or a carriage return) prefixed with an apostrophe.
 */
export async function exportAuditEvents(
  deps: ExportDeps,
  principal: Principal,
  query: Omit<AuditQuery, 'limit'>,
  format: ExportFormat,
  meta: RequestMeta,
): Promise<AuditExport> {
  const events: AuditEvent[] = [];
  let cursor = query.cursor;
  do {
    const page = await deps.audit.query({ ...query, limit: Math.min(PAGE, MAX_EXPORTED_EVENTS - events.length), ...(cursor ? { cursor } : {}) });
    events.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor !== undefined && events.length < MAX_EXPORTED_EVENTS);
  const { cursor: _from, ...filters } = query;
  await deps.audit.append(
    adminEvent(deps.clock.now(), deps.ids.next(), 'audit.exported', principal, meta, {
      profiles: [query.profile ?? '*'],
      detail: { filters, format, count: events.length, ...(cursor ? { nextCursor: cursor } : {}) },
    }),
  );
  const body = format === 'ndjson' ? events.map((event) => `${JSON.stringify(event)}\n`).join('') : toCsv(events);
  return { body, count: events.length, ...(cursor ? { nextCursor: cursor } : {}) };
}

const COLUMNS = ['id', 'at', 'type', 'principal', 'profile', 'accessKeyId', 'requestId', 'sourceIp', 'userAgent'] as const;

function toCsv(events: readonly AuditEvent[]): string {
  const rows = events.map((event) => {
    const record = event as unknown as Record<string, unknown>;
    const rest = Object.fromEntries(Object.entries(record).filter(([name]) => !(COLUMNS as readonly string[]).includes(name)));
    return [...COLUMNS.map((name) => record[name]), JSON.stringify(rest)].map(cell).join(',');
  });
  return [[...COLUMNS, 'details'].map(cell).join(','), ...rows].map((row) => `${row}\r\n`).join('');
}

/** One CSV cell: quoted, quotes doubled, formula triggers neutralised (OWASP's CSV injection advice). */
export function cell(value: unknown): string {
  const text = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}
