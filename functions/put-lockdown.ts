import { cutOffAdapters, lockdownDeps, routeAuth } from '../shared/composition.js';
import { makePutLockdownHandler } from '../shared/http/routes/put-lockdown.js';

export const handler = makePutLockdownHandler({ ...routeAuth(), ...lockdownDeps(), ...cutOffAdapters() });
