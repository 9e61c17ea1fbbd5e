import { routeAuth, vendDeps } from '../shared/composition.js';
import { makeVendCredentialsHandler } from '../shared/http/routes/vend-credentials.js';

export const handler = makeVendCredentialsHandler({ ...routeAuth(), ...vendDeps() });
