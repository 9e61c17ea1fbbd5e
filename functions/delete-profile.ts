import { config, profileDeps, tokenVerifier } from '../shared/composition.js';
import { deleteProfile } from '../shared/domain/manage-profiles.js';
import { profilePathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = profileDeps();

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().adminGroup] }, path: profilePathSchema },
  async ({ principal, path, requestId, sourceIp, userAgent }) => {
    await deleteProfile(deps, principal, path.name, { requestId, sourceIp, userAgent });
    return json(200, { deleted: path.name }, requestId);
  },
);
