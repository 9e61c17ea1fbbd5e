import { createRoute } from '../shared/http/route.js';
import { json } from '../shared/http/responses.js';

export const handler = createRoute({}, { access: 'public' }, async ({ requestId }) =>
  json(200, { status: 'ok' }, requestId),
);
