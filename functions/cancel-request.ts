import { requestDeps, tokenVerifier } from '../shared/composition.js';
import { cancelRequest } from '../shared/domain/manage-requests.js';
import { requestCommentSchema, requestPathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = requestDeps();

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // The requester only (checked by the use case).
  { access: 'caller', path: requestPathSchema, body: requestCommentSchema },
  async ({ principal, path, body, requestId, sourceIp, userAgent }) =>
    json(200, await cancelRequest(deps, principal, path.id, body.comment, { requestId, sourceIp, userAgent }), requestId),
);
