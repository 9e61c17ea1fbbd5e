import { requestDeps, tokenVerifier } from '../shared/composition.js';
import { approveRequest } from '../shared/domain/manage-requests.js';
import { requestCommentSchema, requestPathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = requestDeps();

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // An approver of the profile other than the requester (checked by the use case).
  { access: 'caller', path: requestPathSchema, body: requestCommentSchema },
  async ({ principal, path, body, requestId, sourceIp, userAgent }) =>
    json(200, await approveRequest(deps, principal, path.id, body.comment, { requestId, sourceIp, userAgent }), requestId),
);
