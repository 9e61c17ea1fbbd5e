import { scheduledRequestDeps } from '../shared/composition.js';
import { makeExpireRequestsHandler } from '../shared/events/expire-requests.js';

export const handler = makeExpireRequestsHandler(scheduledRequestDeps());
