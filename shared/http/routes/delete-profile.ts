import { deleteProfile, type ProfileDeps } from '../../domain/manage-profiles.js';
import { profilePathSchema } from '../../domain/schemas.js';
import { json } from '../responses.js';
import { createRoute, type RouteAuth } from '../route.js';

export const makeDeleteProfileHandler = (deps: ProfileDeps & RouteAuth) =>
  createRoute(deps, { access: { anyOfGroups: [deps.adminGroup] }, path: profilePathSchema }, async ({ principal, path, requestId, meta }) => {
    await deleteProfile(deps, principal, path.name, meta);
    return json(200, { deleted: path.name }, requestId);
  });
