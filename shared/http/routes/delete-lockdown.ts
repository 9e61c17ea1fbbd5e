import { liftLockdown, type LockdownDeps } from '../../domain/manage-lockdown.js';
import { lockdownLiftInputSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeDeleteLockdownHandler = (deps: LockdownDeps & RouteAuth) =>
  createRoute(
    deps,
    { access: { anyOfGroups: [deps.securityGroup] }, body: lockdownLiftInputSchema },
    async ({ principal, body, requestId, meta }) =>
      json(200, await liftLockdown(deps, principal, body, meta), requestId),
  );
