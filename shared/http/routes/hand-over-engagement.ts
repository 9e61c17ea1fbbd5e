import { handOverEngagement, type HandoverDeps } from '../../domain/manage-engagements.js';
import { engagementPathSchema, handoverInputSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeHandOverEngagementHandler = (deps: HandoverDeps & RouteAuth) =>
  createRoute(
    deps,
    // The owner or an admin (checked by the use case).
    { access: 'caller', path: engagementPathSchema, body: handoverInputSchema },
    async ({ principal, path, body, requestId, meta }) =>
      json(200, await handOverEngagement(deps, principal, path.id, body, meta), requestId),
  );
