import { delegationStore, routeAuth } from '../shared/composition.js';
import { makeListGrantsHandler } from '../shared/http/routes/list-grants.js';

export const handler = makeListGrantsHandler({ ...routeAuth(), store: delegationStore() });
