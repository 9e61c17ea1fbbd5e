import { engagementDeps, routeAuth } from '../shared/composition.js';
import { makeCreateEngagementHandler } from '../shared/http/routes/create-engagement.js';

export const handler = makeCreateEngagementHandler({ ...routeAuth(), ...engagementDeps() });
