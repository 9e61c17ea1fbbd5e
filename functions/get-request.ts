import { systemClock } from '../shared/adapters/system.js';
import { requestStore, routeAuth } from '../shared/composition.js';
import { makeGetRequestHandler } from '../shared/http/routes/get-request.js';

export const handler = makeGetRequestHandler({ ...routeAuth(), store: requestStore(), clock: systemClock });
