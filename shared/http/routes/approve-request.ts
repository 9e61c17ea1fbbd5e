import { approveRequest, type RequestDeps } from '../../domain/manage-requests.js';
import { requestCommentSchema, requestPathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeApproveRequestHandler = (deps: RequestDeps & RouteAuth) =>
  createRoute(
    deps,
    // An approver of the profile other than the requester (checked by the use case).
    { access: 'caller', path: requestPathSchema, body: requestCommentSchema },
    async ({ principal, path, body, requestId, meta }) =>
      json(200, await approveRequest(deps, principal, path.id, body.comment, meta), requestId),
  );
