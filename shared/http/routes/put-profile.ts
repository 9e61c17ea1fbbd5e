import { profileTag, putProfile, type ProfileDeps } from '../../domain/manage-profiles.js';
import { profileInputSchema, profilePathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makePutProfileHandler = (deps: ProfileDeps & RouteAuth) =>
  createRoute(
    deps,
    { access: { anyOfGroups: [deps.adminGroup] }, path: profilePathSchema, body: profileInputSchema },
    async ({ principal, path, body, requestId, meta, ifMatch, ifNoneMatch }) => {
      const profile = await putProfile(deps, principal, path.name, body, meta, { ifMatch, ifNoneMatch });
      return json(200, profile, requestId, { etag: profileTag(profile) });
    },
  );
