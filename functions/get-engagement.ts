import { engagementStore, routeAuth } from '../shared/composition.js';
import { makeGetEngagementHandler } from '../shared/http/routes/get-engagement.js';

export const handler = makeGetEngagementHandler({ ...routeAuth(), engagements: engagementStore() });
