import { systemClock } from '../shared/adapters/system.js';
import { auditLog, chainAnchorStore, config, tokenVerifier } from '../shared/composition.js';
import { verifyQuerySchema } from '../shared/domain/schemas.js';
import { verifyAuditTrail } from '../shared/domain/verify-audit.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';
import { logger } from '../shared/logger.js';

const deps = {
  audit: auditLog(),
  anchors: chainAnchorStore(),
  clock: systemClock,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup, config().adminGroup] }, query: verifyQuerySchema },
  async ({ query, requestId }) => json(200, await verifyAuditTrail(deps, query), requestId),
);
