import { randomIds, systemClock } from '../shared/adapters/system.js';
import { auditWriter, config, delegationStore, lockdownStore, tokenVerifier } from '../shared/composition.js';
import { logger } from '../shared/logger.js';
import { createGrant } from '../shared/domain/manage-grants.js';
import { grantInputSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = {
  store: delegationStore(),
  lockdown: lockdownStore(),
  audit: auditWriter(),
  clock: systemClock,
  ids: randomIds,
  adminGroup: config().adminGroup,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
  delegationQuota: config().delegationQuota,
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // Admins, and delegators within their own grants (checked by the use case).
  { access: 'caller', body: grantInputSchema },
  async ({ principal, body, requestId, sourceIp, userAgent }) =>
    json(201, await createGrant(deps, principal, body, { requestId, sourceIp, userAgent }), requestId),
);
