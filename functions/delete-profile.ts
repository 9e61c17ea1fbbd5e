import { z } from 'zod';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { auditWriter, config, delegationStore, lockdownStore, tokenVerifier } from '../shared/composition.js';
import { logger } from '../shared/logger.js';
import { deleteProfile } from '../shared/domain/manage-profiles.js';
import { profileNameSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = {
  store: delegationStore(),
  lockdown: lockdownStore(),
  audit: auditWriter(),
  clock: systemClock,
  ids: randomIds,
  roleArnPattern: config().roleArnPattern,
  warn: (message: string, data: Record<string, unknown>) => logger.warn(message, data),
};

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().adminGroup] }, path: z.object({ name: profileNameSchema }) },
  async ({ principal, path, requestId, sourceIp, userAgent }) => {
    await deleteProfile(deps, principal, path.name, { requestId, sourceIp, userAgent });
    return json(200, { deleted: path.name }, requestId);
  },
);
