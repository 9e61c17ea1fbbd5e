import { auditQueryDeps, routeAuth } from '../shared/composition.js';
import { makeGetKeyTraceHandler } from '../shared/http/routes/get-key-trace.js';

export const handler = makeGetKeyTraceHandler({ ...routeAuth(), ...auditQueryDeps() });
