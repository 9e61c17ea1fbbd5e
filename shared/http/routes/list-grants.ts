import { listGrants, type GrantDeps } from '../../domain/manage-grants.js';
import { listGrantsQuerySchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeListGrantsHandler = (deps: Pick<GrantDeps, 'store'> & RouteAuth) =>
  createRoute(deps, { access: 'caller', query: listGrantsQuerySchema }, async ({ principal, query, requestId }) =>
    json(200, { grants: await listGrants(deps, principal, query) }, requestId),
  );
