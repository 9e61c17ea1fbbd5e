import { requestDeps, routeAuth } from '../shared/composition.js';
import { makeDenyRequestHandler } from '../shared/http/routes/deny-request.js';

export const handler = makeDenyRequestHandler({ ...routeAuth(), ...requestDeps() });
