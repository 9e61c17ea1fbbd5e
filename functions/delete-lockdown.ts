import { lockdownDeps, routeAuth } from '../shared/composition.js';
import { makeDeleteLockdownHandler } from '../shared/http/routes/delete-lockdown.js';

export const handler = makeDeleteLockdownHandler({ ...routeAuth(), ...lockdownDeps() });
