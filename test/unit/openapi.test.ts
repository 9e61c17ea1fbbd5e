// The OpenAPI document (docs/openapi.json): current with the schemas it is generated from, valid for
// an independent validator, served as committed, naming every route of serverless.yml, and true of
// what the handlers answer every role (the e2e suite holds the running stack to it too).
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { ROLES, ROUTES, call, resetWorld, validRequest, type RouteCase } from '../fixtures/handler-harness.js';
import { ContractChecker, DOCUMENT_PATH, committedDocument, type ObservedResponse } from '../fixtures/openapi-conformance.js';
import { DOCUMENTED_ROUTES, generateOpenApiDocument, renderOpenApiDocument } from '../../shared/http/openapi/document.js';

const SERVERLESS_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));

/** `METHOD /path` of every httpApi event in serverless.yml. */
function serverlessRoutes(): string[] {
  const events = readFileSync(SERVERLESS_YML, 'utf8').matchAll(/httpApi:\s*\{\s*method:\s*(\w+),\s*path:\s*(?:'([^']+)'|([^\s,}]+))/g);
  return [...events].map(([, method, quoted, bare]) => `${method} ${quoted ?? bare}`);
}

beforeEach(() => {
  // Keep the logger's JSON lines out of the test output.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('the document', () => {
  it('is current: regenerating it gives docs/openapi.json byte for byte', () => {
    // Act
    const rendered = renderOpenApiDocument();

    // Assess
    const committed = readFileSync(DOCUMENT_PATH, 'utf8');
    expect({ current: committed === rendered, fix: 'npm run openapi' }).toEqual({ current: true, fix: 'npm run openapi' });
  });

  it('is a valid OpenAPI 3.1 document (@apidevtools/swagger-parser)', async () => {
    // Act: validate() dereferences in place, so it gets a copy
    const api = (await SwaggerParser.validate(structuredClone(committedDocument()) as unknown as OpenAPIV3_1.Document)) as OpenAPIV3_1.Document;

    // Assess
    expect(api.openapi).toBe('3.1.0');
    expect(Object.keys(api.paths ?? {}).length).toBeGreaterThan(0);
  });

  it('names every route of serverless.yml, and no other', () => {
    // Assess
    expect([...DOCUMENTED_ROUTES].sort()).toEqual(serverlessRoutes().sort());
    expect([...DOCUMENTED_ROUTES].sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it('needs a bearer token everywhere but on the public routes', () => {
    // Prepare
    const document = generateOpenApiDocument();

    // Act
    const open = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, operation]) =>
        (operation as OpenAPIV3_1.OperationObject).security?.length === 0 ? [`${method.toUpperCase()} ${path}`] : [],
      ),
    );

    // Assess
    expect(document.components?.securitySchemes?.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }));
    expect(document.security).toEqual([{ bearer: [] }]);
    expect(open.sort()).toEqual(['GET /health', 'GET /openapi.json']);
  });

  it('takes a body, query and path parameters exactly where the handlers read them, and accepts their well-formed requests', () => {
    // Prepare
    const checker = new ContractChecker();
    const operationOf = (routeKey: string) => checker.operation(...(routeKey.split(' ') as [string, string]))?.operation;

    // Act and Assess
    for (const [routeKey, route] of Object.entries(ROUTES) as [string, RouteCase][]) {
      const operation = operationOf(routeKey.replace(/\{(\w+)\}/g, 'x'));
      const where = (place: string) => (operation?.parameters ?? []).some((parameter) => parameter.in === place);
      expect({ routeKey, body: operation?.requestBody !== undefined, query: where('query'), path: where('path') }).toEqual({ routeKey, ...route.takes });
      const body = route.valid(undefined).body;
      const schema = operation?.requestBody?.content['application/json']?.schema;
      if (body !== undefined && schema) {
        expect({ routeKey, problems: checker.requestProblems(schema, body) }).toEqual({ routeKey, problems: [] });
      }
    }
  });
});

describe('the conformance check (what the e2e suite holds every response to)', () => {
  const checker = new ContractChecker();
  const health = { method: 'GET', path: '/health', status: 200, contentType: 'application/json', body: '{"status":"ok"}' };

  it('accepts a documented response', () => {
    // Assess
    expect(checker.problems(health)).toEqual([]);
  });

  it.each([
    ['an undocumented field', { ...health, body: '{"status":"ok","extra":1}' }, /must NOT have additional properties \("extra"\)/],
    ['a missing field', { ...health, body: '{}' }, /must have required property 'status'/],
    ['an undocumented status', { ...health, status: 404 }, /status 404 is not documented/],
    ['an undocumented content type', { ...health, contentType: 'text/html' }, /content type "text\/html" is not documented/],
    ['a body that is not JSON', { ...health, body: 'ok' }, /not JSON/],
    ['an undocumented route', { ...health, path: '/healthz' }, /not in the document/],
    [
      'an error code the route does not answer with',
      { ...health, method: 'POST', path: '/credentials', status: 403, body: '{"error":{"code":"FORBIDDEN","message":"x","requestId":"r"}}' },
      /must match a schema in anyOf/,
    ],
    [
      'an error field its code does not carry',
      { ...health, path: '/me', status: 401, body: '{"error":{"code":"UNAUTHENTICATED","message":"x","requestId":"r","stsCode":"x"}}' },
      /additional properties \("stsCode"\)/,
    ],
  ])('refuses %s', (_name, response, problem) => {
    // Act
    const problems = checker.problems(response);

    // Assess
    expect(problems.join('\n')).toMatch(problem);
    expect(() => checker.assertConforms(response)).toThrow(/does not describe/);
  });
});

describe('GET /openapi.json', () => {
  it('serves the committed document, without a token', async () => {
    // Act
    const response = await call('GET /openapi.json', validRequest('GET /openapi.json', 'anonymous'));

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toEqual(committedDocument());
  });
});

describe('what the handlers answer conforms to the document', () => {
  const checker = new ContractChecker();
  const cases = Object.keys(ROUTES).flatMap((routeKey) => ROLES.map((role) => [routeKey, role] as const));

  it.each(cases)('%s as %s', async (routeKey, role) => {
    // Prepare
    await resetWorld();
    const request = validRequest(routeKey, role);
    const route = ROUTES[routeKey] as RouteCase;

    // Act
    const response = await call(routeKey, request);

    // Assess
    const observed: ObservedResponse = {
      method: route.method,
      path: route.path.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(request.path?.[name] ?? '')),
      status: response.status,
      contentType: response.headers['content-type'] as string | undefined,
      body: response.rawBody,
    };
    expect(checker.problems(observed)).toEqual([]);
  });

  it.each(['csv', 'ndjson'])('GET /audit/events?format=%s (an export)', async (format) => {
    // Prepare
    await resetWorld();
    const request = validRequest('GET /audit/events', 'tvm-security');

    // Act
    const response = await call('GET /audit/events', { ...request, query: { format } });

    // Assess
    expect(response.status).toBe(200);
    const contentType = response.headers['content-type'] as string;
    expect(checker.problems({ method: 'GET', path: '/audit/events', status: 200, contentType, body: response.rawBody })).toEqual([]);
  });
});
