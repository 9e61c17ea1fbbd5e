import { revokeGrant, type RevokeGrantDeps } from '../../domain/manage-grants.js';
import { grantPathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeRevokeGrantHandler = (deps: RevokeGrantDeps & RouteAuth) =>
  createRoute(
    deps,
    // Admins, the grant's creator, the holder of its parent grant, or its holder (checked by the use case).
    { access: 'caller', path: grantPathSchema },
    async ({ principal, path, requestId, meta }) =>
      json(200, await revokeGrant(deps, principal, path.id, meta), requestId),
  );
