import { listEngagements, type EngagementDeps } from '../../domain/manage-engagements.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeListEngagementsHandler = (deps: Pick<EngagementDeps, 'engagements'> & RouteAuth) =>
  createRoute(
    deps,
    // Each caller sees what the use case lets them (admins and security everything).
    { access: 'caller' },
    async ({ principal, requestId }) => json(200, { engagements: await listEngagements(deps, principal) }, requestId),
  );
