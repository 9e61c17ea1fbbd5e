import { randomIds, systemClock } from '../shared/adapters/system.js';
import { config, cutOffAdapters, delegationStore, tokenVerifier } from '../shared/composition.js';
import { revokeGrant } from '../shared/domain/manage-grants.js';
import { grantPathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';
import { logger } from '../shared/logger.js';

const deps = {
  ...cutOffAdapters(),
  store: delegationStore(),
  clock: systemClock,
  ids: randomIds,
  adminGroup: config().adminGroup,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  // Admins, the grant's creator, or the holder of its parent grant (checked by the use case).
  { access: 'caller', path: grantPathSchema },
  async ({ principal, path, requestId, sourceIp, userAgent }) =>
    json(200, await revokeGrant(deps, principal, path.id, { requestId, sourceIp, userAgent }), requestId),
);
