import { systemClock } from '../shared/adapters/system.js';
import { auditLog, config, tokenVerifier } from '../shared/composition.js';
import { listAlerts } from '../shared/domain/query-audit.js';
import { alertsQuerySchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { audit: auditLog(), clock: systemClock };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup, config().adminGroup] }, query: alertsQuerySchema },
  async ({ query, requestId }) => json(200, await listAlerts(deps, query), requestId),
);
