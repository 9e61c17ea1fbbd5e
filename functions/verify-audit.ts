import { routeAuth, verifyDeps } from '../shared/composition.js';
import { makeVerifyAuditHandler } from '../shared/http/routes/verify-audit.js';

export const handler = makeVerifyAuditHandler({ ...routeAuth(), ...verifyDeps() });
