import { requestDeps, routeAuth } from '../shared/composition.js';
import { makeCreateRequestHandler } from '../shared/http/routes/create-request.js';

export const handler = makeCreateRequestHandler({ ...routeAuth(), ...requestDeps() });
