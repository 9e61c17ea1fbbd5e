import { revokeGrantDeps, routeAuth } from '../shared/composition.js';
import { makeRevokeGrantHandler } from '../shared/http/routes/revoke-grant.js';

export const handler = makeRevokeGrantHandler({ ...routeAuth(), ...revokeGrantDeps() });
