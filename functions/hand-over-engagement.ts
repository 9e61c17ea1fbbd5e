import { randomIds, systemClock } from '../shared/adapters/system.js';
import { config, cutOffAdapters, delegationStore, engagementStore, lockdownStore, tokenVerifier } from '../shared/composition.js';
import { handOverEngagement } from '../shared/domain/manage-engagements.js';
import { engagementPathSchema, handoverInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';
import { logger } from '../shared/logger.js';

const deps = {
  ...cutOffAdapters(),
  engagements: engagementStore(),
  store: delegationStore(),
  lockdown: lockdownStore(),
  clock: systemClock,
  ids: randomIds,
  adminGroup: config().adminGroup,
  delegationQuota: config().delegationQuota,
  securityGroup: config().securityGroup,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // The owner or an admin (checked by the use case).
  { access: 'caller', path: engagementPathSchema, body: handoverInputSchema },
  async ({ principal, path, body, requestId, sourceIp, userAgent }) =>
    json(200, await handOverEngagement(deps, principal, path.id, body, { requestId, sourceIp, userAgent }), requestId),
);
