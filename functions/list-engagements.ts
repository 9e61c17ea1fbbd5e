import { config, engagementStore, tokenVerifier } from '../shared/composition.js';
import { listEngagements } from '../shared/domain/manage-engagements.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { engagements: engagementStore(), adminGroup: config().adminGroup, securityGroup: config().securityGroup };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // Each caller sees what the use case lets them (admins and security everything).
  { access: 'caller' },
  async ({ principal, requestId }) => json(200, { engagements: await listEngagements(deps, principal) }, requestId),
);
