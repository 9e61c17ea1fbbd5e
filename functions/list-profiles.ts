import { delegationStore, routeAuth } from '../shared/composition.js';
import { makeListProfilesHandler } from '../shared/http/routes/list-profiles.js';

export const handler = makeListProfilesHandler({ ...routeAuth(), store: delegationStore() });
