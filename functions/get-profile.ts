import { delegationStore, tokenVerifier } from '../shared/composition.js';
import { getProfile } from '../shared/domain/manage-profiles.js';
import { profilePathSchema } from '../shared/domain/schemas.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: delegationStore() };

export const handler = createRoute(
  { verifier: tokenVerifier() },
  { access: 'caller', path: profilePathSchema },
  async ({ path, requestId }) => json(200, await getProfile(deps, path.name), requestId),
);
