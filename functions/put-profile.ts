import { config, profileDeps, tokenVerifier } from '../shared/composition.js';
import { profileTag, putProfile } from '../shared/domain/manage-profiles.js';
import { profileInputSchema, profilePathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = profileDeps();

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: { anyOfGroups: [config().adminGroup] }, path: profilePathSchema, body: profileInputSchema },
  async ({ principal, path, body, requestId, sourceIp, userAgent, ifMatch, ifNoneMatch }) => {
    const profile = await putProfile(deps, principal, path.name, body, { requestId, sourceIp, userAgent }, { ifMatch, ifNoneMatch });
    return json(200, profile, requestId, { etag: profileTag(profile) });
  },
);
