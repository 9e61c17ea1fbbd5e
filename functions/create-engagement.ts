import { randomIds, systemClock } from '../shared/adapters/system.js';
import { auditWriter, config, delegationStore, engagementStore, lockdownStore, tokenVerifier } from '../shared/composition.js';
import { logger } from '../shared/logger.js';
import { createEngagement } from '../shared/domain/manage-engagements.js';
import { engagementInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = {
  engagements: engagementStore(),
  store: delegationStore(),
  lockdown: lockdownStore(),
  audit: auditWriter(),
  clock: systemClock,
  ids: randomIds,
  adminGroup: config().adminGroup,
  delegationQuota: config().delegationQuota,
  securityGroup: config().securityGroup,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // Admins, and owners within their own delegable grants (checked by the use case).
  { access: 'caller', body: engagementInputSchema },
  async ({ principal, body, requestId, sourceIp, userAgent }) =>
    json(201, await createEngagement(deps, principal, body, { requestId, sourceIp, userAgent }), requestId),
);
