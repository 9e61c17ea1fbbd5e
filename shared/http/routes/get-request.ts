import { getRequest, type RequestDeps } from '../../domain/manage-requests.js';
import { requestPathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeGetRequestHandler = (deps: Pick<RequestDeps, 'store' | 'clock'> & RouteAuth) =>
  createRoute(
    deps,
    // The requester, the profile's approvers, security and admins; 404 to anyone else (the use case).
    { access: 'caller', path: requestPathSchema },
    async ({ principal, path, requestId }) => json(200, await getRequest(deps, principal, path.id), requestId),
  );
