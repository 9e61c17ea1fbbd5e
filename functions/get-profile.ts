import { delegationStore, routeAuth } from '../shared/composition.js';
import { makeGetProfileHandler } from '../shared/http/routes/get-profile.js';

export const handler = makeGetProfileHandler({ ...routeAuth(), store: delegationStore() });
