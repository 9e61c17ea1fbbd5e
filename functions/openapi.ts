import document from '../docs/openapi.json' with { type: 'json' };
import { makeOpenApiHandler } from '../shared/http/routes/openapi.js';

export const handler = makeOpenApiHandler(document);
