import { makeHealthHandler } from '../shared/http/routes/health.js';

export const handler = makeHealthHandler();
