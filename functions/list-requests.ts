import { config, requestStore, tokenVerifier } from '../shared/composition.js';
import { systemClock } from '../shared/adapters/system.js';
import { listRequests } from '../shared/domain/manage-requests.js';
import { listRequestsQuerySchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: requestStore(), clock: systemClock, adminGroup: config().adminGroup, securityGroup: config().securityGroup };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // Each caller sees their own, what they may decide, or (security, admins) everything.
  { access: 'caller', query: listRequestsQuerySchema },
  async ({ principal, query, requestId }) => json(200, await listRequests(deps, principal, query), requestId),
);
