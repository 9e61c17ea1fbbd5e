import { accessQuerySchema } from '../../domain/schemas.js';
import { whoHasAccess, type WhoHasAccessDeps } from '../../domain/who-has-access.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeGetAccessHandler = (deps: WhoHasAccessDeps & RouteAuth) =>
  createRoute(deps, { access: { anyOfGroups: [deps.securityGroup, deps.adminGroup] }, query: accessQuerySchema }, async ({ query, requestId }) =>
    json(200, await whoHasAccess(deps, query.profile), requestId),
  );
