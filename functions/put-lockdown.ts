import { randomIds, systemClock } from '../shared/adapters/system.js';
import { config, cutOffAdapters, delegationStore, lockdownStore, tokenVerifier } from '../shared/composition.js';
import { activateLockdown } from '../shared/domain/manage-lockdown.js';
import { lockdownInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';
import { logger } from '../shared/logger.js';

const deps = {
  ...cutOffAdapters(),
  lockdown: lockdownStore(),
  store: delegationStore(),
  clock: systemClock,
  ids: randomIds,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup] }, body: lockdownInputSchema },
  async ({ principal, body, requestId, sourceIp, userAgent }) =>
    json(200, await activateLockdown(deps, principal, body, { requestId, sourceIp, userAgent }), requestId),
);
