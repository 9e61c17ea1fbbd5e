import { createEngagement, type EngagementDeps } from '../../domain/manage-engagements.js';
import { engagementInputSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeCreateEngagementHandler = (deps: EngagementDeps & RouteAuth) =>
  createRoute(
    deps,
    // Admins, and owners within their own delegable grants (checked by the use case).
    { access: 'caller', body: engagementInputSchema },
    async ({ principal, body, requestId, meta }) =>
      json(201, await createEngagement(deps, principal, body, meta), requestId),
  );
