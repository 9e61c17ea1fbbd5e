import { keyTracePathSchema } from '../../domain/schemas.js';
import { traceAccessKey } from '../../domain/trace-access-key.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeGetKeyTraceHandler = (deps: Parameters<typeof traceAccessKey>[0] & RouteAuth) =>
  createRoute(deps, { access: { anyOfGroups: [deps.securityGroup, deps.adminGroup] }, path: keyTracePathSchema }, async ({ path, requestId }) =>
    json(200, await traceAccessKey(deps, path.accessKeyId), requestId),
  );
