// Exports of the audit trail (GET /audit/events?format=csv|ndjson): the whole filtered result, not
// a page, for a spreadsheet or a SIEM. An export is itself recorded, before any of it is returned.
import { adminEvent, type AuditEvent } from './audit.js';
import type { Principal, RequestMeta } from './model.js';
import type { AuditLog, AuditQuery, Clock, IdGenerator } from './ports.js';

/** At most this many events in one export; the rest by `nextCursor`. */
export const MAX_EXPORTED_EVENTS = 5_000;
/**
 * At most this many bytes of body, as the Lambda response carries it (JSON-escaped: a CSV of
 * quotes doubles, then escapes, each one), within the 6 MB a response may hold. Whoever made the
 * calls chooses their user agents and error messages: the cap is on bytes, not only on events.
 */
export const MAX_EXPORT_PAYLOAD_BYTES = 4_500_000;
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
 * 1. Read the filtered events, newest first, page after page, up to MAX_EXPORTED_EVENTS and
 *    MAX_EXPORT_PAYLOAD_BYTES of rendered body; past either, the rest starts at `nextCursor` (the
 *    last event exported).
 * 2. Record `audit.exported` (who, the filters, the format, how many) before anything is returned:
 *    if it cannot be recorded, nothing leaves.
 * 3. Render: NDJSON, one event per line; or CSV with fixed columns (the rest of each event as JSON),
 *    every cell quoted, and a cell a spreadsheet would run as a formula prefixed with an apostrophe
 *    (see `cell`).
 */
export async function exportAuditEvents(
  deps: ExportDeps,
  principal: Principal,
  query: Omit<AuditQuery, 'limit'>,
  format: ExportFormat,
  meta: RequestMeta,
): Promise<AuditExport> {
  const render = format === 'ndjson' ? (event: AuditEvent) => `${JSON.stringify(event)}\n` : csvRow;
  const lines: string[] = format === 'csv' ? [CSV_HEADER] : [];
  let bytes = lines.reduce((sum, line) => sum + payloadBytes(line), 0);
  let count = 0;
  let cursor = query.cursor;
  let full = false;
  while (!full && count < MAX_EXPORTED_EVENTS) {
    const page = await deps.audit.query({ ...query, limit: Math.min(PAGE, MAX_EXPORTED_EVENTS - count), ...(cursor ? { cursor } : {}) });
    for (const event of page.events) {
      const line = render(event);
      if (bytes + payloadBytes(line) > MAX_EXPORT_PAYLOAD_BYTES) {
        full = true;
        break;
      }
      lines.push(line);
      bytes += payloadBytes(line);
      count++;
      cursor = event.id;
    }
    // Past the byte cap the next export starts after the last event exported; otherwise where the page says.
    const asked = cursor;
    if (!full) cursor = page.nextCursor;
    if (cursor === undefined) break;
    // A page that found nothing and points back where it started would be asked for forever.
    if (page.events.length === 0 && cursor === asked) break;
  }
  const { cursor: _from, ...filters } = query;
  await deps.audit.append(
    adminEvent(deps.clock.now(), deps.ids.next(), 'audit.exported', principal, meta, {
      profiles: [query.profile ?? '*'],
      detail: { filters, format, count, ...(cursor ? { nextCursor: cursor } : {}) },
    }),
  );
  return { body: lines.join(''), count, ...(cursor ? { nextCursor: cursor } : {}) };
}

/** What a line costs in the Lambda response: UTF-8 bytes once JSON-escaped. */
function payloadBytes(line: string): number {
  return new TextEncoder().encode(JSON.stringify(line)).length - 2;
}

const COLUMNS = ['id', 'at', 'type', 'principal', 'profile', 'accessKeyId', 'requestId', 'sourceIp', 'userAgent'] as const;
const CSV_HEADER = `${[...COLUMNS, 'details'].map(cell).join(',')}\r\n`;

function csvRow(event: AuditEvent): string {
  const record = event as unknown as Record<string, unknown>;
  const rest = Object.fromEntries(Object.entries(record).filter(([name]) => !(COLUMNS as readonly string[]).includes(name)));
  return `${[...COLUMNS.map((name) => record[name]), JSON.stringify(rest)].map(cell).join(',')}\r\n`;
}

/**
 * One CSV cell: quoted, quotes doubled, formula triggers neutralised (OWASP's CSV injection advice):
 * a cell whose first visible character is = + - @ (or their full-width forms), or that begins with
 * a tab, carriage return or line feed, gets an apostrophe first.
 */
export function cell(value: unknown): string {
  const text = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  const safe = /^[\t\r\n]|^[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]/u.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}
