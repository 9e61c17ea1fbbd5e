import { listRequests, type RequestDeps } from '../../domain/manage-requests.js';
import { listRequestsQuerySchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeListRequestsHandler = (deps: Pick<RequestDeps, 'store' | 'clock'> & RouteAuth) =>
  createRoute(
    deps,
    // Each caller sees their own, what they may decide, or (security, admins) everything.
    { access: 'caller', query: listRequestsQuerySchema },
    async ({ principal, query, requestId }) => json(200, await listRequests(deps, principal, query), requestId),
  );
