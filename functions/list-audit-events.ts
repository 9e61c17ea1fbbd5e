import { auditQueryDeps, routeAuth } from '../shared/composition.js';
import { makeListAuditEventsHandler } from '../shared/http/routes/list-audit-events.js';

export const handler = makeListAuditEventsHandler({ ...routeAuth(), ...auditQueryDeps() });
