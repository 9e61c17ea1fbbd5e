import { requestDeps, routeAuth } from '../shared/composition.js';
import { makeApproveRequestHandler } from '../shared/http/routes/approve-request.js';

export const handler = makeApproveRequestHandler({ ...routeAuth(), ...requestDeps() });
