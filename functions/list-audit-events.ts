import { randomIds, systemClock } from '../shared/adapters/system.js';
import { auditLog, config, tokenVerifier } from '../shared/composition.js';
import { exportAuditEvents } from '../shared/domain/export-audit.js';
import { listAuditEvents } from '../shared/domain/query-audit.js';
import { auditQuerySchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json, text } from '../shared/http/responses.js';

const deps = { audit: auditLog(), clock: systemClock, ids: randomIds };
const TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' } as const;

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup, config().adminGroup] }, query: auditQuerySchema },
  async ({ query: { format, limit, ...query }, principal, requestId, sourceIp, userAgent }) => {
    if (format === undefined || format === 'json') return json(200, await listAuditEvents(deps, { ...query, limit }), requestId);
    const exported = await exportAuditEvents(deps, principal, query, format, { requestId, sourceIp, userAgent });
    return text(200, exported.body, requestId, {
      'content-type': TYPES[format],
      'content-disposition': `attachment; filename="tvm-audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.${format}"`,
      'x-tvm-export-count': String(exported.count),
      ...(exported.nextCursor ? { 'x-tvm-next-cursor': exported.nextCursor } : {}),
    });
  },
);
