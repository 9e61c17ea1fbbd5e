import { systemClock } from '../shared/adapters/system.js';
import { requestStore, routeAuth } from '../shared/composition.js';
import { makeListRequestsHandler } from '../shared/http/routes/list-requests.js';

export const handler = makeListRequestsHandler({ ...routeAuth(), store: requestStore(), clock: systemClock });
