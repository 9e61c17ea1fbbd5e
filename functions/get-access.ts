import { systemClock } from '../shared/adapters/system.js';
import { auditLog, config, delegationStore, tokenVerifier } from '../shared/composition.js';
import { accessQuerySchema } from '../shared/domain/schemas.js';
import { whoHasAccess } from '../shared/domain/who-has-access.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: delegationStore(), audit: auditLog(), clock: systemClock };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup, config().adminGroup] }, query: accessQuerySchema },
  async ({ query, requestId }) => json(200, await whoHasAccess(deps, query.profile), requestId),
);
