import { delegationStore, tokenVerifier } from '../shared/composition.js';
import { listProfiles } from '../shared/domain/manage-profiles.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: delegationStore() };

export const handler = createRoute({ verifier: tokenVerifier() }, { access: 'caller' }, async ({ requestId }) =>
  json(200, { profiles: await listProfiles(deps) }, requestId),
);
