import { activateLockdown, type ActivateLockdownDeps } from '../../domain/manage-lockdown.js';
import { lockdownInputSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makePutLockdownHandler = (deps: ActivateLockdownDeps & RouteAuth) =>
  createRoute(
    deps,
    { access: { anyOfGroups: [deps.securityGroup] }, body: lockdownInputSchema },
    async ({ principal, body, requestId, meta }) =>
      json(200, await activateLockdown(deps, principal, body, meta), requestId),
  );
