// `npm run openapi`: writes docs/openapi.json, the document GET /openapi.json serves, from the schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApiDocument } from './document.js';

export const DOCUMENT_PATH = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));

writeFileSync(DOCUMENT_PATH, renderOpenApiDocument());
console.log(`wrote ${DOCUMENT_PATH}`);
