import { lockdownStore, routeAuth } from '../shared/composition.js';
import { makeGetLockdownHandler } from '../shared/http/routes/get-lockdown.js';

export const handler = makeGetLockdownHandler({ ...routeAuth(), lockdown: lockdownStore() });
