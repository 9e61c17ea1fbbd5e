import { config, lockdownStore, tokenVerifier } from '../shared/composition.js';
import { getLockdownStatus } from '../shared/domain/manage-lockdown.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { lockdown: lockdownStore(), privilegedGroups: [config().securityGroup, config().adminGroup] };

export const handler = createRoute({ verifier: tokenVerifier() }, { access: 'caller' }, async ({ principal, requestId }) =>
  json(200, await getLockdownStatus(deps, principal), requestId),
);
