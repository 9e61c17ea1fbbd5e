import { getProfile, profileTag, type ProfileDeps } from '../../domain/manage-profiles.js';
import { profilePathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeGetProfileHandler = (deps: Pick<ProfileDeps, 'store'> & RouteAuth) =>
  createRoute(deps, { access: 'caller', path: profilePathSchema }, async ({ path, requestId }) => {
    const profile = await getProfile(deps, path.name);
    return json(200, profile, requestId, { etag: profileTag(profile) });
  });
