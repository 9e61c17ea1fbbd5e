import { grantDeps, routeAuth } from '../shared/composition.js';
import { makeCreateGrantHandler } from '../shared/http/routes/create-grant.js';

export const handler = makeCreateGrantHandler({ ...routeAuth(), ...grantDeps() });
