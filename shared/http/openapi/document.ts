// The OpenAPI 3.1 document of tvm's HTTP API, generated from the schemas the handlers validate with
// (shared/domain/schemas.ts) and the response schemas (responses.ts). `npm run openapi` writes it to
// docs/openapi.json, which GET /openapi.json serves; a unit test fails when the two differ.
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig, type ZodMediaTypeObject } from '@asteasolutions/zod-to-openapi';
import type { ErrorCode } from '../../domain/errors.js';
import * as input from '../../domain/schemas.js';
import { HTTP_STATUS } from '../error-mapping.js';
import * as output from './responses.js';
import { z } from './zod.js';

/** The contract's own version: raise it with every change callers must know about. */
export const API_VERSION = '1.0.0';

// ---------------------------------------------------------------------------------------------
// Errors: one schema per code, each with the fields its refusals add

/** What each code means, as the README's "Errors" table says it. */
const MEANING: Readonly<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: 'The message names the field; unknown fields and query parameters are refused.',
  DURATION_OUT_OF_RANGE: 'The duration is outside the allowed range, stated in the message.',
  SCOPE_TOO_LARGE: 'The session policy would exceed 2,048 characters, or STS’s packed-size limit.',
  UNAUTHENTICATED: 'Missing, malformed, forged, expired, not-yet-valid, wrong-issuer or wrong-audience token.',
  STEP_UP_REQUIRED:
    'The profile is restricted: sign in again, with MFA, within maxAgeSeconds (RFC 9470; the WWW-Authenticate header carries the same challenge).',
  FORBIDDEN: 'The caller may not do this (a group it lacks, or not its object to change).',
  NO_GRANT: 'No active grant of the caller’s on the profile.',
  GRANT_EXPIRED: 'The caller’s only grants on the profile have expired.',
  SCOPE_NOT_GRANTED: 'The scope asked for is not within the grant’s and the profile’s.',
  DELEGATION_EXCEEDS_GRANT: 'A delegated grant would go beyond the delegator’s own.',
  DELEGATION_QUOTA_EXCEEDED: 'The delegator already holds as many active delegated grants as the quota allows.',
  ENGAGEMENT_HANDED_OVER: 'The caller’s access came from an engagement that was handed over.',
  LOCKDOWN_ACTIVE: 'The profile is locked down and the caller is not on the allow list.',
  SECOND_APPROVER_REQUIRED: 'The lockdown’s activator tried to lift or loosen it.',
  NOT_REQUESTABLE: 'The profile takes no access requests.',
  SELF_APPROVAL_FORBIDDEN: 'The requester tried to decide their own request.',
  ALREADY_APPROVED: 'This approver already approved the request.',
  REQUEST_ALREADY_DECIDED: 'The request is approved, denied, cancelled, expired or revoked.',
  ALREADY_HANDED_OVER: 'A second handover; the fields summarise the first.',
  NOT_FOUND: 'Unknown, or not the caller’s to see.',
  CONFLICT: 'A concurrent change won: read again and retry.',
  PRECONDITION_FAILED: 'If-Match names a version that is no longer current, or If-None-Match: * found one: read again.',
  PAYLOAD_TOO_LARGE: 'The body is over 16 KiB.',
  RATE_LIMITED: 'Too many vends by one principal this minute (also a Retry-After header).',
  CUT_OFF_PENDING: 'A cut-off decided moments ago would deny the session from the moment it exists (also a Retry-After header).',
  TOO_MANY_PENDING_REQUESTS: 'The requester already has 10 pending requests.',
  INTERNAL: 'A bug: a generic message, details only in the logs.',
  UPSTREAM_STS_ERROR: 'STS refused or failed; stsCode names its error.',
  UPSTREAM_IAM_ERROR: 'IAM failed while sessions were being cut off.',
  ROLE_OUT_OF_REACH: 'The role is in no account tvm changes roles in.',
  FEDERATION_UNAVAILABLE: 'The AWS federation endpoint refused or failed to give a sign-in token; the issuance is recorded.',
  AUDIT_UNAVAILABLE: 'The event could not be recorded: nothing was issued or exported.',
  STORE_UNAVAILABLE: 'The delegations table (or the audit trail, for reads) could not be read or written.',
  IDP_UNAVAILABLE: 'The identity provider’s keys could not be fetched.',
  TIMEOUT: 'Dependencies were too slow to answer in time; nothing was issued.',
};

const count = z.number().int();
/** The fields a code's refusals carry besides code, message and requestId (TvmError.details). */
const DETAILS: Partial<Record<ErrorCode, z.ZodRawShape>> = {
  VALIDATION_FAILED: {
    maxDays: count.optional().openapi({ description: 'GET /audit/verify: the longest window.' }),
    limit: count.optional().openapi({ description: 'POST /engagements, handover: the most grants one engagement may write.' }),
    grants: count.optional(),
  },
  DURATION_OUT_OF_RANGE: { min: count.optional(), max: count.optional() },
  SCOPE_TOO_LARGE: { length: count.optional(), limit: count.optional() },
  SCOPE_NOT_GRANTED: { field: z.enum(['actions', 'resources']), item: z.string() },
  NO_GRANT: { profile: z.string() },
  GRANT_EXPIRED: { profile: z.string(), expiredAt: z.string().datetime({ offset: true }) },
  DELEGATION_EXCEEDS_GRANT: { parentGrantId: z.string() },
  DELEGATION_QUOTA_EXCEEDED: { limit: count, active: count },
  ENGAGEMENT_HANDED_OVER: { engagementId: z.string() },
  ALREADY_HANDED_OVER: {
    engagementId: z.string(),
    handedOverAt: z.string(),
    handedOverBy: z.string(),
    revokedGrants: count,
    newGrants: count,
  },
  LOCKDOWN_ACTIVE: { activatedAt: z.string().datetime({ offset: true }).optional() },
  RATE_LIMITED: { retryAfterSeconds: count },
  CUT_OFF_PENDING: { retryAfterSeconds: count },
  REQUEST_ALREADY_DECIDED: { status: z.enum(['approved', 'denied', 'cancelled', 'expired', 'revoked']) },
  UPSTREAM_STS_ERROR: { stsCode: z.string() },
  IDP_UNAVAILABLE: { issuer: z.string() },
  STEP_UP_REQUIRED: {
    maxAgeSeconds: count.openapi({ description: 'How recent the sign-in must be (the challenge’s max_age).' }),
    acrValues: z.array(z.string()).optional().openapi({ description: 'The issuer’s strong acr values (the challenge’s acr_values).' }),
  },
};

const pascal = (code: string) => code.toLowerCase().replace(/(^|_)([a-z])/g, (_match, _sep: string, letter: string) => letter.toUpperCase());

const errorSchema = (code: ErrorCode): z.ZodTypeAny =>
  z
    .object({ error: z.object({ code: z.literal(code), message: z.string(), requestId: z.string(), ...DETAILS[code] }).strict() })
    .strict()
    .openapi(`Error${pascal(code)}`, { description: `${code} (${HTTP_STATUS[code]}): ${MEANING[code]}` });
const ERRORS = new Map((Object.keys(HTTP_STATUS) as ErrorCode[]).map((code) => [code, errorSchema(code)]));

/** API Gateway's own answers, before any function runs: the edge's JWT authorizer (401), the stage's throttling (429). */
const gatewayError = z
  .object({ message: z.string() })
  .strict()
  .openapi('GatewayError', { description: 'API Gateway’s own answer, e.g. {"message":"Unauthorized"} or {"message":"Too Many Requests"}.' });

// ---------------------------------------------------------------------------------------------
// Routes

type Access = 'public' | 'caller' | 'groups';

interface Operation {
  readonly method: 'get' | 'post' | 'put' | 'delete';
  /** As in serverless.yml. */
  readonly path: string;
  /** The function serving it (serverless.yml). */
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  /** Who may call it, as the README's API table says. */
  readonly who: string;
  readonly access: Access;
  readonly params?: NonNullable<RouteConfig['request']>['params'];
  readonly query?: NonNullable<RouteConfig['request']>['query'];
  readonly headers?: NonNullable<RouteConfig['request']>['headers'];
  readonly body?: { readonly schema: z.ZodTypeAny; readonly required: boolean };
  readonly ok: {
    readonly status: 200 | 201;
    readonly description: string;
    readonly content: Record<string, ZodMediaTypeObject>;
    readonly headers?: Record<string, { readonly description: string; readonly schema: { readonly type: 'string'; readonly pattern?: string } }>;
  };
  /** When it answers `304 Not Modified` to a matching If-None-Match: what that means. */
  readonly notModified?: string;
  /** The codes its use case refuses with, besides those every route of its kind may answer. */
  readonly errors: readonly ErrorCode[];
}

const json = (schema: z.ZodTypeAny) => ({ 'application/json': { schema } });
const requestComment = input.requestCommentSchema.openapi('RequestComment');
const ok = (description: string, schema: z.ZodTypeAny, status: 200 | 201 = 200) => ({ status, description, content: json(schema) });
const ADMIN = 'tvm-admin';
const SECURITY_OR_ADMIN = 'tvm-security, tvm-admin';

/** Every httpApi event of serverless.yml. */
const OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/health',
    operationId: 'health',
    tag: 'service',
    summary: 'Liveness',
    who: 'anyone, no token',
    access: 'public',
    ok: ok('The service answers.', output.healthSchema),
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'service',
    summary: 'This document',
    who: 'anyone, no token',
    access: 'public',
    ok: ok('The OpenAPI 3.1 document of this API (docs/openapi.json).', output.openApiDocumentSchema),
    errors: [],
  },
  {
    method: 'get',
    path: '/me',
    operationId: 'me',
    tag: 'vend',
    summary: 'Who the caller is, and the grants usable now',
    who: 'any caller',
    access: 'caller',
    ok: ok('The caller and its grants usable now.', output.callerSchema),
    errors: [],
  },
  {
    method: 'post',
    path: '/credentials',
    operationId: 'vendCredentials',
    tag: 'vend',
    summary: 'Vend short-lived credentials for a profile',
    who: 'any caller with a grant on the profile',
    access: 'caller',
    query: input.vendQuerySchema,
    body: { schema: input.vendRequestSchema.openapi('VendRequest'), required: true },
    ok: {
      status: 200,
      description:
        'The credentials (VendedCredentials); with ?format=credential_process exactly the AWS credential_process shape; ' +
        'with ?format=console a sign-in URL to the AWS console instead.',
      content: json(z.union([output.vendedCredentialsSchema, output.credentialProcessSchema, output.consoleSignInSchema])),
    },
    errors: [
      'DURATION_OUT_OF_RANGE',
      'SCOPE_TOO_LARGE',
      'NO_GRANT',
      'GRANT_EXPIRED',
      'SCOPE_NOT_GRANTED',
      'ENGAGEMENT_HANDED_OVER',
      'STEP_UP_REQUIRED',
      'LOCKDOWN_ACTIVE',
      'CUT_OFF_PENDING',
      'NOT_FOUND',
      'RATE_LIMITED',
      'UPSTREAM_STS_ERROR',
      'FEDERATION_UNAVAILABLE',
      'AUDIT_UNAVAILABLE',
    ],
  },
  {
    method: 'get',
    path: '/profiles',
    operationId: 'listProfiles',
    tag: 'profiles',
    summary: 'List profiles',
    who: 'any caller',
    access: 'caller',
    ok: ok('Every profile, by name.', output.profileListSchema),
    errors: [],
  },
  {
    method: 'get',
    path: '/profiles/{name}',
    operationId: 'getProfile',
    tag: 'profiles',
    summary: 'One profile',
    who: 'any caller',
    access: 'caller',
    params: input.profilePathSchema,
    ok: { ...ok('The profile.', output.publicProfileSchema), headers: { etag: { description: 'The profile’s version (its updatedAt), for If-Match on PUT.', schema: { type: 'string', pattern: '^"[^"]+"$' } } } },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'put',
    path: '/profiles/{name}',
    operationId: 'putProfile',
    tag: 'profiles',
    summary: 'Create or replace a profile',
    who: ADMIN,
    access: 'groups',
    params: input.profilePathSchema,
    headers: z.object({
      'if-match': z.string().optional().openapi({ description: 'Change only this version: the ETag of GET /profiles/{name}, e.g. `"2026-06-01T12:00:00.000Z"`.' }),
      'if-none-match': z.literal('*').optional().openapi({ description: '`*`: create only, never replace.' }),
    }),
    body: { schema: input.profileInputSchema.openapi('ProfileInput'), required: true },
    ok: { ...ok('The profile as stored.', output.publicProfileSchema), headers: { etag: { description: 'The profile’s version (its updatedAt), for If-Match on PUT.', schema: { type: 'string', pattern: '^"[^"]+"$' } } } },
    errors: ['LOCKDOWN_ACTIVE', 'CONFLICT', 'PRECONDITION_FAILED'],
  },
  {
    method: 'delete',
    path: '/profiles/{name}',
    operationId: 'deleteProfile',
    tag: 'profiles',
    summary: 'Delete a profile (its grants stop working)',
    who: ADMIN,
    access: 'groups',
    params: input.profilePathSchema,
    ok: ok('Deleted.', output.profileDeletedSchema),
    errors: ['NOT_FOUND', 'LOCKDOWN_ACTIVE'],
  },
  {
    method: 'post',
    path: '/grants',
    operationId: 'createGrant',
    tag: 'grants',
    summary: 'Grant a profile to a user or group',
    who: 'tvm-admin, or a delegator within their own grant and quota',
    access: 'caller',
    body: { schema: input.grantInputSchema.openapi('GrantInput'), required: true },
    ok: ok('The grant.', output.grantSchema, 201),
    errors: ['NOT_FOUND', 'FORBIDDEN', 'LOCKDOWN_ACTIVE', 'DELEGATION_EXCEEDS_GRANT', 'DELEGATION_QUOTA_EXCEEDED', 'SCOPE_TOO_LARGE', 'CONFLICT'],
  },
  {
    method: 'get',
    path: '/grants',
    operationId: 'listGrants',
    tag: 'grants',
    summary: 'List grants',
    who: 'tvm-admin; anyone with createdBy=me (the grants they created)',
    access: 'caller',
    query: input.listGrantsQuerySchema,
    ok: ok('The grants matching the filters, oldest first.', output.grantListSchema),
    errors: ['FORBIDDEN'],
  },
  {
    method: 'delete',
    path: '/grants/{id}',
    operationId: 'revokeGrant',
    tag: 'grants',
    summary: 'Revoke a grant, everything delegated from it, and their live sessions',
    who: 'tvm-admin, the grant’s creator, the user holding it (giving it up), or the holder of its parent grant; to anyone else it does not exist',
    access: 'caller',
    params: input.grantPathSchema,
    ok: ok('The grant as revoked, with what the revocation cut off.', output.revokedGrantSchema),
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  {
    method: 'get',
    path: '/audit/events',
    operationId: 'listAuditEvents',
    tag: 'audit',
    summary: 'The audit trail, newest first; or an export of it',
    who: SECURITY_OR_ADMIN,
    access: 'groups',
    query: input.auditQuerySchema,
    ok: {
      status: 200,
      description:
        'A page of events (format=json, the default); with format=csv or format=ndjson an attachment with everything the filters ' +
        'match, at most 5,000 events or ~4.5 MB (x-tvm-next-cursor says where the next export starts), recorded as audit.exported.',
      content: {
        ...json(output.auditPageSchema),
        'text/csv': { schema: z.string().openapi({ description: 'A header row, then one row per event; every cell quoted.' }) },
        'application/x-ndjson': {
          schema: z.string().openapi({ description: 'One AuditEvent per line (x-item-schema).' }),
          ...{ 'x-item-schema': { $ref: '#/components/schemas/AuditEvent' } },
        },
      },
      headers: {
        'content-disposition': { description: 'Exports: attachment; filename="tvm-audit-<time>.<format>"', schema: { type: 'string' } },
        'x-tvm-export-count': { description: 'Exports: how many events the export holds.', schema: { type: 'string', pattern: '^[0-9]+$' } },
        'x-tvm-next-cursor': { description: 'Exports: where the next export starts (pass it as cursor), when more matched.', schema: { type: 'string' } },
      },
    },
    errors: ['AUDIT_UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/audit/keys/{accessKeyId}',
    operationId: 'getKeyTrace',
    tag: 'audit',
    summary: 'Where an access key came from and everything it did',
    who: SECURITY_OR_ADMIN,
    access: 'groups',
    params: input.keyTracePathSchema,
    ok: ok('The key’s issuance, uses, revocations and alerts.', output.keyTraceSchema),
    errors: ['NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/audit/access',
    operationId: 'getAccess',
    tag: 'audit',
    summary: 'Who has access to a profile',
    who: SECURITY_OR_ADMIN,
    access: 'groups',
    query: input.accessQuerySchema,
    ok: ok('Active grants with their delegation chains, and live sessions with their last use.', output.profileAccessSchema),
    errors: ['NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/audit/verify',
    operationId: 'verifyAudit',
    tag: 'audit',
    summary: 'Check the audit trail’s hash chains over a window',
    who: SECURITY_OR_ADMIN,
    access: 'groups',
    query: input.verifyQuerySchema,
    ok: ok('The tamper-evidence report.', output.verifyResultSchema),
    errors: [],
  },
  {
    method: 'get',
    path: '/alerts',
    operationId: 'listAlerts',
    tag: 'audit',
    summary: 'Raised alerts, newest first',
    who: SECURITY_OR_ADMIN,
    access: 'groups',
    query: input.alertsQuerySchema,
    ok: ok('A page of alerts.', output.alertsPageSchema),
    errors: [],
  },
  {
    method: 'post',
    path: '/engagements',
    operationId: 'createEngagement',
    tag: 'engagements',
    summary: 'Create a contractor engagement',
    who: 'tvm-admin, or an owner holding canDelegate grants on every listed profile',
    access: 'caller',
    body: { schema: input.engagementInputSchema.openapi('EngagementInput'), required: true },
    ok: ok('The engagement and its grants.', output.engagementSchema, 201),
    errors: ['NOT_FOUND', 'FORBIDDEN', 'LOCKDOWN_ACTIVE', 'DELEGATION_EXCEEDS_GRANT', 'DELEGATION_QUOTA_EXCEEDED', 'SCOPE_TOO_LARGE', 'CONFLICT'],
  },
  {
    method: 'get',
    path: '/engagements',
    operationId: 'listEngagements',
    tag: 'engagements',
    summary: 'List engagements, oldest first',
    who: 'anyone: the engagements they own, work on or were handed; tvm-admin and tvm-security: all',
    access: 'caller',
    ok: ok('The engagements the caller may see, without their grants (GET /engagements/{id} has them).', output.engagementListSchema),
    errors: [],
  },
  {
    method: 'get',
    path: '/engagements/{id}',
    operationId: 'getEngagement',
    tag: 'engagements',
    summary: 'An engagement and its grants',
    who: 'its owner, its contractors, tvm-admin, tvm-security; to anyone else it does not exist',
    access: 'caller',
    params: input.engagementPathSchema,
    ok: ok('The engagement and its grants, each in its current state.', output.engagementSchema),
    errors: ['NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/engagements/{id}/handover',
    operationId: 'handOverEngagement',
    tag: 'engagements',
    summary: 'End the contractors’ access and hand control over',
    who: 'its owner or tvm-admin (to someone other than the owner: tvm-admin)',
    access: 'caller',
    params: input.engagementPathSchema,
    body: { schema: input.handoverInputSchema.openapi('HandoverInput'), required: false },
    ok: ok('What the handover revoked, granted and cut off.', output.handoverResultSchema),
    errors: ['NOT_FOUND', 'FORBIDDEN', 'ALREADY_HANDED_OVER', 'LOCKDOWN_ACTIVE', 'DELEGATION_QUOTA_EXCEEDED', 'CONFLICT'],
  },
  {
    method: 'get',
    path: '/lockdown',
    operationId: 'getLockdown',
    tag: 'lockdown',
    summary: 'The lockdown’s state',
    who: 'any caller (tvm-security and tvm-admin see more)',
    access: 'caller',
    ok: ok('Whether a lockdown is active, and for which profiles.', output.lockdownSchema),
    errors: [],
  },
  {
    method: 'get',
    path: '/cut-off-epoch',
    operationId: 'getCutOffEpoch',
    tag: 'vend',
    summary: 'The cut-off epoch: has a cut-off been decided since a vend?',
    who: 'any caller',
    access: 'caller',
    headers: z.object({ 'if-none-match': z.string().optional().openapi({ description: 'The ETag of an earlier answer, e.g. `"12"`.' }) }),
    ok: {
      ...ok('The epoch. Credentials vended at an older epoch (VendedCredentials.cutOffEpoch) may have been cut off.', output.cutOffEpochSchema),
      headers: { etag: { description: 'The epoch as an entity tag, for If-None-Match.', schema: { type: 'string', pattern: '^"[0-9]+"$' } } },
    },
    notModified: 'The epoch is still the one If-None-Match names: no cut-off has been decided since.',
    errors: [],
  },
  {
    method: 'put',
    path: '/lockdown',
    operationId: 'putLockdown',
    tag: 'lockdown',
    summary: 'Activate (or tighten) the lockdown',
    who: 'tvm-security',
    access: 'groups',
    body: { schema: input.lockdownInputSchema.openapi('LockdownInput'), required: true },
    ok: ok('The lockdown, and the sessions it cut off.', output.lockdownActivatedSchema),
    errors: ['SECOND_APPROVER_REQUIRED', 'CONFLICT'],
  },
  {
    method: 'delete',
    path: '/lockdown',
    operationId: 'deleteLockdown',
    tag: 'lockdown',
    summary: 'Lift the lockdown (a second member of tvm-security)',
    who: 'tvm-security, not the activator',
    access: 'groups',
    body: { schema: input.lockdownLiftInputSchema.openapi('LockdownLiftInput'), required: true },
    ok: ok('Lifted.', output.lockdownLiftedSchema),
    errors: ['NOT_FOUND', 'SECOND_APPROVER_REQUIRED', 'CONFLICT'],
  },
  {
    method: 'post',
    path: '/requests',
    operationId: 'createRequest',
    tag: 'requests',
    summary: 'Ask for time-boxed access to a requestable profile',
    who: 'any caller',
    access: 'caller',
    body: { schema: input.accessRequestInputSchema.openapi('AccessRequestInput'), required: true },
    ok: ok('The pending request.', output.accessRequestSchema, 201),
    errors: [
      'NOT_FOUND',
      'NOT_REQUESTABLE',
      'STEP_UP_REQUIRED',
      'LOCKDOWN_ACTIVE',
      'DURATION_OUT_OF_RANGE',
      'SCOPE_NOT_GRANTED',
      'SCOPE_TOO_LARGE',
      'TOO_MANY_PENDING_REQUESTS',
      'CONFLICT',
    ],
  },
  {
    method: 'get',
    path: '/requests',
    operationId: 'listRequests',
    tag: 'requests',
    summary: 'The caller’s requests and those it may decide, newest first',
    who: 'any caller (tvm-security and tvm-admin see all)',
    access: 'caller',
    query: input.listRequestsQuerySchema,
    ok: ok('At most 500 requests.', output.requestListingSchema),
    errors: [],
  },
  {
    method: 'get',
    path: '/requests/{id}',
    operationId: 'getRequest',
    tag: 'requests',
    summary: 'A request with its history',
    who: 'the requester, the profile’s approvers, tvm-security, tvm-admin; to anyone else it does not exist',
    access: 'caller',
    params: input.requestPathSchema,
    ok: ok('The request.', output.accessRequestSchema),
    errors: ['NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/requests/{id}/approve',
    operationId: 'approveRequest',
    tag: 'requests',
    summary: 'Approve a request (the approval completing the quorum creates the grant)',
    who: 'an approver of the profile, not the requester',
    access: 'caller',
    params: input.requestPathSchema,
    body: { schema: requestComment, required: false },
    ok: ok('The request after the approval.', output.accessRequestSchema),
    errors: [
      'NOT_FOUND',
      'FORBIDDEN',
      'SELF_APPROVAL_FORBIDDEN',
      'ALREADY_APPROVED',
      'REQUEST_ALREADY_DECIDED',
      'STEP_UP_REQUIRED',
      'LOCKDOWN_ACTIVE',
      'SCOPE_NOT_GRANTED',
      'SCOPE_TOO_LARGE',
      'CONFLICT',
    ],
  },
  {
    method: 'post',
    path: '/requests/{id}/deny',
    operationId: 'denyRequest',
    tag: 'requests',
    summary: 'Deny a request',
    who: 'an approver of the profile, not the requester',
    access: 'caller',
    params: input.requestPathSchema,
    body: { schema: input.denyInputSchema.openapi('DenyInput'), required: true },
    ok: ok('The request, denied.', output.accessRequestSchema),
    errors: ['NOT_FOUND', 'FORBIDDEN', 'SELF_APPROVAL_FORBIDDEN', 'REQUEST_ALREADY_DECIDED', 'CONFLICT'],
  },
  {
    method: 'post',
    path: '/requests/{id}/cancel',
    operationId: 'cancelRequest',
    tag: 'requests',
    summary: 'Cancel a pending request',
    who: 'the requester',
    access: 'caller',
    params: input.requestPathSchema,
    body: { schema: requestComment, required: false },
    ok: ok('The request, cancelled.', output.accessRequestSchema),
    errors: ['NOT_FOUND', 'FORBIDDEN', 'REQUEST_ALREADY_DECIDED', 'CONFLICT'],
  },
  {
    method: 'post',
    path: '/requests/{id}/revoke',
    operationId: 'revokeRequest',
    tag: 'requests',
    summary: 'Revoke an approved request: its grant and its live sessions',
    who: 'the requester, an approver, tvm-admin',
    access: 'caller',
    params: input.requestPathSchema,
    body: { schema: requestComment, required: false },
    ok: ok('The request, revoked, with what was cut off.', output.revokedRequestSchema),
    errors: ['NOT_FOUND', 'FORBIDDEN', 'REQUEST_ALREADY_DECIDED', 'CONFLICT'],
  },
];

/** The codes a route answers with: its use case's, and those of the middy chain for its kind. */
function errorCodesOf(operation: Pick<Operation, 'access' | 'body' | 'errors'>): ErrorCode[] {
  const codes = new Set<ErrorCode>(['VALIDATION_FAILED', 'INTERNAL', 'TIMEOUT', ...operation.errors]);
  if (operation.access !== 'public') for (const code of ['UNAUTHENTICATED', 'IDP_UNAVAILABLE', 'STORE_UNAVAILABLE'] as const) codes.add(code);
  if (operation.access === 'groups') codes.add('FORBIDDEN');
  if (operation.body) codes.add('PAYLOAD_TOO_LARGE');
  return [...codes];
}

const REQUEST_ID = { $ref: '#/components/headers/RequestId' };

function errorResponses(operation: Operation): Record<string, ResponseConfig> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(operation)) byStatus.set(HTTP_STATUS[code], [...(byStatus.get(HTTP_STATUS[code]) ?? []), code]);
  // The edge's JWT authorizer answers 401 itself in AWS; the stage's throttling 429, on every route.
  const gateway = new Set([429, ...(operation.access === 'public' ? [] : [401])]);
  for (const status of gateway) byStatus.set(status, byStatus.get(status) ?? []);
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, codes]) => {
        const schemas = [...codes.sort().map((code) => ERRORS.get(code) as z.ZodTypeAny), ...(gateway.has(status) ? [gatewayError] : [])];
        const [first, second, ...rest] = schemas;
        const schema = second === undefined ? (first as z.ZodTypeAny) : z.union([first as z.ZodTypeAny, second, ...rest]);
        const gatewaySays = gateway.has(status) ? [`API Gateway’s own answer (${status === 401 ? 'the edge’s JWT authorizer' : 'stage throttling'})`] : [];
        return [
          String(status),
          {
            description: `${[...(codes.length > 0 ? [codes.join(', ')] : []), ...gatewaySays].join('; or ')}.`,
            headers: { 'x-request-id': REQUEST_ID, ...(codes.some((code) => code === 'RATE_LIMITED' || code === 'CUT_OFF_PENDING') ? { 'retry-after': { $ref: '#/components/headers/RetryAfter' } } : {}) },
            content: json(schema),
          },
        ];
      }),
  );
}

function register(registry: OpenAPIRegistry, operation: Operation): void {
  const { method, path, operationId, tag, summary, who, access, params, query, headers, body, ok: success, notModified } = operation;
  registry.registerPath({
    method,
    path,
    operationId,
    tags: [tag],
    summary,
    description: `Who: ${who}.`,
    security: access === 'public' ? [] : [{ bearer: [] }],
    request: {
      ...(params ? { params } : {}),
      ...(query ? { query } : {}),
      ...(headers ? { headers } : {}),
      ...(body ? { body: { required: body.required, content: json(body.schema) } } : {}),
    },
    responses: {
      [String(success.status)]: {
        description: success.description,
        headers: { 'x-request-id': REQUEST_ID, ...(success.headers ?? {}) },
        content: success.content,
      },
      ...(notModified ? { '304': { description: notModified, headers: { 'x-request-id': REQUEST_ID, ...(success.headers ?? {}) } } } : {}),
      ...errorResponses(operation),
    },
  });
}

/** The routes the document describes, as `METHOD /path` (serverless.yml's spelling). */
export const DOCUMENTED_ROUTES: readonly string[] = OPERATIONS.map(({ method, path }) => `${method.toUpperCase()} ${path}`);

export function generateOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An OIDC token from a trusted issuer, for tvm’s audience (README "Configuration").',
  });
  registry.registerComponent('headers', 'RequestId', { description: 'This request’s id, as the logs and the audit trail name it.', schema: { type: 'string' } });
  registry.registerComponent('headers', 'RetryAfter', { description: 'Seconds until the next vend may succeed.', schema: { type: 'string', pattern: '^[0-9]+$' } });
  for (const operation of OPERATIONS) register(registry, operation);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'tvm',
      version: API_VERSION,
      description:
        'A token-vending machine for AWS: OIDC-authenticated, rule-scoped, audited STS credentials. JSON in, JSON out; every ' +
        'route but GET /health and GET /openapi.json needs `Authorization: Bearer <JWT>`. Every refusal is ' +
        '`{"error":{"code","message","requestId"}}` (some codes add fields), never a stack trace; responses are never cached ' +
        '(`cache-control: no-store`). Generated from the schemas the handlers validate with (shared/http/openapi/).',
    },
    security: [{ bearer: [] }],
    tags: [
      { name: 'vend', description: 'Credentials, and who the caller is' },
      { name: 'profiles', description: 'Target roles and the most a session of them may do' },
      { name: 'grants', description: 'Who may vend which profile; delegation' },
      { name: 'requests', description: 'Access requests and their approval' },
      { name: 'engagements', description: 'Contractor engagements and their handover' },
      { name: 'lockdown', description: 'The two-person lockdown' },
      { name: 'audit', description: 'The audit trail, key traces, who has access, tamper evidence, alerts' },
      { name: 'service', description: 'Public: health and this document' },
    ],
  });
}

/** The document as docs/openapi.json holds it. */
export function renderOpenApiDocument(): string {
  return `${JSON.stringify(generateOpenApiDocument(), null, 2)}\n`;
}
