// A local STS endpoint, with the few IAM calls tvm makes, for development and integration tests only.
// It speaks the AWS Query protocol the way @aws-sdk/client-sts and @aws-sdk/client-iam do, so tvm's
// adapters are exercised through the real SDKs: the same request serialisation, SigV4 signing, XML
// parsing and error mapping as against AWS.
//
// This file is the server. One listener serves both APIs, as AWS's separate hosts would: the `Version`
// parameter picks the API (2010-05-08 is IAM, anything else STS) and the SigV4 credential scope must
// name that API's service. Every request must carry a SigV4 signature, verified by recomputing it
// (sigv4.ts); the actions live in assume-role.ts, principals.ts and iam-role-policies.ts. Under
// /federation it also stands in for AWS's federation endpoint, console sign-in (federation.ts), and
// under /_local/ it has control routes for tests: injected faults, issued sessions, role policies.
//
// Simplified on purpose: nothing is granted by Allow statements (sessions may call what this endpoint
// serves unless a Deny in their role's inline policies says otherwise; only the configured long-term
// callers, and sessions of a role configured with `mayChangeRolePolicies`, may call IAM).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { listenOn } from '../processes.js';
import { assumeRole } from './assume-role.js';
import { ServiceError, stsErrors } from './errors.js';
import { CONSOLE_PATH, createLocalFederation, FEDERATION_PATH, type SessionCredentials, type SessionVerdict } from './federation.js';
import { deleteRolePolicy, getRole, getRolePolicy, iamErrors, listRolePolicies, namedRole, putRolePolicy, RolePolicyStore } from './iam-role-policies.js';
import { equalText } from './identifiers.js';
import { getAccessKeyInfo, getCallerIdentity, issuedSession, resolveSigner, type IssuedSession, type LocalCaller, type LocalRole, type Principal, type Session } from './principals.js';
import { errorDocument, IAM_API, readBody, readParams, sendXml, singleHeader, STS_API, type QueryApi } from './query-protocol.js';
import { signedRequestRecord, type RequestContext, type SignedRequestRecord } from './signed-requests.js';
import { readAuthorization, readSigningDate, verifySignature } from './sigv4.js';

export { LOCAL_TVM_CALLER, loadLocalRoles, type IssuedSession, type LocalCaller, type LocalRole } from './principals.js';
export type { SignedRequestRecord, SignedRequestSession } from './signed-requests.js';
export { NodeSha256 } from './sigv4.js';

export interface LocalStsOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 000000000000. */
  accountId?: string;
  roles: LocalRole[];
  callers: LocalCaller[];
  /**
   * The server's clock: session expiry, the 15-minute signature window and the `Date` response header
   * (from which the SDK corrects its own clock skew, as it does against AWS).
   */
  now?: () => Date;
  onSignedRequest?: (record: SignedRequestRecord) => void;
}

export interface LocalStsFault {
  code: string;
  status: number;
  message?: string;
  /** How many requests fail; unlimited until cleared when absent. */
  remaining?: number;
  /**
   * Only AssumeRole requests with this SourceIdentity fail and count: a test on a shared stack then
   * fails its own caller, not whatever else the stack sends meanwhile. Every authenticated request when absent.
   */
  sourceIdentity?: string;
}

export interface LocalSts {
  /** The STS endpoint. */
  url: string;
  /** The IAM endpoint (the same listener as `url`; the request's `Version` picks the API). */
  iamUrl: string;
  /** The stand-in for AWS's federation endpoint (federation.ts), on the same listener. */
  federationUrl: string;
  /** Its stand-in for the AWS console, where console sign-ins land. */
  awsConsoleUrl: string;
  /**
   * Whether these are the credentials of a session this endpoint would honour now (issued here,
   * unexpired, no Deny in its role's inline policies): what the federation endpoint asks.
   */
  verifySession(credentials: SessionCredentials): SessionVerdict;
  port: number;
  close(): Promise<void>;
  /** Makes the next `remaining` authenticated requests (with `sourceIdentity`, its AssumeRoles) fail with this error; `undefined` clears it. */
  setFault(fault: LocalStsFault | undefined): void;
  issuedSessions(): ReadonlyArray<IssuedSession>;
  /**
   * The inline policies of every role in an account (default: the endpoint's): role name → policy
   * name → policy document, as the caller sent it (not URL-encoded). Roles without inline policies
   * map to `{}`.
   */
  rolePolicies(accountId?: string): Record<string, Record<string, string>>;
}

/** How long the endpoint keeps an idle kept-alive connection open (AWS's load balancers: 60 s and more). */
const IDLE_CONNECTION_MS = 120_000;

const FAULT_MESSAGES: Readonly<Record<string, string>> = {
  Throttling: 'Rate exceeded',
  InternalFailure: 'The request processing has failed because of an unknown error, exception or failure.',
  ServiceUnavailable: 'The request has failed due to a temporary failure of the server.',
};

/** What the endpoint holds between requests; the functions below are handed it. */
interface Endpoint {
  readonly now: () => Date;
  readonly defaultAccountId: string;
  /** The roles that may be assumed, by ARN. */
  readonly roles: ReadonlyMap<string, LocalRole>;
  /** The long-term callers, by access key id. */
  readonly callers: ReadonlyMap<string, LocalCaller>;
  /** The sessions AssumeRole issued, by access key id. */
  readonly sessions: Map<string, Session>;
  /** The roles as IAM names them, and their inline policies. */
  readonly iam: RolePolicyStore;
  readonly onSignedRequest: ((record: SignedRequestRecord) => void) | undefined;
  /** Fails authenticated requests until cleared or used up (setFault). */
  fault: LocalStsFault | undefined;
}

/** Starts the endpoint on `host:port` and resolves once it is listening. */
export async function startLocalSts(options: LocalStsOptions): Promise<LocalSts> {
  const host = options.host ?? '127.0.0.1';
  const defaultAccountId = options.accountId ?? '000000000000';
  const endpoint: Endpoint = {
    now: options.now ?? (() => new Date()),
    defaultAccountId,
    roles: new Map(options.roles.map((role) => [role.arn, role] as const)),
    callers: new Map(options.callers.map((caller) => [caller.accessKeyId, caller] as const)),
    sessions: new Map(),
    iam: new RolePolicyStore(options.roles, defaultAccountId),
    onSignedRequest: options.onSignedRequest,
    fault: undefined,
  };
  const verify = (credentials: SessionCredentials) => verifySession(endpoint, credentials);
  const federation = createLocalFederation({ verifySession: verify, now: endpoint.now, consoleUrl: () => api.awsConsoleUrl });

  const server = createServer((req, res) => {
    handle(endpoint, federation, req, res).catch((error: unknown) => {
      console.error('local STS: failed to answer a request', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // Node closes an idle kept-alive connection after 5 s; AWS's endpoints keep them far longer. A
  // client that reuses one just as it closes gets "socket hang up" after sending, which tvm must
  // not retry (STS may have issued): the 200-vend benchmark met that after its 30-s warm-up.
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  const port = await listenOn(server, options.port ?? 0, host);

  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const api: LocalSts = {
    url,
    iamUrl: url,
    federationUrl: `${url}${FEDERATION_PATH}`,
    awsConsoleUrl: `${url}${CONSOLE_PATH}`,
    verifySession: verify,
    port,
    close: () => closeServer(server),
    setFault: (next) => setFault(endpoint, next),
    issuedSessions: () => [...endpoint.sessions.values()].map(issuedSession),
    rolePolicies: (accountId = defaultAccountId) => endpoint.iam.policiesByRole(accountId),
  };
  return api;
}

async function handle(
  endpoint: Endpoint,
  federation: ReturnType<typeof createLocalFederation>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const context: RequestContext = { requestId: randomUUID(), eventName: '', accessKeyId: undefined, identityArn: undefined, session: undefined };
  let status = 200;
  let xml: string;
  let failure: ServiceError | undefined;
  let queryApi = STS_API;
  try {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://local-sts');
    if (url.pathname.startsWith(CONTROL_PREFIX)) return control(endpoint, req, res, url, body);
    if (url.pathname === FEDERATION_PATH || url.pathname.startsWith(`${FEDERATION_PATH}/`)) return federation(req, res, url);
    const params = readParams(req, url, body);
    // Stands in for the host name AWS would route on: IAM and STS share this listener.
    queryApi = params.get('Version') === IAM_API.version ? IAM_API : STS_API;
    context.eventName = params.get('Action') ?? '';
    const principal = await authenticate(endpoint, req, url, body, queryApi, context);
    const injected = takeFault(endpoint, params);
    if (injected !== undefined) throw injected;
    xml = dispatch(endpoint, queryApi, params, principal, context.requestId);
  } catch (error) {
    if (error instanceof ServiceError) {
      failure = error;
    } else {
      console.error('local STS: unexpected error', error);
      failure = stsErrors.internalFailure();
    }
    status = failure.status;
    xml = errorDocument(queryApi, failure, context.requestId);
  }
  // Record first, so the record exists by the time the caller sees the response.
  recordSignedRequest(endpoint, req, context, queryApi, failure);
  sendXml(res, status, xml, context.requestId, endpoint.now());
}

async function authenticate(
  endpoint: Endpoint,
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  queryApi: QueryApi,
  context: RequestContext,
): Promise<Principal> {
  const authorization = readAuthorization(req, url);
  context.accessKeyId = authorization.credential.accessKeyId;
  const signingDate = readSigningDate(req);
  // Key and token first: a request signed with an expired session is answered ExpiredToken, as AWS
  // does, whatever else is wrong with it.
  const { principal, secretAccessKey } = resolveSigner(endpoint, authorization.credential.accessKeyId, singleHeader(req, 'x-amz-security-token'));
  await verifySignature({ req, url, body, authorization, signingDate, service: queryApi.signingService, secretAccessKey, serverTime: endpoint.now() });
  context.identityArn = principal.arn;
  if (principal.kind === 'session') context.session = principal.session;
  return principal;
}

/** What an action needs beyond its handler: the resource it acts on and who may call it. */
interface Operation {
  serve: (endpoint: Endpoint, params: URLSearchParams, principal: Principal, requestId: string) => string;
  /** The resource a Deny's Resource is matched against and an error message names; none means `*`. */
  resource?: (endpoint: Endpoint, params: URLSearchParams, principal: Principal) => { arn: string; inMessage: string } | undefined;
  /** GetCallerIdentity: "no permissions are required", so even an explicit deny cannot stop it. */
  neverDenied?: boolean;
  /**
   * IAM: only the configured long-term callers (tvm) may call it, and sessions of a role that
   * `mayChangeRolePolicies`, on the other roles of its account; other sessions have no Allow for it.
   */
  rolePolicyAdmins?: boolean;
}

function dispatch(endpoint: Endpoint, queryApi: QueryApi, params: URLSearchParams, principal: Principal, requestId: string): string {
  // 1. Find the operation; a missing or unknown action is refused whoever asks.
  // 2. Sessions: a Deny in their role's inline policies refuses everything but GetCallerIdentity.
  //    It is checked before the parameters, so a cut-off session learns nothing more.
  // 3. Sessions may not call IAM, but those of a role that mayChangeRolePolicies (on the others of its account).
  // 4. Serve it.
  const action = params.get('Action');
  if (action === null || action === '') throw stsErrors.missingAction();
  const version = params.get('Version');
  if (version !== null && version !== queryApi.version) throw stsErrors.invalidAction(action, version);
  const operation = OPERATIONS.get(queryApi)?.get(action);
  if (operation === undefined) throw stsErrors.invalidAction(action, queryApi.version);

  const policyAction = `${queryApi.signingService}:${action}`;
  const resource = operation.resource?.(endpoint, params, principal);
  if (principal.kind === 'session') {
    const { session } = principal;
    const denied = operation.neverDenied !== true && endpoint.iam.deniesSession(session, policyAction, resource?.arn ?? '*');
    if (denied) throw stsErrors.explicitDeny(principal.arn, policyAction, resource?.inMessage);
    if (operation.rolePolicyAdmins === true && !endpoint.iam.sessionMayChange(session, resource?.arn)) {
      throw iamErrors.accessDenied(principal.arn, policyAction, resource?.inMessage);
    }
  }
  return operation.serve(endpoint, params, principal, requestId);
}

const OPERATIONS: ReadonlyMap<QueryApi, ReadonlyMap<string, Operation>> = new Map([
  [
    STS_API,
    new Map<string, Operation>([
      [
        'AssumeRole',
        {
          serve: assumeRole,
          resource: (_endpoint, params) => {
            const roleArn = params.get('RoleArn');
            return roleArn === null ? undefined : { arn: roleArn, inMessage: roleArn };
          },
        },
      ],
      ['GetAccessKeyInfo', { serve: (endpoint, params, _principal, requestId) => getAccessKeyInfo(endpoint, params, requestId) }],
      ['GetCallerIdentity', { serve: (_endpoint, _params, principal, requestId) => getCallerIdentity(principal, requestId), neverDenied: true }],
    ]),
  ],
  [
    IAM_API,
    new Map<string, Operation>([
      ['PutRolePolicy', rolePolicyOperation(putRolePolicy)],
      ['GetRolePolicy', rolePolicyOperation(getRolePolicy)],
      ['DeleteRolePolicy', rolePolicyOperation(deleteRolePolicy)],
      ['ListRolePolicies', rolePolicyOperation(listRolePolicies)],
      ['GetRole', rolePolicyOperation(getRole)],
    ]),
  ],
]);

/** An IAM action on the role its RoleName names in the caller's account. */
function rolePolicyOperation(serve: (iam: RolePolicyStore, params: URLSearchParams, principal: Principal, requestId: string) => string): Operation {
  return {
    serve: (endpoint, params, principal, requestId) => serve(endpoint.iam, params, principal, requestId),
    resource: (endpoint, params, principal) => namedRole(endpoint.iam, params, principal),
    rolePolicyAdmins: true,
  };
}

function verifySession(endpoint: Endpoint, credentials: SessionCredentials): SessionVerdict {
  const session = endpoint.sessions.get(credentials.accessKeyId);
  const matches = session !== undefined && equalText(credentials.secretAccessKey, session.secretAccessKey) && equalText(credentials.sessionToken, session.sessionToken);
  if (!matches) return { valid: false, status: 400, reason: 'not a session this endpoint issued, or its secret or token is wrong' };
  if (endpoint.now().getTime() >= session.expiration.getTime()) return { valid: false, status: 400, reason: 'the session has expired' };
  // AWS documents it so: a session whose AssumeRole named DurationSeconds signs in only if an IAM
  // user (long-term keys) assumed it, which tvm's functions never are.
  if (session.namedDuration) return { valid: false, status: 400, reason: 'the session was assumed with DurationSeconds by a caller that is not an IAM user' };
  // tvm's cut-off statements deny `*` on `*`: a cut-off session gets no console either.
  if (endpoint.iam.deniesSession(session, 'signin:GetSigninToken', '*')) return { valid: false, status: 403, reason: "the session is denied by its role's policies (cut off)" };
  return { valid: true, assumedRoleArn: session.assumedRoleArn, expiration: new Date(session.expiration) };
}

function recordSignedRequest(endpoint: Endpoint, req: IncomingMessage, context: RequestContext, queryApi: QueryApi, failure: ServiceError | undefined): void {
  if (endpoint.onSignedRequest === undefined) return;
  const record = signedRequestRecord(req, context, queryApi, failure, endpoint.now);
  if (record === undefined) return;
  try {
    endpoint.onSignedRequest(record);
  } catch (error) {
    // A listener's bug must not take the endpoint down with it.
    console.error('local STS: onSignedRequest threw', error);
  }
}

function takeFault(endpoint: Endpoint, params: URLSearchParams): ServiceError | undefined {
  const current = endpoint.fault;
  if (current === undefined) return undefined;
  if (current.sourceIdentity !== undefined && (params.get('Action') !== 'AssumeRole' || params.get('SourceIdentity') !== current.sourceIdentity)) return undefined;
  if (current.remaining !== undefined) {
    current.remaining -= 1;
    if (current.remaining <= 0) endpoint.fault = undefined;
  }
  return new ServiceError(current.code, current.status, current.message ?? FAULT_MESSAGES[current.code] ?? current.code);
}

function setFault(endpoint: Endpoint, next: LocalStsFault | undefined): void {
  if (next !== undefined && next.remaining !== undefined && !(next.remaining >= 0)) {
    throw new Error('setFault: remaining must be zero or more');
  }
  endpoint.fault = next === undefined || next.remaining === 0 ? undefined : { ...next };
}

const CONTROL_PREFIX = '/_local/';
const controlFaultSchema = z
  .object({
    code: z.string().min(1),
    status: z.number().int().min(400).max(599),
    message: z.string().optional(),
    remaining: z.number().int().min(0).optional(),
    sourceIdentity: z.string().min(1).optional(),
  })
  .strict();

/**
 * Dev-only control routes, so tests in other processes can drive the endpoint:
 * PUT /_local/fault {code,status,message?,remaining?,sourceIdentity?} · GET /_local/fault (what is left of it) · DELETE /_local/fault · GET /_local/sessions
 * (issued sessions without secrets) · GET /_local/role-policies (see rolePolicies()). Not part of
 * STS or IAM; never signed.
 */
function control(endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
  const reply = (status: number, value?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(value === undefined ? undefined : JSON.stringify(value));
  };
  const route = `${req.method} ${url.pathname.slice(CONTROL_PREFIX.length)}`;
  if (route === 'GET sessions') return reply(200, [...endpoint.sessions.values()].map(issuedSession));
  if (route === 'GET role-policies') return reply(200, endpoint.iam.policiesByRole(endpoint.defaultAccountId));
  // What is left of the fault, null once used up or cleared: a test tells from it that its attempts were made.
  if (route === 'GET fault') return reply(200, endpoint.fault ?? null);
  if (route === 'DELETE fault') return (setFault(endpoint, undefined), reply(204));
  if (route === 'PUT fault') {
    const fault = controlFaultSchema.safeParse(JSON.parse(body.toString('utf8') || 'null'));
    if (!fault.success) return reply(400, { error: fault.error.message });
    setFault(endpoint, fault.data);
    return reply(204);
  }
  reply(404, { error: `unknown control route ${route}` });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // The SDK keeps connections alive; without this, close() waits for them to time out.
    server.closeAllConnections();
  });
}
