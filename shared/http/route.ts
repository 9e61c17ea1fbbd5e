// The one middy chain every HTTP function uses. Each middleware does one job, in this order:
//   1. logging context (request id on every log line, reset between invocations)
//   2. authentication (bearer JWT → Principal) and route authorization (required group)
//   3. input: body size limit, JSON parsing and strict schema validation of body, query and path
//   4. the handler (one use case)
//   5. error mapping, registered last so it sees every failure
import { randomUUID } from 'node:crypto';
import middy, { type MiddlewareObj } from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import {
  ForbiddenError,
  PayloadTooLargeError,
  ServiceTimeoutError,
  UnauthenticatedError,
  ValidationError,
} from '../domain/errors.js';
import type { Principal, RequestMeta } from '../domain/model.js';
import type { TokenVerifier } from '../domain/ports.js';
import { logger } from '../logger.js';
import { mapError } from './error-mapping.js';
import { json } from './responses.js';

/** Request bodies above this are refused before parsing. */
export const MAX_BODY_BYTES = 16 * 1024;

type Schema = z.ZodTypeAny;
const NO_FIELDS = z.object({}).strict();
type Parsed<S> = S extends Schema ? z.infer<S> : undefined;

export interface RouteSpec<B extends Schema | undefined, Q extends Schema | undefined, P extends Schema | undefined> {
  /** `public`: no token; `caller`: any authenticated caller; otherwise a member of one of the groups. */
  readonly access: 'public' | 'caller' | { readonly anyOfGroups: readonly string[] };
  readonly body?: B;
  readonly query?: Q;
  readonly path?: P;
}

export interface RouteRequest<B, Q, P, A> {
  readonly principal: A;
  readonly body: B;
  readonly query: Q;
  readonly path: P;
  readonly requestId: string;
  /** Who asked and from where, as use cases record it (the request id, source IP, user agent). */
  readonly meta: RequestMeta;
  /** The If-None-Match header: the entity tags the caller already has (responses.ts' notModifiedOr). */
  readonly ifNoneMatch?: string;
  /** The If-Match header: change only the version with this entity tag. */
  readonly ifMatch?: string;
}

export type RouteResult = APIGatewayProxyStructuredResultV2;

interface RequestState {
  requestId: string;
  principal?: Principal;
  body?: unknown;
  query?: unknown;
  path?: unknown;
}

type TvmContext = Context & { tvm?: RequestState };
type Event = APIGatewayProxyEventV2;

export interface RouteDeps {
  /** Needed unless the route is public. */
  readonly verifier?: TokenVerifier;
}

/** What an authenticated route's factory needs besides its use case: the verifier and the groups access names. */
export interface RouteAuth {
  readonly verifier: TokenVerifier;
  readonly adminGroup: string;
  readonly securityGroup: string;
}

export function createRoute<
  S extends RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>,
>(
  deps: RouteDeps,
  spec: S,
  handler: (
    request: RouteRequest<
      Parsed<S['body']>,
      Parsed<S['query']>,
      Parsed<S['path']>,
      S['access'] extends 'public' ? Principal | undefined : Principal
    >,
  ) => Promise<RouteResult>,
) {
  return middy<Event, RouteResult, Error, TvmContext>({
    // Answer with our own error a little before Lambda would kill the invocation.
    timeoutEarlyInMillis: 1_000,
    timeoutEarlyResponse: () => {
      throw new ServiceTimeoutError('the request took too long; nothing was issued, try again');
    },
  })
    // Never log the event: it carries the bearer token.
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(requestContext())
    .use(authenticate(spec.access, deps.verifier))
    .use(parseInput(spec))
    .use(mapErrors())
    .handler(async (event, context) => {
      const state = context.tvm as RequestState;
      return handler({
        principal: state.principal as Principal,
        body: state.body as never,
        query: state.query as never,
        path: state.path as never,
        requestId: state.requestId,
        meta: { requestId: state.requestId, sourceIp: event.requestContext?.http?.sourceIp, userAgent: event.requestContext?.http?.userAgent },
        ifNoneMatch: event.headers?.['if-none-match'],
        ifMatch: event.headers?.['if-match'],
      });
    });
}

function requestContext(): MiddlewareObj<Event, RouteResult, Error, TvmContext> {
  return {
    before: (request) => {
      // Lambda's invocation id: unique per request everywhere (serverless-offline repeats API
      // Gateway's), and safe as an STS session tag value.
      const requestId = request.context.awsRequestId || randomUUID();
      request.context.tvm = { requestId };
      logger.appendKeys({ requestId, apiRequestId: request.event.requestContext?.requestId, route: request.event.routeKey });
    },
  };
}

function authenticate(
  access: RouteSpec<undefined, undefined, undefined>['access'],
  verifier: TokenVerifier | undefined,
): MiddlewareObj<Event, RouteResult, Error, TvmContext> {
  return {
    before: async (request) => {
      if (access === 'public') return;
      if (!verifier) throw new Error('route needs a token verifier');
      const header = request.event.headers?.authorization ?? request.event.headers?.Authorization;
      const match = header ? /^Bearer +([^\s]+) *$/i.exec(header) : null;
      if (!match?.[1]) throw new UnauthenticatedError('missing or malformed Authorization: Bearer <token> header');
      const principal = await verifier.verify(match[1]);
      (request.context.tvm as RequestState).principal = principal;
      logger.appendKeys({ principal: principal.id });
      if (access !== 'caller' && !principal.groups.some((group) => access.anyOfGroups.includes(group))) {
        throw new ForbiddenError(`this route requires membership of ${access.anyOfGroups.join(' or ')}`);
      }
    },
  };
}

function parseInput(
  spec: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>,
): MiddlewareObj<Event, RouteResult, Error, TvmContext> {
  return {
    before: (request) => {
      const state = request.context.tvm as RequestState;
      const { event } = request;
      // Unknown input is refused, never ignored: a route without a query schema takes no query.
      state.query = validate(spec.query ?? NO_FIELDS, event.queryStringParameters ?? {}, 'query');
      state.path = validate(spec.path, event.pathParameters ?? {}, 'path');
      if (spec.body) state.body = validate(spec.body, readJsonBody(event), 'body');
      else if (event.body) throw new ValidationError('body: this route takes no request body');
    },
  };
}

function readJsonBody(event: Event): unknown {
  const body = event.body as unknown;
  // API Gateway always hands over a string. A local runner (serverless-offline) may hand over the
  // value it parsed instead, and drops a falsy one (`null`, `false`, `0`) to nothing.
  if (body !== undefined && body !== null && typeof body !== 'string') return requireObject(body);
  if (typeof body !== 'string' && Number(event.headers?.['content-length'] ?? 0) > 0) return requireObject(null);
  const raw = body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const contentType = event.headers?.['content-type'] ?? '';
  if (contentType && !/^application\/json\b/i.test(contentType)) {
    throw new ValidationError('body: content-type must be application/json');
  }
  // No body reads as {}: routes whose fields are all optional need none; others name what is missing.
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError('body: not valid JSON');
  }
  return requireObject(parsed);
}

/** Every route's body is an object: `false`, `null`, `0`, `"x"` or `[]` is refused as such. */
function requireObject(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('body must be a JSON object');
  }
  return value;
}

function validate(schema: Schema | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const field = [where, ...issue.path, issue.keys[0]].join('.');
    throw new ValidationError(`${field}: unknown field (not accepted by this route)`);
  }
  const field = [where, ...(issue?.path ?? [])].join('.');
  throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`);
}

function mapErrors(): MiddlewareObj<Event, RouteResult, Error, TvmContext> {
  return {
    onError: (request) => {
      const requestId = request.context.tvm?.requestId ?? randomUUID();
      const mapped = mapError(request.error, requestId);
      if (mapped.serverFault) {
        logger.error('request failed', { code: mapped.body.error.code, error: request.error });
      } else {
        logger.info('request refused', { code: mapped.body.error.code, reason: mapped.body.error.message });
      }
      request.response = json(mapped.status, mapped.body, requestId, mapped.headers);
    },
  };
}
