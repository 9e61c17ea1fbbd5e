import { delegationStore, tokenVerifier } from '../shared/composition.js';
import { getProfile, profileTag } from '../shared/domain/manage-profiles.js';
import { profilePathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: delegationStore() };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: 'caller', path: profilePathSchema },
  async ({ path, requestId }) => {
    const profile = await getProfile(deps, path.name);
    return json(200, profile, requestId, { etag: profileTag(profile) });
  },
);
