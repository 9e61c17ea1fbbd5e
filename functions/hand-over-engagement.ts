import { cutOffAdapters, engagementDeps, routeAuth } from '../shared/composition.js';
import { makeHandOverEngagementHandler } from '../shared/http/routes/hand-over-engagement.js';

export const handler = makeHandOverEngagementHandler({ ...routeAuth(), ...engagementDeps(), ...cutOffAdapters() });
