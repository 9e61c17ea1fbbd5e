import { alertDeps } from '../shared/composition.js';
import { makeAlertHandler } from '../shared/events/alert.js';

export const handler = makeAlertHandler(alertDeps());
