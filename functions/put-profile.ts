import { profileDeps, routeAuth } from '../shared/composition.js';
import { makePutProfileHandler } from '../shared/http/routes/put-profile.js';

export const handler = makePutProfileHandler({ ...routeAuth(), ...profileDeps() });
