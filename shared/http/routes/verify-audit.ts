import { verifyQuerySchema } from '../../domain/schemas.js';
import { verifyAuditTrail, type VerifyDeps } from '../../domain/verify-audit.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeVerifyAuditHandler = (deps: VerifyDeps & RouteAuth) =>
  createRoute(deps, { access: { anyOfGroups: [deps.securityGroup, deps.adminGroup] }, query: verifyQuerySchema }, async ({ query, requestId }) =>
    json(200, await verifyAuditTrail(deps, query), requestId),
  );
