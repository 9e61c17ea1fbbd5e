// zod with `.openapi()` (names and descriptions for the OpenAPI document). Only the document's
// generator and the tests load this: no function does, so no bundle carries it.
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };
