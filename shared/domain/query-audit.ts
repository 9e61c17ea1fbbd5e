// Paged reads of the audit trail for the security team: its events, and the alerts among them.
import type { AlertRaisedEvent } from './audit.js';
import type { AuditLog, AuditPage, AuditQuery, Clock } from './ports.js';
import type { AlertsQuery } from './schemas.js';

/** GET /audit/events: newest first, one page at a time (the adapter picks the key or index). */
export function listAuditEvents(deps: { readonly audit: AuditLog }, query: AuditQuery): Promise<AuditPage> {
  return deps.audit.query(query);
}

/** How far back GET /alerts looks when the caller names no `since`. */
export const DEFAULT_ALERTS_LOOKBACK_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Pages of `alert.raised` read to fill one filtered page. A rare rule among many alerts ends the
 * request early with a cursor rather than reading the whole window in one request.
 */
export const MAX_ALERT_PAGES_PER_REQUEST = 10;

export interface AlertsPage {
  readonly alerts: AlertRaisedEvent[];
  readonly nextCursor?: string;
}

/**
 * GET /alerts:
 * 1. Read `alert.raised` events since `since` (default: the last 7 days), newest first.
 * 2. Without a rule, that page is the answer.
 * 3. With a rule, the audit trail has no index on it: keep the matching alerts and read on until
 *    the page is full, the trail is exhausted, or MAX_ALERT_PAGES_PER_REQUEST pages were read. The
 *    cursor then resumes right after the last alert returned (or the last page read), so a short
 *    page with a cursor hides nothing.
 */
export async function listAlerts(deps: { readonly audit: AuditLog; readonly clock: Clock }, query: AlertsQuery): Promise<AlertsPage> {
  const since = query.since ?? new Date(deps.clock.now().getTime() - DEFAULT_ALERTS_LOOKBACK_MS).toISOString();
  const read = (cursor: string | undefined) =>
    deps.audit.query({ type: 'alert.raised', from: since, limit: query.limit, ...(cursor ? { cursor } : {}) });

  const alerts: AlertRaisedEvent[] = [];
  let cursor = query.cursor;
  for (let pages = 0; pages < MAX_ALERT_PAGES_PER_REQUEST; pages++) {
    const page = await read(cursor);
    const raised = page.events.filter((event): event is AlertRaisedEvent => event.type === 'alert.raised');
    for (const [index, alert] of raised.entries()) {
      if (query.rule !== undefined && alert.rule !== query.rule) continue;
      alerts.push(alert);
      if (alerts.length === query.limit) {
        // Event ids sort by time and a cursor is "older than this id", so the last one returned resumes exactly.
        const more = index < raised.length - 1 || page.nextCursor !== undefined;
        return { alerts, ...(more ? { nextCursor: alert.id } : {}) };
      }
    }
    if (page.nextCursor === undefined) return { alerts };
    cursor = page.nextCursor;
  }
  return { alerts, ...(cursor ? { nextCursor: cursor } : {}) };
}
