import { profileDeps, routeAuth } from '../shared/composition.js';
import { makeDeleteProfileHandler } from '../shared/http/routes/delete-profile.js';

export const handler = makeDeleteProfileHandler({ ...routeAuth(), ...profileDeps() });
