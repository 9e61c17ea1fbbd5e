import { lockdownStore, routeAuth } from '../shared/composition.js';
import { makeGetCutOffEpochHandler } from '../shared/http/routes/get-cut-off-epoch.js';

export const handler = makeGetCutOffEpochHandler({ ...routeAuth(), lockdown: lockdownStore() });
