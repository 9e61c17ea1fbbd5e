import { listProfiles, type ProfileDeps } from '../../domain/manage-profiles.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeListProfilesHandler = (deps: Pick<ProfileDeps, 'store'> & RouteAuth) =>
  createRoute(deps, { access: 'caller' }, async ({ requestId }) => json(200, { profiles: await listProfiles(deps) }, requestId));
