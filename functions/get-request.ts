import { config, requestStore, tokenVerifier } from '../shared/composition.js';
import { systemClock } from '../shared/adapters/system.js';
import { getRequest } from '../shared/domain/manage-requests.js';
import { requestPathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: requestStore(), clock: systemClock, adminGroup: config().adminGroup, securityGroup: config().securityGroup };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // The requester, the profile's approvers, security and admins; 404 to anyone else (the use case).
  { access: 'caller', path: requestPathSchema },
  async ({ principal, path, requestId }) => json(200, await getRequest(deps, principal, path.id), requestId),
);
