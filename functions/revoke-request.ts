import { cutOffAdapters, requestDeps, routeAuth } from '../shared/composition.js';
import { makeRevokeRequestHandler } from '../shared/http/routes/revoke-request.js';

export const handler = makeRevokeRequestHandler({ ...routeAuth(), ...requestDeps(), ...cutOffAdapters() });
