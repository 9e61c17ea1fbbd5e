import { json } from '../responses.js';
import { createRoute } from '../route.js';

export const makeHealthHandler = () => createRoute({}, { access: 'public' }, async ({ requestId }) => json(200, { status: 'ok' }, requestId));
