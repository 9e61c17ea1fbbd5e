// A local STS endpoint, with the few IAM calls tvm makes, for development and integration tests only.
// It speaks the AWS Query protocol the way @aws-sdk/client-sts and @aws-sdk/client-iam do, so tvm's
// adapters are exercised through the real SDKs: the same request serialisation, SigV4 signing, XML
// parsing and error mapping as against AWS.
//
// Faithful where tvm depends on it: every request must carry a SigV4 signature, which is verified by
// recomputing it; AssumeRole enforces the documented parameter constraints (STS API Reference,
// API_AssumeRole; the service model's limits) with AWS's error codes, status codes and, where we know
// it, AWS's wording. IAM's GetRole describes the configured roles of the caller's account (as IAM's
// role APIs see it; roles may be in several accounts), and PutRolePolicy / GetRolePolicy / DeleteRolePolicy / ListRolePolicies keep
// inline role policies in memory, and the Deny statements in them are enforced on requests signed
// with the role's sessions (see explicit-deny.ts), which is how tvm cuts off credentials already
// handed out.
//
// One listener serves both APIs, as AWS's separate hosts would: the `Version` parameter picks the API
// (2010-05-08 is IAM, anything else STS) and the SigV4 credential scope must name that API's service.
// Under /federation it also stands in for AWS's federation endpoint, console sign-in (federation.ts).
//
// Simplified on purpose: roles come from a list instead of IAM, trust is a list of caller ARNs,
// nothing is granted by Allow statements (sessions may call what this endpoint serves unless a Deny
// says otherwise; only the configured long-term callers, and sessions of a role configured with
// `mayChangeRolePolicies`, may call IAM), and sessions cannot assume roles (no role chaining).
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { z } from 'zod';
import { listenOn } from '../processes.js';
import { findExplicitDeny } from './explicit-deny.js';
import { CONSOLE_PATH, createLocalFederation, FEDERATION_PATH, type SessionCredentials, type SessionVerdict } from './federation.js';

export interface LocalRole {
  arn: string;
  maxSessionDurationSeconds: number;
  trustedPrincipalArns: string[];
  /**
   * Its sessions may call the IAM role-policy actions on the other roles of its account, as tvm's
   * revoker role in a target account may (resources/target-account-revoker.yml).
   */
  mayChangeRolePolicies?: boolean;
}

/** A long-term IAM identity allowed to sign requests (e.g. the tvm function's role). */
export interface LocalCaller {
  accessKeyId: string;
  secretAccessKey: string;
  arn: string;
}

/** One request that carried a SigV4 access key, whether it succeeded or not. */
export interface SignedRequestRecord {
  eventTime: string;
  /** The API the request went to, as CloudTrail names it. */
  eventSource: 'sts.amazonaws.com' | 'iam.amazonaws.com';
  eventName: string;
  accessKeyId: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestId: string;
  /** The authenticated identity; absent when the signature or key was not accepted. */
  identityArn?: string;
  /**
   * The AssumeRole session whose credentials signed the request: what CloudTrail's `userIdentity`
   * says about it. Only once the signature proved the signer holds the session's secret; absent for
   * the long-term callers (tvm itself).
   */
  session?: SignedRequestSession;
}

export interface SignedRequestSession {
  roleArn: string;
  assumedRoleArn: string;
  /** AROA…:<session name>, CloudTrail's `userIdentity.principalId`. */
  principalId: string;
  sessionName: string;
  sourceIdentity?: string;
  /** When the session was issued (ISO 8601): CloudTrail's `sessionContext.attributes.creationDate`. */
  issuedAt: string;
  accountId: string;
}

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
}

export interface IssuedSession {
  accessKeyId: string;
  roleArn: string;
  assumedRoleArn: string;
  sessionName: string;
  sourceIdentity?: string;
  tags: { key: string; value: string }[];
  policy?: string;
  expiration: Date;
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
  /** Makes the next `remaining` authenticated requests fail with this error; `undefined` clears it. */
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

/**
 * The identity the local stack's vend function signs with; roles.json trusts it. Dev-only, not an AWS
 * key. Not frozen: the SDK writes a `$source` marker into the credentials object it is given.
 */
export const LOCAL_TVM_CALLER: LocalCaller = {
  accessKeyId: 'AKIALOCALTVMVEND0001',
  secretAccessKey: 'local-tvm-dev-secret/NOT-AN-AWS-KEY/0000',
  arn: 'arn:aws:iam::000000000000:role/tvm-local-vend',
};

const rolesFileSchema = z.object({
  roles: z.array(
    z.object({
      arn: z.string().regex(/^arn:[\w-]+:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'),
      // The IAM setting a role's MaxSessionDuration can take: 1 to 12 hours.
      maxSessionDurationSeconds: z.number().int().min(3600).max(43200),
      trustedPrincipalArns: z.array(z.string().min(1)),
      mayChangeRolePolicies: z.boolean().optional(),
    }),
  ),
});

/** The roles in local/sts/roles.json. Throws, naming the problem, if the file is malformed. */
export function loadLocalRoles(): LocalRole[] {
  const raw: unknown = JSON.parse(readFileSync(new URL('./roles.json', import.meta.url), 'utf8'));
  const parsed = rolesFileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`local/sts/roles.json is invalid: ${parsed.error.message}`);
  return parsed.data.roles;
}

// ---------------------------------------------------------------------------------------------------
// Protocol constants and AWS's error wording
// ---------------------------------------------------------------------------------------------------

/** One of the two Query APIs this endpoint serves. */
interface QueryApi {
  /** The service in the SigV4 credential scope. */
  signingService: 'sts' | 'iam';
  version: string;
  namespace: string;
}
const STS_API: QueryApi = { signingService: 'sts', version: '2011-06-15', namespace: 'https://sts.amazonaws.com/doc/2011-06-15/' };
const IAM_API: QueryApi = { signingService: 'iam', version: '2010-05-08', namespace: 'https://iam.amazonaws.com/doc/2010-05-08/' };
const SIGNING_ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_DURATION_SECONDS = 3600;
const MODEL_MAX_DURATION_SECONDS = 43200;
const MIN_DURATION_SECONDS = 900;
const POLICY_PLAINTEXT_LIMIT = 2048;
const MAX_POLICY_ARNS = 10;
const MAX_TAGS = 50;
// Stand-in for STS's packed binary budget; see packedPolicyPercent.
const PACKED_BUDGET_BYTES = 2048;
// IAM quota: a role's inline policies together, whitespace not counted (aws-facts.md).
const ROLE_INLINE_POLICIES_LIMIT = 10240;
/** When the configured roles "were created", as GetRole reports it. */
const ROLES_CREATED_AT = '2026-01-01T00:00:00Z';

const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

class ServiceError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

const stsErrors = {
  missingAuthenticationToken: () =>
    new ServiceError('MissingAuthenticationToken', 403, 'Request is missing Authentication Token'),
  incompleteSignature: (message: string) => new ServiceError('IncompleteSignature', 400, message),
  invalidClientTokenId: () =>
    new ServiceError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.'),
  // 403, not the 400 the API_AssumeRole page lists: that entry is about an expired *web identity*
  // token (AssumeRoleWithWebIdentity's ExpiredTokenException). A request signed with expired session
  // credentials gets this common error; AWS answers it with 403 Forbidden and this exact message, e.g.
  // the IAM response quoted in cfn-sphere/cfn-sphere#55.
  expiredToken: () => new ServiceError('ExpiredToken', 403, 'The security token included in the request is expired'),
  signatureDoesNotMatch: (message = SIGNATURE_MISMATCH_MESSAGE) =>
    new ServiceError('SignatureDoesNotMatch', 403, message),
  validation: (message: string) => new ServiceError('ValidationError', 400, message),
  malformedPolicy: (message: string) => new ServiceError('MalformedPolicyDocument', 400, message),
  packedPolicyTooLarge: (message: string) => new ServiceError('PackedPolicyTooLarge', 400, message),
  accessDenied: (callerArn: string, roleArn: string) =>
    new ServiceError(
      'AccessDenied',
      403,
      `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    ),
  // AWS's wording for a Deny in the principal's own policies; "on resource: …" only for actions that
  // have a resource.
  explicitDeny: (principalArn: string, action: string, resource: string | undefined) =>
    new ServiceError(
      'AccessDenied',
      403,
      `User: ${principalArn} is not authorized to perform: ${action}${resource === undefined ? '' : ` on resource: ${resource}`} with an explicit deny in an identity-based policy`,
    ),
  invalidAction: (action: string, version: string) =>
    new ServiceError('InvalidAction', 400, `Could not find operation ${action} for version ${version}`),
  missingAction: () => new ServiceError('MissingAction', 400, 'Missing Action'),
  requestTooLarge: () => new ServiceError('RequestEntityTooLarge', 413, 'Request body is too large'),
  internalFailure: () =>
    new ServiceError(
      'InternalFailure',
      500,
      'The request processing has failed because of an unknown error, exception or failure.',
    ),
};

// IAM's wording, as its errors show up in the wild (e.g. serverless/serverless#7643 for LimitExceeded,
// aws-samples/eks-security-compromised-cluster-remediation#8 for the AccessDenied resource form).
const iamErrors = {
  noSuchRole: (roleName: string) => new ServiceError('NoSuchEntity', 404, `The role with name ${roleName} cannot be found.`),
  noSuchRolePolicy: (policyName: string) =>
    new ServiceError('NoSuchEntity', 404, `The role policy with name ${policyName} cannot be found.`),
  limitExceeded: (roleName: string) =>
    new ServiceError('LimitExceeded', 409, `Maximum policy size of ${ROLE_INLINE_POLICIES_LIMIT} bytes exceeded for role ${roleName}`),
  accessDenied: (principalArn: string, action: string, resource: string | undefined) =>
    new ServiceError(
      'AccessDenied',
      403,
      `User: ${principalArn} is not authorized to perform: ${action}${resource === undefined ? '' : ` on resource: ${resource}`} because no identity-based policy allows the ${action} action`,
    ),
};

const FAULT_MESSAGES: Readonly<Record<string, string>> = {
  Throttling: 'Rate exceeded',
  InternalFailure: 'The request processing has failed because of an unknown error, exception or failure.',
  ServiceUnavailable: 'The request has failed due to a temporary failure of the server.',
};

// ---------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------

interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleArn: string;
  assumedRoleArn: string;
  assumedRoleId: string;
  accountId: string;
  sessionName: string;
  sourceIdentity: string | undefined;
  tags: { key: string; value: string }[];
  transitiveTagKeys: string[];
  policy: string | undefined;
  policyArns: string[];
  /** aws:TokenIssueTime, kept to the millisecond so a cut-off between two issues separates them. */
  issuedAt: Date;
  expiration: Date;
  /** Whether AssumeRole named DurationSeconds: AWS's federation endpoint then signs in IAM users' sessions only. */
  namedDuration: boolean;
}

type Principal =
  | { kind: 'caller'; arn: string; userId: string; accountId: string }
  | { kind: 'session'; arn: string; userId: string; accountId: string; session: Session };

/** What is known about a request so far, for the SignedRequestRecord. */
interface RequestContext {
  requestId: string;
  eventName: string;
  accessKeyId: string | undefined;
  identityArn: string | undefined;
  session: Session | undefined;
}

/** Starts the endpoint on `host:port` and resolves once it is listening. */
export async function startLocalSts(options: LocalStsOptions): Promise<LocalSts> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => new Date());
  const defaultAccountId = options.accountId ?? '000000000000';
  const roles = new Map(options.roles.map((role) => [role.arn, role] as const));
  const callers = new Map(options.callers.map((caller) => [caller.accessKeyId, caller] as const));
  const sessions = new Map<string, Session>();
  // IAM names a role by its RoleName, the last segment of its ARN, in the caller's account; names are
  // unique in an account. Keyed by `<account>/<name>`.
  const rolesByName = new Map<string, LocalRole>();
  const inAccount = (accountId: string, roleName: string) => `${accountId}/${roleName}`;
  for (const role of options.roles) {
    const { accountId, roleName } = parseRoleArn(role.arn, defaultAccountId);
    if (rolesByName.has(inAccount(accountId, roleName))) throw new Error(`startLocalSts: two roles in ${accountId} are named ${roleName}`);
    rolesByName.set(inAccount(accountId, roleName), role);
  }
  /** Inline policies: `<account>/<role name>` → policy name → document as sent. */
  const inlinePolicies = new Map<string, Map<string, string>>();
  let fault: LocalStsFault | undefined;

  function takeFault(): ServiceError | undefined {
    if (fault === undefined) return undefined;
    const current = fault;
    if (current.remaining !== undefined) {
      current.remaining -= 1;
      if (current.remaining <= 0) fault = undefined;
    }
    return new ServiceError(current.code, current.status, current.message ?? FAULT_MESSAGES[current.code] ?? current.code);
  }

  async function authenticate(req: IncomingMessage, url: URL, body: Buffer, queryApi: QueryApi, context: RequestContext): Promise<Principal> {
    const header = req.headers.authorization;
    if (header === undefined) {
      if (url.searchParams.has('X-Amz-Signature') || url.searchParams.has('X-Amz-Credential')) {
        throw stsErrors.incompleteSignature('The local STS endpoint does not accept query-string (presigned) signatures.');
      }
      throw stsErrors.missingAuthenticationToken();
    }
    const authorization = parseAuthorization(header);
    context.accessKeyId = authorization.credential.accessKeyId;
    const amzDate = singleHeader(req, 'x-amz-date');
    if (amzDate === undefined) {
      throw stsErrors.incompleteSignature(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      );
    }
    const signingDate = parseAmzDate(amzDate);

    // Key and token first: a request signed with an expired session is answered ExpiredToken, as AWS
    // does, whatever else is wrong with it.
    const { principal, secretAccessKey } = resolveSigner(authorization.credential.accessKeyId, singleHeader(req, 'x-amz-security-token'));

    const { credential } = authorization;
    if (credential.date !== amzDate.slice(0, 8)) {
      throw stsErrors.signatureDoesNotMatch(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${credential.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      );
    }
    if (credential.service !== queryApi.signingService) {
      throw stsErrors.signatureDoesNotMatch(`Credential should be scoped to correct service: '${queryApi.signingService}'. `);
    }
    if (credential.terminator !== 'aws4_request') {
      throw stsErrors.signatureDoesNotMatch(
        `Credential should be scoped with a valid terminator: 'aws4_request', not '${credential.terminator}'. `,
      );
    }
    const serverTime = now();
    if (signingDate.getTime() < serverTime.getTime() - MAX_CLOCK_SKEW_MS) {
      throw stsErrors.signatureDoesNotMatch(
        `Signature expired: ${amzDate} is now earlier than ${toAmzDate(new Date(serverTime.getTime() - MAX_CLOCK_SKEW_MS))} (${toAmzDate(serverTime)} - 15 min.)`,
      );
    }
    if (signingDate.getTime() > serverTime.getTime() + MAX_CLOCK_SKEW_MS) {
      throw stsErrors.signatureDoesNotMatch(
        `Signature not yet current: ${amzDate} is still later than ${toAmzDate(new Date(serverTime.getTime() + MAX_CLOCK_SKEW_MS))} (${toAmzDate(serverTime)} + 15 min.)`,
      );
    }

    const declaredPayloadHash = singleHeader(req, 'x-amz-content-sha256');
    if (declaredPayloadHash !== undefined && declaredPayloadHash !== createHash('sha256').update(body).digest('hex')) {
      throw stsErrors.signatureDoesNotMatch();
    }
    const expected = await recomputeSignature({
      req,
      url,
      body,
      signedHeaders: authorization.signedHeaders,
      signingDate,
      region: credential.region,
      service: queryApi.signingService,
      accessKeyId: credential.accessKeyId,
      secretAccessKey,
    });
    if (expected.signedHeaders !== authorization.signedHeaders.join(';') || !equalHex(expected.signature, authorization.signature)) {
      throw stsErrors.signatureDoesNotMatch();
    }
    context.identityArn = principal.arn;
    if (principal.kind === 'session') context.session = principal.session;
    return principal;
  }

  function resolveSigner(accessKeyId: string, securityToken: string | undefined): { principal: Principal; secretAccessKey: string } {
    const caller = callers.get(accessKeyId);
    if (caller !== undefined) {
      if (securityToken !== undefined) throw stsErrors.invalidClientTokenId();
      const accountId = arnAccount(caller.arn) ?? defaultAccountId;
      const prefix = caller.arn.includes(':role/') ? 'AROA' : 'AIDA';
      return {
        principal: { kind: 'caller', arn: caller.arn, userId: `${prefix}${stableId(caller.arn)}`, accountId },
        secretAccessKey: caller.secretAccessKey,
      };
    }
    const session = sessions.get(accessKeyId);
    if (session === undefined || securityToken === undefined || !equalText(securityToken, session.sessionToken)) {
      throw stsErrors.invalidClientTokenId();
    }
    if (now().getTime() >= session.expiration.getTime()) throw stsErrors.expiredToken();
    return {
      principal: { kind: 'session', arn: session.assumedRoleArn, userId: session.assumedRoleId, accountId: session.accountId, session },
      secretAccessKey: session.secretAccessKey,
    };
  }

  function assumeRole(params: URLSearchParams, principal: Principal, requestId: string): string {
    // 1. Check the parameters against the service model's constraints (all violations, one error).
    // 2. Check what the model cannot express: ARN shape, duplicate tag keys, the policy document.
    // 3. Authorise: the role exists and trusts the caller; sessions never do (no role chaining).
    // 4. Check the duration against the role's MaxSessionDuration and the packed size.
    // 5. Issue and remember the session.
    const request = readAssumeRoleRequest(params);
    validateAssumeRoleRequest(request);
    const roleArn = request.roleArn as string;
    const sessionName = request.roleSessionName as string;
    validateAssumeRoleSemantics(request);

    const role = roles.get(roleArn);
    if (principal.kind === 'session' || role === undefined || !role.trustedPrincipalArns.includes(principal.arn)) {
      throw stsErrors.accessDenied(principal.arn, roleArn);
    }
    const durationSeconds = request.durationSeconds === undefined ? DEFAULT_DURATION_SECONDS : Number(request.durationSeconds);
    if (durationSeconds > role.maxSessionDurationSeconds) {
      throw stsErrors.validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    const tags = request.tags.map((tag) => ({ key: tag.key as string, value: tag.value as string }));
    const policyArns = request.policyArns.map((descriptor) => descriptor.arn).filter((arn): arn is string => arn !== undefined);
    const packed = packedPolicyPercent(request.policy, policyArns, tags);

    const { partition, accountId, roleName } = parseRoleArn(roleArn, defaultAccountId);
    const issuedAt = now();
    const session: Session = {
      accessKeyId: `ASIA${randomUpperAlphanumeric(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(384).toString('base64'),
      roleArn,
      assumedRoleArn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${sessionName}`,
      assumedRoleId: `AROA${stableId(roleArn)}:${sessionName}`,
      accountId,
      sessionName,
      sourceIdentity: request.sourceIdentity,
      tags,
      transitiveTagKeys: request.transitiveTagKeys,
      policy: request.policy,
      policyArns,
      issuedAt,
      // AWS reports whole seconds; keep the stored expiry equal to the one reported.
      expiration: new Date(Math.floor(issuedAt.getTime() / 1000) * 1000 + durationSeconds * 1000),
      namedDuration: request.durationSeconds !== undefined,
    };
    sessions.set(session.accessKeyId, session);

    // PackedPolicySize is reported only when the request passed something that counts against it.
    const reportsPackedSize = request.policy !== undefined || policyArns.length > 0 || tags.length > 0;
    return xmlDocument(STS_API, 'AssumeRoleResponse', [
      xmlElement('AssumeRoleResult', [
        session.sourceIdentity === undefined ? '' : xmlText('SourceIdentity', session.sourceIdentity),
        xmlElement('AssumedRoleUser', [xmlText('Arn', session.assumedRoleArn), xmlText('AssumedRoleId', session.assumedRoleId)]),
        xmlElement('Credentials', [
          xmlText('AccessKeyId', session.accessKeyId),
          xmlText('SecretAccessKey', session.secretAccessKey),
          xmlText('SessionToken', session.sessionToken),
          xmlText('Expiration', toIsoSeconds(session.expiration)),
        ]),
        reportsPackedSize ? xmlText('PackedPolicySize', String(packed.total)) : '',
      ]),
      responseMetadata(requestId),
    ]);
  }

  function getCallerIdentity(principal: Principal, requestId: string): string {
    return xmlDocument(STS_API, 'GetCallerIdentityResponse', [
      xmlElement('GetCallerIdentityResult', [
        xmlText('Arn', principal.arn),
        xmlText('UserId', principal.userId),
        xmlText('Account', principal.accountId),
      ]),
      responseMetadata(requestId),
    ]);
  }

  function getAccessKeyInfo(params: URLSearchParams, requestId: string): string {
    const accessKeyId = params.get('AccessKeyId') ?? undefined;
    const violations = new ConstraintViolations();
    violations.string('accessKeyId', accessKeyId, { required: true, min: 16, max: 128, pattern: [ACCESS_KEY_ID_PATTERN, ACCESS_KEY_ID_PATTERN_TEXT] });
    violations.throwIfAny();
    const caller = callers.get(accessKeyId as string);
    // AWS decodes the account from the key id itself, issued or not. Ours are random, so a key this
    // endpoint did not issue is reported as belonging to its default account.
    const account = caller === undefined ? (sessions.get(accessKeyId as string)?.accountId ?? defaultAccountId) : (arnAccount(caller.arn) ?? defaultAccountId);
    return xmlDocument(STS_API, 'GetAccessKeyInfoResponse', [
      xmlElement('GetAccessKeyInfoResult', [xmlText('Account', account)]),
      responseMetadata(requestId),
    ]);
  }

  /** The inline policies by name of the caller's account's role; NoSuchEntity for a role it does not have. */
  function policiesOfRole(principal: Principal, roleName: string): Map<string, string> {
    const key = inAccount(principal.accountId, roleName);
    if (!rolesByName.has(key)) throw iamErrors.noSuchRole(roleName);
    let policies = inlinePolicies.get(key);
    if (policies === undefined) {
      policies = new Map();
      inlinePolicies.set(key, policies);
    }
    return policies;
  }

  function putRolePolicy(params: URLSearchParams, principal: Principal, requestId: string): string {
    // 1. Check the parameters against the service model's constraints (ValidationError).
    // 2. The role must exist (NoSuchEntity), the document must be an identity policy
    //    (MalformedPolicyDocument).
    // 3. The role's inline policies together, this one replacing any of the same name, must stay
    //    within 10,240 characters, whitespace not counted (LimitExceeded).
    // 4. Store it as sent: GetRolePolicy returns the caller's own text.
    const { roleName, policyName, policyDocument } = readRolePolicyRequest(params, { withDocument: true });
    const policies = policiesOfRole(principal, roleName);
    validatePolicyDocument(policyDocument, 'identity');
    let total = policySize(policyDocument);
    for (const [name, document] of policies) if (name !== policyName) total += policySize(document);
    if (total > ROLE_INLINE_POLICIES_LIMIT) throw iamErrors.limitExceeded(roleName);
    policies.set(policyName, policyDocument);
    return xmlDocument(IAM_API, 'PutRolePolicyResponse', [responseMetadata(requestId)]);
  }

  function getRolePolicy(params: URLSearchParams, principal: Principal, requestId: string): string {
    const { roleName, policyName } = readRolePolicyRequest(params, { withDocument: false });
    const document = policiesOfRole(principal, roleName).get(policyName);
    if (document === undefined) throw iamErrors.noSuchRolePolicy(policyName);
    return xmlDocument(IAM_API, 'GetRolePolicyResponse', [
      xmlElement('GetRolePolicyResult', [
        xmlText('PolicyName', policyName),
        xmlText('RoleName', roleName),
        // IAM returns the document URL-encoded (RFC 3986) and the SDK hands it over as it came.
        xmlText('PolicyDocument', encodeRfc3986(document)),
      ]),
      responseMetadata(requestId),
    ]);
  }

  function listRolePolicies(params: URLSearchParams, principal: Principal, requestId: string): string {
    const roleName = params.get('RoleName') ?? undefined;
    const violations = new ConstraintViolations();
    violations.string('roleName', roleName, { required: true, min: 1, max: 64, pattern: [IAM_NAME_PATTERN, IAM_NAME_PATTERN_TEXT] });
    violations.throwIfAny();
    const names = [...policiesOfRole(principal, roleName as string).keys()].sort();
    // One page: a role has at most a few inline policies here (IAM pages at 100 by default).
    return xmlDocument(IAM_API, 'ListRolePoliciesResponse', [
      xmlElement('ListRolePoliciesResult', [
        xmlElement('PolicyNames', names.map((name) => xmlText('member', name))),
        xmlText('IsTruncated', 'false'),
      ]),
      responseMetadata(requestId),
    ]);
  }

  /** The role of that name in the caller's account, as IAM describes it (the fields the SDK requires, and its trust). */
  function getRole(params: URLSearchParams, principal: Principal, requestId: string): string {
    const roleName = params.get('RoleName') ?? undefined;
    const violations = new ConstraintViolations();
    violations.string('roleName', roleName, { required: true, min: 1, max: 64, pattern: [IAM_NAME_PATTERN, IAM_NAME_PATTERN_TEXT] });
    violations.throwIfAny();
    const role = rolesByName.get(inAccount(principal.accountId, roleName as string));
    if (role === undefined) throw iamErrors.noSuchRole(roleName as string);
    const resource = role.arn.slice(role.arn.indexOf(':role/') + ':role'.length);
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: role.trustedPrincipalArns }, Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'] }],
    };
    return xmlDocument(IAM_API, 'GetRoleResponse', [
      xmlElement('GetRoleResult', [
        xmlElement('Role', [
          xmlText('Path', resource.slice(0, resource.lastIndexOf('/') + 1)),
          xmlText('RoleName', roleName as string),
          xmlText('RoleId', `AROA${createHash('sha256').update(role.arn).digest('hex').slice(0, 17).toUpperCase()}`),
          xmlText('Arn', role.arn),
          xmlText('CreateDate', ROLES_CREATED_AT),
          xmlText('AssumeRolePolicyDocument', encodeRfc3986(JSON.stringify(trust))),
          xmlText('MaxSessionDuration', String(role.maxSessionDurationSeconds)),
        ]),
      ]),
      responseMetadata(requestId),
    ]);
  }

  function deleteRolePolicy(params: URLSearchParams, principal: Principal, requestId: string): string {
    const { roleName, policyName } = readRolePolicyRequest(params, { withDocument: false });
    const policies = policiesOfRole(principal, roleName);
    if (!policies.delete(policyName)) throw iamErrors.noSuchRolePolicy(policyName);
    return xmlDocument(IAM_API, 'DeleteRolePolicyResponse', [responseMetadata(requestId)]);
  }

  /** What an action needs beyond its handler: the resource it acts on and who may call it. */
  interface Operation {
    serve: (params: URLSearchParams, principal: Principal, requestId: string) => string;
    /** The resource a Deny's Resource is matched against and an error message names; none means `*`. */
    resource?: (params: URLSearchParams, principal: Principal) => { arn: string; inMessage: string } | undefined;
    /** GetCallerIdentity: "no permissions are required", so even an explicit deny cannot stop it. */
    neverDenied?: boolean;
    /**
     * IAM: only the configured long-term callers (tvm) may call it, and sessions of a role that
     * `mayChangeRolePolicies`, on the other roles of its account; other sessions have no Allow for it.
     */
    rolePolicyAdmins?: boolean;
  }

  const roleNamed = (params: URLSearchParams, principal: Principal) => {
    const roleName = params.get('RoleName');
    if (roleName === null) return undefined;
    const arn = rolesByName.get(inAccount(principal.accountId, roleName))?.arn ?? `arn:aws:iam::${principal.accountId}:role/${roleName}`;
    return { arn, inMessage: `role ${roleName}` };
  };
  /** A session may change the role policies of `roleArn`: its role may, and the role is another of its account. */
  const sessionMayChange = (session: Session, roleArn: string | undefined) =>
    roles.get(session.roleArn)?.mayChangeRolePolicies === true &&
    roleArn !== undefined &&
    arnAccount(roleArn) === session.accountId &&
    parseRoleArn(roleArn, defaultAccountId).roleName !== parseRoleArn(session.roleArn, defaultAccountId).roleName;
  const operations: ReadonlyMap<QueryApi, ReadonlyMap<string, Operation>> = new Map([
    [
      STS_API,
      new Map<string, Operation>([
        [
          'AssumeRole',
          {
            serve: assumeRole,
            resource: (params) => {
              const roleArn = params.get('RoleArn');
              return roleArn === null ? undefined : { arn: roleArn, inMessage: roleArn };
            },
          },
        ],
        ['GetAccessKeyInfo', { serve: (params, _principal, requestId) => getAccessKeyInfo(params, requestId) }],
        ['GetCallerIdentity', { serve: (_params, principal, requestId) => getCallerIdentity(principal, requestId), neverDenied: true }],
      ]),
    ],
    [
      IAM_API,
      new Map<string, Operation>([
        ['PutRolePolicy', { serve: putRolePolicy, resource: roleNamed, rolePolicyAdmins: true }],
        ['GetRolePolicy', { serve: getRolePolicy, resource: roleNamed, rolePolicyAdmins: true }],
        ['DeleteRolePolicy', { serve: deleteRolePolicy, resource: roleNamed, rolePolicyAdmins: true }],
        ['ListRolePolicies', { serve: listRolePolicies, resource: roleNamed, rolePolicyAdmins: true }],
        ['GetRole', { serve: getRole, resource: roleNamed, rolePolicyAdmins: true }],
      ]),
    ],
  ]);

  /** Whether a Deny in the session's role's inline policies (a cut-off) refuses it this action. */
  function deniedByRole(session: Session, action: string, resource: string): boolean {
    const policies = inlinePolicies.get(inAccount(session.accountId, parseRoleArn(session.roleArn, defaultAccountId).roleName))?.values() ?? [];
    const attributes = { userId: session.assumedRoleId, sourceIdentity: session.sourceIdentity, tokenIssueTime: session.issuedAt, tags: session.tags };
    return findExplicitDeny(policies, { action, resource, session: attributes }) !== undefined;
  }

  function verifySession(credentials: SessionCredentials): SessionVerdict {
    const session = sessions.get(credentials.accessKeyId);
    const matches = session !== undefined && equalText(credentials.secretAccessKey, session.secretAccessKey) && equalText(credentials.sessionToken, session.sessionToken);
    if (!matches) return { valid: false, status: 400, reason: 'not a session this endpoint issued, or its secret or token is wrong' };
    if (now().getTime() >= session.expiration.getTime()) return { valid: false, status: 400, reason: 'the session has expired' };
    // AWS documents it so: a session whose AssumeRole named DurationSeconds signs in only if an IAM
    // user (long-term keys) assumed it, which tvm's functions never are.
    if (session.namedDuration) return { valid: false, status: 400, reason: 'the session was assumed with DurationSeconds by a caller that is not an IAM user' };
    // tvm's cut-off statements deny `*` on `*`: a cut-off session gets no console either.
    if (deniedByRole(session, 'signin:GetSigninToken', '*')) return { valid: false, status: 403, reason: "the session is denied by its role's policies (cut off)" };
    return { valid: true, assumedRoleArn: session.assumedRoleArn, expiration: new Date(session.expiration) };
  }

  const federation = createLocalFederation({ verifySession, now, consoleUrl: () => api.awsConsoleUrl });

  function dispatch(queryApi: QueryApi, params: URLSearchParams, principal: Principal, requestId: string): string {
    // 1. Find the operation; a missing or unknown action is refused whoever asks.
    // 2. Sessions: a Deny in their role's inline policies refuses everything but GetCallerIdentity.
    //    It is checked before the parameters, so a cut-off session learns nothing more.
    // 3. Sessions may not call IAM, but those of a role that mayChangeRolePolicies (on the others of its account).
    // 4. Serve it.
    const action = params.get('Action');
    if (action === null || action === '') throw stsErrors.missingAction();
    const version = params.get('Version');
    if (version !== null && version !== queryApi.version) throw stsErrors.invalidAction(action, version);
    const operation = operations.get(queryApi)?.get(action);
    if (operation === undefined) throw stsErrors.invalidAction(action, queryApi.version);

    const policyAction = `${queryApi.signingService}:${action}`;
    const resource = operation.resource?.(params, principal);
    if (principal.kind === 'session') {
      const { session } = principal;
      const denied = operation.neverDenied !== true && deniedByRole(session, policyAction, resource?.arn ?? '*');
      if (denied) throw stsErrors.explicitDeny(principal.arn, policyAction, resource?.inMessage);
      if (operation.rolePolicyAdmins === true && !sessionMayChange(session, resource?.arn)) {
        throw iamErrors.accessDenied(principal.arn, policyAction, resource?.inMessage);
      }
    }
    return operation.serve(params, principal, requestId);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const context: RequestContext = { requestId: randomUUID(), eventName: '', accessKeyId: undefined, identityArn: undefined, session: undefined };
    let status = 200;
    let xml: string;
    let failure: ServiceError | undefined;
    let queryApi = STS_API;
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://local-sts');
      if (url.pathname.startsWith(CONTROL_PREFIX)) return control(req, res, url, body);
      if (url.pathname === FEDERATION_PATH || url.pathname.startsWith(`${FEDERATION_PATH}/`)) return federation(req, res, url);
      const params = readParams(req, url, body);
      // Stands in for the host name AWS would route on: IAM and STS share this listener.
      queryApi = params.get('Version') === IAM_API.version ? IAM_API : STS_API;
      context.eventName = params.get('Action') ?? '';
      const principal = await authenticate(req, url, body, queryApi, context);
      const injected = takeFault();
      if (injected !== undefined) throw injected;
      xml = dispatch(queryApi, params, principal, context.requestId);
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
    recordSignedRequest(req, context, queryApi, failure);
    sendXml(res, status, xml, context.requestId, now());
  }

  /**
   * Dev-only control routes, so tests in other processes can drive the endpoint:
   * PUT /_local/fault {code,status,message?,remaining?} · DELETE /_local/fault · GET /_local/sessions
   * (issued sessions without secrets) · GET /_local/role-policies (see rolePolicies()). Not part of
   * STS or IAM; never signed.
   */
  function control(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    const reply = (status: number, value?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(value === undefined ? undefined : JSON.stringify(value));
    };
    const route = `${req.method} ${url.pathname.slice(CONTROL_PREFIX.length)}`;
    if (route === 'GET sessions') return reply(200, api.issuedSessions());
    if (route === 'GET role-policies') return reply(200, api.rolePolicies());
    if (route === 'DELETE fault') return (api.setFault(undefined), reply(204));
    if (route === 'PUT fault') {
      const fault = controlFaultSchema.safeParse(JSON.parse(body.toString('utf8') || 'null'));
      if (!fault.success) return reply(400, { error: fault.error.message });
      api.setFault(fault.data);
      return reply(204);
    }
    reply(404, { error: `unknown control route ${route}` });
  }

  function recordSignedRequest(req: IncomingMessage, context: RequestContext, queryApi: QueryApi, failure: ServiceError | undefined): void {
    if (options.onSignedRequest === undefined || context.accessKeyId === undefined) return;
    const record: SignedRequestRecord = {
      eventTime: toIsoSeconds(now()),
      eventSource: `${queryApi.signingService}.amazonaws.com`,
      eventName: context.eventName,
      accessKeyId: context.accessKeyId,
      sourceIPAddress: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      userAgent: singleHeader(req, 'user-agent') ?? '',
      requestId: context.requestId,
    };
    if (failure !== undefined) {
      record.errorCode = failure.code;
      record.errorMessage = failure.message;
    }
    if (context.identityArn !== undefined) record.identityArn = context.identityArn;
    if (context.session !== undefined) record.session = sessionOfRecord(context.session);
    try {
      options.onSignedRequest(record);
    } catch (error) {
      // A listener's bug must not take the endpoint down with it.
      console.error('local STS: onSignedRequest threw', error);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
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
    verifySession,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      }),
    setFault: (next) => {
      if (next !== undefined && next.remaining !== undefined && !(next.remaining >= 0)) {
        throw new Error('setFault: remaining must be zero or more');
      }
      fault = next === undefined || next.remaining === 0 ? undefined : { ...next };
    },
    issuedSessions: () =>
      [...sessions.values()].map((session) => {
        const view: IssuedSession = {
          accessKeyId: session.accessKeyId,
          roleArn: session.roleArn,
          assumedRoleArn: session.assumedRoleArn,
          sessionName: session.sessionName,
          tags: session.tags.map((tag) => ({ ...tag })),
          expiration: new Date(session.expiration),
        };
        if (session.sourceIdentity !== undefined) view.sourceIdentity = session.sourceIdentity;
        if (session.policy !== undefined) view.policy = session.policy;
        return view;
      }),
    rolePolicies: (accountId = defaultAccountId) =>
      Object.fromEntries(
        [...rolesByName.keys()]
          .filter((key) => key.startsWith(`${accountId}/`))
          .map((key) => [key.slice(accountId.length + 1), Object.fromEntries(inlinePolicies.get(key) ?? [])]),
      ),
  };
  return api;
}

function sessionOfRecord(session: Session): SignedRequestSession {
  const view: SignedRequestSession = {
    roleArn: session.roleArn,
    assumedRoleArn: session.assumedRoleArn,
    principalId: session.assumedRoleId,
    sessionName: session.sessionName,
    issuedAt: session.issuedAt.toISOString(),
    accountId: session.accountId,
  };
  if (session.sourceIdentity !== undefined) view.sourceIdentity = session.sourceIdentity;
  return view;
}

const CONTROL_PREFIX = '/_local/';
const controlFaultSchema = z
  .object({
    code: z.string().min(1),
    status: z.number().int().min(400).max(599),
    message: z.string().optional(),
    remaining: z.number().int().min(0).optional(),
  })
  .strict();

// ---------------------------------------------------------------------------------------------------
// AssumeRole parameters
// ---------------------------------------------------------------------------------------------------

interface AssumeRoleRequest {
  roleArn: string | undefined;
  roleSessionName: string | undefined;
  durationSeconds: string | undefined;
  policy: string | undefined;
  policyArns: { arn: string | undefined }[];
  tags: { key: string | undefined; value: string | undefined }[];
  transitiveTagKeys: string[];
  externalId: string | undefined;
  serialNumber: string | undefined;
  tokenCode: string | undefined;
  sourceIdentity: string | undefined;
}

function readAssumeRoleRequest(params: URLSearchParams): AssumeRoleRequest {
  const optional = (name: string): string | undefined => params.get(name) ?? undefined;
  return {
    roleArn: optional('RoleArn'),
    roleSessionName: optional('RoleSessionName'),
    durationSeconds: optional('DurationSeconds'),
    policy: optional('Policy'),
    policyArns: readMemberList(params, 'PolicyArns').map((member) => ({ arn: member.get('arn') })),
    tags: readMemberList(params, 'Tags').map((member) => ({ key: member.get('Key'), value: member.get('Value') })),
    transitiveTagKeys: readMemberList(params, 'TransitiveTagKeys').map((member) => member.get('') ?? ''),
    externalId: optional('ExternalId'),
    serialNumber: optional('SerialNumber'),
    tokenCode: optional('TokenCode'),
    sourceIdentity: optional('SourceIdentity'),
  };
}

/**
 * Query-protocol lists: `Name.member.N` (scalars, field '') or `Name.member.N.Field` (structures),
 * returned in index order.
 */
function readMemberList(params: URLSearchParams, name: string): Map<string, string>[] {
  const members = new Map<number, Map<string, string>>();
  const prefix = `${name}.member.`;
  for (const [key, value] of params) {
    if (!key.startsWith(prefix)) continue;
    const match = /^(\d+)(?:\.(.+))?$/.exec(key.slice(prefix.length));
    if (match === null) continue;
    const index = Number(match[1]);
    const fields = members.get(index) ?? new Map<string, string>();
    fields.set(match[2] ?? '', value);
    members.set(index, fields);
  }
  return [...members.entries()].sort(([a], [b]) => a - b).map(([, fields]) => fields);
}

// Patterns from the STS service model (fixtures/sts/assumerole-constraints.md, section B).
const ARN_PATTERN = /^[\t\n\r\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u;
const ARN_PATTERN_TEXT = '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+';
const SESSION_NAME_PATTERN = /^[\w+=,.@-]*$/;
const SESSION_NAME_PATTERN_TEXT = '[\\w+=,.@-]*';
const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]*$/;
const EXTERNAL_ID_PATTERN_TEXT = '[\\w+=,.@:\\/-]*';
const SERIAL_NUMBER_PATTERN = /^[\w+=/:,.@-]*$/;
const SERIAL_NUMBER_PATTERN_TEXT = '[\\w+=/:,.@-]*';
const TOKEN_CODE_PATTERN = /^\d*$/;
const TOKEN_CODE_PATTERN_TEXT = '[\\d]*';
const POLICY_PATTERN = /^[\t\n\r\u0020-\u00FF]+$/;
const POLICY_PATTERN_TEXT = '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+';
const TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_KEY_PATTERN_TEXT = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+';
const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_VALUE_PATTERN_TEXT = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*';

interface StringConstraint {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: readonly [RegExp, string];
}

/** Collects model-constraint violations and reports them as AWS does: "N validation errors detected: …". */
class ConstraintViolations {
  private readonly messages: string[] = [];

  string(at: string, value: string | undefined, constraint: StringConstraint): void {
    if (value === undefined) {
      if (constraint.required === true) this.add(`Value null at '${at}' failed to satisfy constraint: Member must not be null`);
      return;
    }
    const fail = (rule: string) => this.add(`Value '${value}' at '${at}' failed to satisfy constraint: ${rule}`);
    if (constraint.min !== undefined && value.length < constraint.min) fail(`Member must have length greater than or equal to ${constraint.min}`);
    if (constraint.max !== undefined && value.length > constraint.max) fail(`Member must have length less than or equal to ${constraint.max}`);
    if (constraint.pattern !== undefined && !constraint.pattern[0].test(value)) {
      fail(`Member must satisfy regular expression pattern: ${constraint.pattern[1]}`);
    }
  }

  integer(at: string, value: string | undefined, min: number, max: number): void {
    if (value === undefined) return;
    if (!/^-?\d+$/.test(value)) {
      this.add(`Value '${value}' at '${at}' failed to satisfy constraint: Member must be an integer`);
      return;
    }
    const number = Number(value);
    if (number < min) this.add(`Value '${value}' at '${at}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
    if (number > max) this.add(`Value '${value}' at '${at}' failed to satisfy constraint: Member must have value less than or equal to ${max}`);
  }

  listSize(at: string, size: number, max: number): void {
    if (size > max) this.add(`Value with ${size} members at '${at}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  }

  throwIfAny(): void {
    const count = this.messages.length;
    if (count === 0) return;
    throw stsErrors.validation(`${count} validation error${count === 1 ? '' : 's'} detected: ${this.messages.join('; ')}`);
  }

  private add(message: string): void {
    this.messages.push(message);
  }
}

function validateAssumeRoleRequest(request: AssumeRoleRequest): void {
  const violations = new ConstraintViolations();
  violations.string('roleArn', request.roleArn, { required: true, min: 20, max: 2048, pattern: [ARN_PATTERN, ARN_PATTERN_TEXT] });
  violations.string('roleSessionName', request.roleSessionName, {
    required: true,
    min: 2,
    max: 64,
    pattern: [SESSION_NAME_PATTERN, SESSION_NAME_PATTERN_TEXT],
  });
  violations.integer('durationSeconds', request.durationSeconds, MIN_DURATION_SECONDS, MODEL_MAX_DURATION_SECONDS);
  // Plaintext over 2,048 characters is a ValidationError in this form: it is the wording AWS used
  // while the model still carried the 2,048 maximum (older SDK models, see assumerole-constraints.md)
  // and the limit is still documented. Not MalformedPolicyDocument (the document may be well-formed)
  // and not PackedPolicyTooLarge (the docs call the packed limit separate from the plaintext one).
  violations.string('policy', request.policy, { min: 1, max: POLICY_PLAINTEXT_LIMIT, pattern: [POLICY_PATTERN, POLICY_PATTERN_TEXT] });
  // The 10-ARN limit is prose-only in the docs; the model has no list maximum, so this wording is ours.
  violations.listSize('policyArns', request.policyArns.length, MAX_POLICY_ARNS);
  request.policyArns.forEach((descriptor, index) =>
    violations.string(`policyArns.${index + 1}.member.arn`, descriptor.arn, { min: 20, max: 2048, pattern: [ARN_PATTERN, ARN_PATTERN_TEXT] }),
  );
  violations.listSize('tags', request.tags.length, MAX_TAGS);
  request.tags.forEach((tag, index) => {
    violations.string(`tags.${index + 1}.member.key`, tag.key, { required: true, min: 1, max: 128, pattern: [TAG_KEY_PATTERN, TAG_KEY_PATTERN_TEXT] });
    violations.string(`tags.${index + 1}.member.value`, tag.value, { required: true, min: 0, max: 256, pattern: [TAG_VALUE_PATTERN, TAG_VALUE_PATTERN_TEXT] });
  });
  violations.listSize('transitiveTagKeys', request.transitiveTagKeys.length, MAX_TAGS);
  request.transitiveTagKeys.forEach((key, index) =>
    violations.string(`transitiveTagKeys.${index + 1}.member`, key, { min: 1, max: 128, pattern: [TAG_KEY_PATTERN, TAG_KEY_PATTERN_TEXT] }),
  );
  violations.string('externalId', request.externalId, { min: 2, max: 1224, pattern: [EXTERNAL_ID_PATTERN, EXTERNAL_ID_PATTERN_TEXT] });
  violations.string('serialNumber', request.serialNumber, { min: 9, max: 256, pattern: [SERIAL_NUMBER_PATTERN, SERIAL_NUMBER_PATTERN_TEXT] });
  violations.string('tokenCode', request.tokenCode, { min: 6, max: 6, pattern: [TOKEN_CODE_PATTERN, TOKEN_CODE_PATTERN_TEXT] });
  // The documented "must not begin with aws:" needs no rule of its own: the pattern admits no ':'.
  violations.string('sourceIdentity', request.sourceIdentity, {
    min: 2,
    max: 64,
    pattern: [SESSION_NAME_PATTERN, SESSION_NAME_PATTERN_TEXT],
  });
  violations.throwIfAny();
}

function validateAssumeRoleSemantics(request: AssumeRoleRequest): void {
  if (!/^arn:[^:]+:[^:]*:[^:]*:[^:]*:.+$/.test(request.roleArn ?? '')) throw stsErrors.validation('Request ARN is invalid');

  const seenKeys = new Set<string>();
  for (const tag of request.tags) {
    const folded = (tag.key ?? '').toLowerCase();
    if (seenKeys.has(folded)) {
      // IAM's wording for the same rule; STS's own wording for this case is not documented.
      throw stsErrors.validation('Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    }
    seenKeys.add(folded);
  }

  if (request.policy !== undefined) validatePolicyDocument(request.policy);
}

/**
 * A session policy (AssumeRole's Policy) or an identity policy (PutRolePolicy's PolicyDocument). IAM
 * defaults a missing Version to 2008-10-17 in identity policies, and refuses a Principal in them.
 */
function validatePolicyDocument(policy: string, kind: 'session' | 'identity' = 'session'): void {
  let document: unknown;
  try {
    document = JSON.parse(policy);
  } catch {
    throw stsErrors.malformedPolicy('Syntax errors in policy.');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw stsErrors.malformedPolicy('Syntax errors in policy.');
  }
  const { Version: version, Statement: statement } = document as Record<string, unknown>;
  const versionOptional = kind === 'identity' && version === undefined;
  if (!versionOptional && version !== '2012-10-17' && version !== '2008-10-17') {
    throw stsErrors.malformedPolicy('The policy must contain a valid version string');
  }
  const statements: unknown[] = Array.isArray(statement) ? statement : [statement];
  if (statement === undefined || statements.length === 0 || !statements.every((s) => typeof s === 'object' && s !== null && !Array.isArray(s))) {
    throw stsErrors.malformedPolicy('The policy must contain at least one statement in a Statement element');
  }
  if (kind === 'identity' && statements.some((s) => 'Principal' in (s as object) || 'NotPrincipal' in (s as object))) {
    throw stsErrors.malformedPolicy('Policy document should not specify a principal.');
  }
}

// ---------------------------------------------------------------------------------------------------
// IAM inline role policy parameters
// ---------------------------------------------------------------------------------------------------

// Patterns and lengths from the IAM service model (roleNameType, policyNameType, policyDocumentType).
const IAM_NAME_PATTERN = /^[\w+=,.@-]+$/;
const IAM_NAME_PATTERN_TEXT = '[\\w+=,.@-]+';
const POLICY_DOCUMENT_MAX = 131072;
// The STS model's accessKeyIdType.
const ACCESS_KEY_ID_PATTERN = /^\w*$/;
const ACCESS_KEY_ID_PATTERN_TEXT = '[\\w]*';

interface RolePolicyRequest {
  roleName: string;
  policyName: string;
  policyDocument: string;
}

/** RoleName, PolicyName and (for PutRolePolicy) PolicyDocument, or a ValidationError naming all violations. */
function readRolePolicyRequest(params: URLSearchParams, options: { withDocument: boolean }): RolePolicyRequest {
  const roleName = params.get('RoleName') ?? undefined;
  const policyName = params.get('PolicyName') ?? undefined;
  const policyDocument = params.get('PolicyDocument') ?? undefined;
  const violations = new ConstraintViolations();
  violations.string('roleName', roleName, { required: true, min: 1, max: 64, pattern: [IAM_NAME_PATTERN, IAM_NAME_PATTERN_TEXT] });
  violations.string('policyName', policyName, { required: true, min: 1, max: 128, pattern: [IAM_NAME_PATTERN, IAM_NAME_PATTERN_TEXT] });
  if (options.withDocument) {
    violations.string('policyDocument', policyDocument, { required: true, min: 1, max: POLICY_DOCUMENT_MAX, pattern: [POLICY_PATTERN, POLICY_PATTERN_TEXT] });
  }
  violations.throwIfAny();
  return { roleName: roleName as string, policyName: policyName as string, policyDocument: policyDocument ?? '' };
}

/** A policy's size as IAM counts it against the quota: without the whitespace between tokens. */
function policySize(document: string): number {
  return JSON.stringify(JSON.parse(document)).length;
}

/** encodeURIComponent leaves !'()* alone; RFC 3986, which IAM follows, reserves them. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A plausible PackedPolicySize. AWS compresses the policy, policy ARNs and tags into a binary whose
 * format is not published; we count the minified policy, the ARNs and the tags' UTF-8 bytes against a
 * 2,048-byte budget. Real packing can be stricter (users report a 1,690-character policy with 42
 * actions at 157%), so passing here does not prove AWS will accept a policy.
 */
function packedPolicyPercent(
  policy: string | undefined,
  policyArns: string[],
  tags: { key: string; value: string }[],
): { total: number } {
  const policyBytes = policy === undefined ? 0 : JSON.stringify(JSON.parse(policy)).length;
  const arnBytes = policyArns.reduce((sum, arn) => sum + arn.length, 0);
  const tagBytes = tags.reduce((sum, tag) => sum + Buffer.byteLength(tag.key) + Buffer.byteLength(tag.value), 0);
  const percent = (bytes: number) => Math.ceil((bytes / PACKED_BUDGET_BYTES) * 100);
  const tagPercent = percent(tagBytes);
  // AWS's two messages (re:Post knowledge-center article "iam-role-aws-sts-error").
  if (tagPercent > 100) throw stsErrors.packedPolicyTooLarge(`Packed size of session tags consumes ${tagPercent}% of allotted space.`);
  const total = percent(policyBytes + arnBytes + tagBytes);
  if (total > 100) throw stsErrors.packedPolicyTooLarge(`Packed policy consumes ${total}% of allotted space, please use smaller policy.`);
  return { total };
}

// ---------------------------------------------------------------------------------------------------
// SigV4
// ---------------------------------------------------------------------------------------------------

interface ParsedAuthorization {
  credential: { accessKeyId: string; date: string; region: string; service: string; terminator: string };
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization {
  const space = header.indexOf(' ');
  const algorithm = space === -1 ? header : header.slice(0, space);
  if (algorithm !== SIGNING_ALGORITHM) throw stsErrors.incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}'`);
  const parts = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const equals = part.indexOf('=');
    if (equals !== -1) parts.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  const missing = [
    credential === undefined ? "Authorization header requires 'Credential' parameter." : '',
    signature === undefined ? "Authorization header requires 'Signature' parameter." : '',
    signedHeaders === undefined ? "Authorization header requires 'SignedHeaders' parameter." : '',
  ].filter((message) => message !== '');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw stsErrors.incompleteSignature(missing.join(' '));
  }
  const scope = credential.split('/');
  const [accessKeyId, date, region, service, terminator] = scope;
  if (scope.length !== 5 || accessKeyId === undefined || date === undefined || region === undefined || service === undefined || terminator === undefined) {
    throw stsErrors.incompleteSignature(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  return {
    credential: { accessKeyId, date, region, service, terminator },
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

function parseAmzDate(value: string): Date {
  const basicFormat = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
  const date = basicFormat.test(value) ? new Date(value.replace(basicFormat, '$1-$2-$3T$4:$5:$6Z')) : new Date(NaN);
  // The round trip also rejects dates like 20260231 that Date would roll over.
  if (Number.isNaN(date.getTime()) || toAmzDate(date) !== value) {
    throw stsErrors.incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${value}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  return date;
}

/**
 * Signs a copy of the received request, holding only the headers the client says it signed, with
 * @smithy/signature-v4 (the SDK's own signer) and the secret we hold for the access key.
 */
async function recomputeSignature(input: {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  signedHeaders: string[];
  signingDate: Date;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
}): Promise<{ signature: string; signedHeaders: string }> {
  const headers: Record<string, string> = {};
  for (const name of input.signedHeaders) {
    const values = input.req.headersDistinct[name];
    if (values !== undefined) headers[name] = values.join(',');
  }
  const request = new HttpRequest({
    method: input.req.method ?? 'GET',
    protocol: 'http:',
    hostname: input.url.hostname,
    path: safeDecode(input.url.pathname),
    query: parseRawQuery(input.url.search),
    headers,
    body: input.body.length === 0 ? undefined : new Uint8Array(input.body),
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
    region: input.region,
    service: input.service,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(request, {
    signingDate: input.signingDate,
    signingRegion: input.region,
    signingService: input.service,
    signableHeaders: new Set(input.signedHeaders),
  });
  const produced = parseAuthorization(String(signed.headers['authorization']));
  return { signature: produced.signature, signedHeaders: produced.signedHeaders.join(';') };
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape @smithy/signature-v4 expects. */
export class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.create();
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key =
      typeof this.secret === 'string'
        ? Buffer.from(this.secret, 'utf8')
        : ArrayBuffer.isView(this.secret)
          ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
}

// ---------------------------------------------------------------------------------------------------
// HTTP and XML helpers
// ---------------------------------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    // Keep draining past the limit so the client gets the error rather than a reset connection.
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  if (size > MAX_BODY_BYTES) throw stsErrors.requestTooLarge();
  return Buffer.concat(chunks);
}

/** Query parameters, overlaid by a form-encoded body (the SDK's POST). */
function readParams(req: IncomingMessage, url: URL, body: Buffer): URLSearchParams {
  const params = new URLSearchParams(url.search);
  const contentType = singleHeader(req, 'content-type') ?? '';
  if (req.method === 'POST' && contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value);
  }
  return params;
}

/** The query as SigV4 sees it: percent-decoded names and values, '+' left alone. */
function parseRawQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = safeDecode(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : safeDecode(pair.slice(equals + 1));
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function sendXml(res: ServerResponse, status: number, xml: string, requestId: string, serverTime: Date): void {
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amzn-requestid': requestId,
    date: serverTime.toUTCString(),
  });
  res.end(xml);
}

function errorDocument(queryApi: QueryApi, error: ServiceError, requestId: string): string {
  return xmlDocument(queryApi, 'ErrorResponse', [
    xmlElement('Error', [
      xmlText('Type', error.status >= 500 ? 'Receiver' : 'Sender'),
      xmlText('Code', error.code),
      xmlText('Message', error.message),
    ]),
    xmlText('RequestId', requestId),
  ]);
}

function responseMetadata(requestId: string): string {
  return xmlElement('ResponseMetadata', [xmlText('RequestId', requestId)]);
}

function xmlDocument(queryApi: QueryApi, root: string, children: string[]): string {
  return `<${root} xmlns="${queryApi.namespace}">\n${children.filter((child) => child !== '').join('\n')}\n</${root}>\n`;
}

function xmlElement(name: string, children: string[]): string {
  return `<${name}>${children.filter((child) => child !== '').join('')}</${name}>`;
}

function xmlText(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

/** Escapes a value for a text node (the only place values go, so quotes need no escaping). */
function escapeXml(value: string): string {
  return value
    .replace(XML_FORBIDDEN_CHARS, '\uFFFD')
    .replace(/[&<>\r]/g, (char) => XML_ESCAPES[char] ?? char);
}

// Characters XML 1.0 cannot carry even as references; error messages echo raw input, so they can occur.
const XML_FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  // A raw CR would be normalised away by the client's XML parser.
  '\r': '&#13;',
};

// ---------------------------------------------------------------------------------------------------
// Identifiers, ARNs and time
// ---------------------------------------------------------------------------------------------------

const UPPER_ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomUpperAlphanumeric(length: number): string {
  let result = '';
  while (result.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 252 = 7 × 36: drop the bytes that would bias the first few characters.
      if (byte < 252 && result.length < length) result += UPPER_ALPHANUMERIC.charAt(byte % 36);
    }
  }
  return result;
}

/** 16 upper-case alphanumerics derived from `seed`, so a role keeps its AROA id across restarts. */
function stableId(seed: string): string {
  return [...createHash('sha256').update(seed).digest().subarray(0, 16)].map((byte) => UPPER_ALPHANUMERIC.charAt(byte % 36)).join('');
}

function arnAccount(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account !== undefined && /^\d{12}$/.test(account) ? account : undefined;
}

function parseRoleArn(arn: string, defaultAccountId: string): { partition: string; accountId: string; roleName: string } {
  const fields = arn.split(':');
  const resource = fields.slice(5).join(':');
  return {
    partition: fields[1] ?? 'aws',
    accountId: arnAccount(arn) ?? defaultAccountId,
    // The assumed-role ARN carries the role's name without its path.
    roleName: resource.slice(resource.lastIndexOf('/') + 1),
  };
}

function equalHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function toIsoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toAmzDate(date: Date): string {
  return toIsoSeconds(date).replace(/[-:]/g, '');
}
