import { randomIds, systemClock } from '../shared/adapters/system.js';
import { config, delegationStore, tokenVerifier } from '../shared/composition.js';
import { createGrant } from '../shared/domain/manage-grants.js';
import { grantInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: delegationStore(), clock: systemClock, ids: randomIds };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().adminGroup] }, body: grantInputSchema },
  async ({ principal, body, requestId, sourceIp, userAgent }) =>
    json(201, await createGrant(deps, principal, body, { requestId, sourceIp, userAgent }), requestId),
);
