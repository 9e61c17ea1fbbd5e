import { cancelRequest, type RequestDeps } from '../../domain/manage-requests.js';
import { requestCommentSchema, requestPathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeCancelRequestHandler = (deps: RequestDeps & RouteAuth) =>
  createRoute(
    deps,
    // The requester only (checked by the use case).
    { access: 'caller', path: requestPathSchema, body: requestCommentSchema },
    async ({ principal, path, body, requestId, meta }) =>
      json(200, await cancelRequest(deps, principal, path.id, body.comment, meta), requestId),
  );
