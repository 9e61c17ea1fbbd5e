import { getEngagement, type EngagementDeps } from '../../domain/manage-engagements.js';
import { engagementPathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeGetEngagementHandler = (deps: Pick<EngagementDeps, 'engagements'> & RouteAuth) =>
  createRoute(
    deps,
    // Its owner, contractors and new owners, admins and security (checked by the use case).
    { access: 'caller', path: engagementPathSchema },
    async ({ principal, path, requestId }) => json(200, await getEngagement(deps, principal, path.id), requestId),
  );
