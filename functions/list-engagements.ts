import { engagementStore, routeAuth } from '../shared/composition.js';
import { makeListEngagementsHandler } from '../shared/http/routes/list-engagements.js';

export const handler = makeListEngagementsHandler({ ...routeAuth(), engagements: engagementStore() });
