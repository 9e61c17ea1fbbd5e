import { listAlerts } from '../../domain/query-audit.js';
import { alertsQuerySchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeListAlertsHandler = (deps: Parameters<typeof listAlerts>[0] & RouteAuth) =>
  createRoute(deps, { access: { anyOfGroups: [deps.securityGroup, deps.adminGroup] }, query: alertsQuerySchema }, async ({ query, requestId }) =>
    json(200, await listAlerts(deps, query), requestId),
  );
