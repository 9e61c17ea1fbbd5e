import { lockdownStore, tokenVerifier } from '../shared/composition.js';
import { getLockdownStatus } from '../shared/domain/manage-lockdown.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { lockdown: lockdownStore() };

export const handler = createRoute({ verifier: tokenVerifier() }, { access: 'caller' }, async ({ requestId }) =>
  json(200, await getLockdownStatus(deps), requestId),
);
