import { describeCaller } from '../../domain/describe-caller.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeMeHandler = (deps: Parameters<typeof describeCaller>[0] & RouteAuth) =>
  createRoute(deps, { access: 'caller' }, async ({ principal, requestId }) => json(200, await describeCaller(deps, principal), requestId));
