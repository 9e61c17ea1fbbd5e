import { requestDeps, tokenVerifier } from '../shared/composition.js';
import { createRequest } from '../shared/domain/manage-requests.js';
import { accessRequestInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = requestDeps();

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // Anyone may ask; the profile decides whether it takes requests (checked by the use case).
  { access: 'caller', body: accessRequestInputSchema },
  async ({ principal, body, requestId, sourceIp, userAgent }) =>
    json(201, await createRequest(deps, principal, body, { requestId, sourceIp, userAgent }), requestId),
);
