import { createGrant, type GrantDeps } from '../../domain/manage-grants.js';
import { grantInputSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeCreateGrantHandler = (deps: GrantDeps & RouteAuth) =>
  createRoute(
    deps,
    // Admins, and delegators within their own grants (checked by the use case).
    { access: 'caller', body: grantInputSchema },
    async ({ principal, body, requestId, meta }) =>
      json(201, await createGrant(deps, principal, body, meta), requestId),
  );
