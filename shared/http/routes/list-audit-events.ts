import { exportAuditEvents, type ExportDeps } from '../../domain/export-audit.js';
import { listAuditEvents } from '../../domain/query-audit.js';
import { auditQuerySchema } from '../../domain/schemas.js';
import { json, text } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

const TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' } as const;

export const makeListAuditEventsHandler = (deps: ExportDeps & RouteAuth) =>
  createRoute(
    deps,
    { access: { anyOfGroups: [deps.securityGroup, deps.adminGroup] }, query: auditQuerySchema },
    async ({ query: { format, limit, ...query }, principal, requestId, meta }) => {
      if (format === undefined || format === 'json') return json(200, await listAuditEvents(deps, { ...query, limit }), requestId);
      const exported = await exportAuditEvents(deps, principal, query, format, meta);
      return text(200, exported.body, requestId, {
        'content-type': TYPES[format],
        'content-disposition': `attachment; filename="tvm-audit-${deps.clock.now().toISOString().slice(0, 19).replace(/:/g, '')}.${format}"`,
        'x-tvm-export-count': String(exported.count),
        ...(exported.nextCursor ? { 'x-tvm-next-cursor': exported.nextCursor } : {}),
      });
    },
  );
