import { auditQueryDeps, routeAuth } from '../shared/composition.js';
import { makeGetAccessHandler } from '../shared/http/routes/get-access.js';

export const handler = makeGetAccessHandler({ ...routeAuth(), ...auditQueryDeps() });
