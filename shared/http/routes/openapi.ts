// GET /openapi.json: the document it is given (the function bundles the committed docs/openapi.json,
// so what is served is what is in the repository).
import { text } from '../responses.js';
import { createRoute } from '../route.js';

export const makeOpenApiHandler = (document: unknown) => {
  const body = JSON.stringify(document);
  return createRoute({}, { access: 'public' }, async ({ requestId }) => text(200, body, requestId, { 'content-type': 'application/json' }));
};
