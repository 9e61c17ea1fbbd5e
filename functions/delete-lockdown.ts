import { randomIds, systemClock } from '../shared/adapters/system.js';
import { config, lockdownStore, tokenVerifier } from '../shared/composition.js';
import { liftLockdown } from '../shared/domain/manage-lockdown.js';
import { lockdownLiftInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { lockdown: lockdownStore(), clock: systemClock, ids: randomIds };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup] }, body: lockdownLiftInputSchema },
  async ({ principal, body, requestId, sourceIp, userAgent }) =>
    json(200, await liftLockdown(deps, principal, body, { requestId, sourceIp, userAgent }), requestId),
);
