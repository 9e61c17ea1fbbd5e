import { createRequest, type RequestDeps } from '../../domain/manage-requests.js';
import { accessRequestInputSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeCreateRequestHandler = (deps: RequestDeps & RouteAuth) =>
  createRoute(
    deps,
    // Anyone may ask; the profile decides whether it takes requests (checked by the use case).
    { access: 'caller', body: accessRequestInputSchema },
    async ({ principal, body, requestId, meta }) =>
      json(201, await createRequest(deps, principal, body, meta), requestId),
  );
