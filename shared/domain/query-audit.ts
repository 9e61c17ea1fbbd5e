import type { AuditLog, AuditPage, AuditQuery } from './ports.js';

/** GET /audit/events: newest first, one page at a time. */
export function listAuditEvents(deps: { readonly audit: AuditLog }, query: AuditQuery): Promise<AuditPage> {
  return deps.audit.query(query);
}
