// GET /cut-off-epoch: how many cut-off decisions there have been, as a tag a CLI can send back in
// If-None-Match. A `304` tells it no credential it cached since has been cut off.
import type { LockdownStore } from '../../domain/ports.js';
import { notModifiedOr } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeGetCutOffEpochHandler = (deps: { readonly lockdown: Pick<LockdownStore, 'getCutOffEpoch'> } & RouteAuth) =>
  createRoute(deps, { access: 'caller' }, async ({ requestId, ifNoneMatch }) => {
    const cutOffEpoch = await deps.lockdown.getCutOffEpoch();
    return notModifiedOr({ cutOffEpoch }, `"${cutOffEpoch}"`, ifNoneMatch, requestId);
  });
