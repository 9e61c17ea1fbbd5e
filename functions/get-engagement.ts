import { config, engagementStore, tokenVerifier } from '../shared/composition.js';
import { getEngagement } from '../shared/domain/manage-engagements.js';
import { engagementPathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { engagements: engagementStore(), adminGroup: config().adminGroup, securityGroup: config().securityGroup };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // Its owner, contractors and new owners, admins and security (checked by the use case).
  { access: 'caller', path: engagementPathSchema },
  async ({ principal, path, requestId }) => json(200, await getEngagement(deps, principal, path.id), requestId),
);
