import { config, delegationStore, tokenVerifier } from '../shared/composition.js';
import { listGrants } from '../shared/domain/manage-grants.js';
import { listGrantsQuerySchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: delegationStore(), adminGroup: config().adminGroup };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: 'caller', query: listGrantsQuerySchema },
  async ({ principal, query, requestId }) => json(200, { grants: await listGrants(deps, principal, query) }, requestId),
);
