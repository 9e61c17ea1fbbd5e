import { auditLog, config, tokenVerifier } from '../shared/composition.js';
import { listAuditEvents } from '../shared/domain/query-audit.js';
import { auditQuerySchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { audit: auditLog() };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup, config().adminGroup] }, query: auditQuerySchema },
  async ({ query, requestId }) => json(200, await listAuditEvents(deps, query), requestId),
);
