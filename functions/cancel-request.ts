import { requestDeps, routeAuth } from '../shared/composition.js';
import { makeCancelRequestHandler } from '../shared/http/routes/cancel-request.js';

export const handler = makeCancelRequestHandler({ ...routeAuth(), ...requestDeps() });
