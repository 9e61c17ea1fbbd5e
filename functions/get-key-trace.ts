import { auditLog, config, delegationStore, tokenVerifier } from '../shared/composition.js';
import { keyTracePathSchema } from '../shared/domain/schemas.js';
import { traceAccessKey } from '../shared/domain/trace-access-key.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { audit: auditLog(), store: delegationStore() };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().securityGroup, config().adminGroup] }, path: keyTracePathSchema },
  async ({ path, requestId }) => json(200, await traceAccessKey(deps, path.accessKeyId), requestId),
);
