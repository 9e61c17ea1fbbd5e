import { randomIds, systemClock } from '../shared/adapters/system.js';
import { auditLog, config, delegationStore, lockdownStore, sessionRevoker, tokenVerifier } from '../shared/composition.js';
import { activateLockdown } from '../shared/domain/manage-lockdown.js';
import { lockdownInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = {
  lockdown: lockdownStore(),
  store: delegationStore(),
  audit: auditLog(),
  revoker: sessionRevoker(),
  clock: systemClock,
  ids: randomIds,
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup] }, body: lockdownInputSchema },
  async ({ principal, body, requestId, sourceIp, userAgent }) =>
    json(200, await activateLockdown(deps, principal, body, { requestId, sourceIp, userAgent }), requestId),
);
