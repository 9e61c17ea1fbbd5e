import { auditQueryDeps, routeAuth } from '../shared/composition.js';
import { makeListAlertsHandler } from '../shared/http/routes/list-alerts.js';

export const handler = makeListAlertsHandler({ ...routeAuth(), ...auditQueryDeps() });
