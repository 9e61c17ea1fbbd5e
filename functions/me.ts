import { systemClock } from '../shared/adapters/system.js';
import { delegationStore, routeAuth } from '../shared/composition.js';
import { makeMeHandler } from '../shared/http/routes/me.js';

export const handler = makeMeHandler({ ...routeAuth(), store: delegationStore(), clock: systemClock });
