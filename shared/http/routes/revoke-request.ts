import { revokeRequest, type RevokeRequestDeps } from '../../domain/manage-requests.js';
import { requestCommentSchema, requestPathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeRevokeRequestHandler = (deps: RevokeRequestDeps & RouteAuth) =>
  createRoute(
    deps,
    // The requester, an approver of the profile or an admin (checked by the use case).
    { access: 'caller', path: requestPathSchema, body: requestCommentSchema },
    async ({ principal, path, body, requestId, meta }) =>
      json(200, await revokeRequest(deps, principal, path.id, body.comment, meta), requestId),
  );
