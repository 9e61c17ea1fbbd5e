// GET /openapi.json: the committed document (docs/openapi.json, written by `npm run openapi`),
// bundled into the function, so what is served is what is in the repository.
import document from '../docs/openapi.json' with { type: 'json' };
import { createRoute } from '../shared/http/route.js';
import { text } from '../shared/http/responses.js';

const body = JSON.stringify(document);

export const handler = createRoute({}, { access: 'public' }, async ({ requestId }) =>
  text(200, body, requestId, { 'content-type': 'application/json' }),
);
