import { getLockdownStatus } from '../../domain/manage-lockdown.js';
import type { LockdownStore } from '../../domain/ports.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeGetLockdownHandler = (deps: { readonly lockdown: LockdownStore } & RouteAuth) => {
  const status = { lockdown: deps.lockdown, privilegedGroups: [deps.securityGroup, deps.adminGroup] };
  return createRoute(deps, { access: 'caller' }, async ({ principal, requestId }) => json(200, await getLockdownStatus(status, principal), requestId));
};
