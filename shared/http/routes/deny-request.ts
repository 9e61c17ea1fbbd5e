import { denyRequest, type RequestDeps } from '../../domain/manage-requests.js';
import { denyInputSchema, requestPathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeDenyRequestHandler = (deps: RequestDeps & RouteAuth) =>
  createRoute(
    deps,
    // An approver of the profile other than the requester (checked by the use case).
    { access: 'caller', path: requestPathSchema, body: denyInputSchema },
    async ({ principal, path, body, requestId, meta }) =>
      json(200, await denyRequest(deps, principal, path.id, body.comment, meta), requestId),
  );
