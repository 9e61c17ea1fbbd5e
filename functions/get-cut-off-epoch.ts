// GET /cut-off-epoch: how many cut-off decisions there have been, as a tag a CLI can send back in
// If-None-Match. A `304` tells it no credential it cached since has been cut off.
import { lockdownStore, tokenVerifier } from '../shared/composition.js';
import { createRoute } from '../shared/http/route.js';
import { notModifiedOr } from '../shared/http/responses.js';

const epochs = lockdownStore();

export const handler = createRoute({ verifier: tokenVerifier() }, { access: 'caller' }, async ({ requestId, ifNoneMatch }) => {
  const cutOffEpoch = await epochs.getCutOffEpoch();
  return notModifiedOr({ cutOffEpoch }, `"${cutOffEpoch}"`, ifNoneMatch, requestId);
});
