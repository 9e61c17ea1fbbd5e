import { systemClock } from '../shared/adapters/system.js';
import { delegationStore, tokenVerifier } from '../shared/composition.js';
import { describeCaller } from '../shared/domain/describe-caller.js';
import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

const deps = { store: delegationStore(), clock: systemClock };

export const handler = createRoute({ verifier: tokenVerifier() }, { access: 'caller' }, async ({ principal, requestId }) =>
  json(200, await describeCaller(deps, principal), requestId),
);
