// What the API answers, as zod schemas: the response half of the OpenAPI document (the request half
// is shared/domain/schemas.ts, which the handlers validate with). Every object is strict, so a field
// the document does not name fails the e2e suite's check of every response. Each schema is tied to
// the domain type its handler returns: `npm run typecheck` fails when the two drift apart.
import type { AdminAuditEvent, AlertRaisedEvent, AuditEvent, CredentialDeniedEvent, CredentialIssuedEvent, CredentialUsedEvent, UseIssuance } from '../../domain/audit.js';
import { ALERT_RULES, AUDIT_EVENT_TYPES } from '../../domain/audit.js';
import type { signInToConsole } from '../../domain/console-sign-in.js';
import type { CallerDescription } from '../../domain/describe-caller.js';
import type { RevokedGrant } from '../../domain/manage-grants.js';
import type { EngagementView, HandoverResult } from '../../domain/manage-engagements.js';
import type { activateLockdown, LockdownDetails, LockdownStatus } from '../../domain/manage-lockdown.js';
import type { PublicProfile } from '../../domain/manage-profiles.js';
import type { RequestListingResult, RevokedRequest } from '../../domain/manage-requests.js';
import type { Engagement, Grant, PublicRequest, Scope, SessionNotCut, RevokedSession } from '../../domain/model.js';
import type { AuditPage } from '../../domain/ports.js';
import type { AlertsPage } from '../../domain/query-audit.js';
import type { KeyTrace } from '../../domain/trace-access-key.js';
import type { VerifyResult } from '../../domain/verify-audit.js';
import type { ProfileAccess } from '../../domain/who-has-access.js';
import { z } from './zod.js';

// ---------------------------------------------------------------------------------------------
// Schema and domain type, checked against each other

/** A type with `readonly` dropped all the way down. */
type Plain<T> = T extends readonly (infer U)[] ? Plain<U>[] : T extends object ? { -readonly [K in keyof T]: Plain<T[K]> } : T;
/** The same fields, optionality and types, `readonly` aside. */
type Same<A, B> = (<X>() => X extends Plain<A> ? 1 : 2) extends <X>() => X extends Plain<B> ? 1 : 2 ? true : false;
type Describes<S extends z.ZodTypeAny, T> = Same<z.output<S>, T> extends true ? unknown : { mismatch: { schema: Plain<z.output<S>>; domain: Plain<T> } };

/** The schema of what a use case returns, `T`: a mismatch is a type error naming both. */
const describing =
  <T>() =>
  <S extends z.ZodTypeAny>(schema: S & Describes<S, T>): S =>
    schema;

const strict = <Shape extends z.ZodRawShape>(shape: Shape) => z.object(shape).strict();
/** Every time tvm answers is ISO 8601 (toISOString's form, or CloudTrail's). */
const time = z.string().datetime({ offset: true });
const strings = z.array(z.string());
const epoch = z.number().int().min(0);
/**
 * A named schema or null. The generator drops the null of a named schema's `.nullable()`, and names
 * null twice for a union with z.null(); a union of one nullable option comes out as anyOf [$ref, null].
 */
const orNull = <S extends z.ZodTypeAny>(schema: S) => z.union([schema.nullable()] as unknown as [z.ZodNullable<S>, z.ZodNullable<S>]);

// ---------------------------------------------------------------------------------------------
// Profiles, grants, sessions

const scope = describing<Scope>()(strict({ actions: strings.optional(), resources: strings.optional() })).openapi('Scope');
const subject = strict({ type: z.enum(['user', 'group']), id: z.string() }).openapi('Subject');

export const publicProfileSchema = describing<PublicProfile>()(
  strict({
    name: z.string(),
    roleArn: z.string(),
    description: z.string().optional(),
    maxSessionSeconds: z.number().int(),
    scope: scope.optional(),
    sensitivity: z.enum(['standard', 'restricted']),
    /** The ExternalId itself is never shown. */
    externalIdSet: z.boolean(),
    createdAt: time,
    updatedAt: time,
    updatedBy: z.string(),
    formerRoles: z.array(strict({ roleArn: z.string(), until: time })).optional(),
    requestable: strict({
      approverGroups: strings,
      approvals: z.union([z.literal(1), z.literal(2)]),
      maxDurationSeconds: z.number().int(),
      requireReason: z.boolean(),
      pendingSeconds: z.number().int(),
    })
      .optional()
      .openapi({ description: 'Absent: the profile takes no access requests.' }),
    stepUp: strict({ maxAuthAgeSeconds: z.number().int() })
      .optional()
      .openapi({ description: 'A restricted profile: how recent a strong sign-in must be (absent: 900 s).' }),
  }),
).openapi('Profile', { description: 'A profile as any caller sees it: its ExternalId and generation stay inside tvm.' });

const grantShape = {
  id: z.string(),
  profile: z.string(),
  profileGeneration: z.string(),
  subject,
  validFrom: time,
  validUntil: time,
  maxSessionSeconds: z.number().int().optional(),
  scope: scope.optional(),
  canDelegate: z.boolean(),
  parentGrantId: z.string().optional(),
  depth: z.number().int().optional(),
  engagementId: z.string().optional(),
  requestId: z.string().optional(),
  revokedReason: z.string().optional(),
  version: z.number().int().optional(),
  status: z.enum(['active', 'revoked']),
  createdBy: z.string(),
  createdAt: time,
  reason: z.string().optional(),
  revokedAt: time.optional(),
  revokedBy: z.string().optional(),
};
export const grantSchema = describing<Grant>()(strict(grantShape)).openapi('Grant');

const revokedSession = describing<RevokedSession>()(strict({ accessKeyId: z.string(), sourceIdentity: z.string(), expiration: time })).openapi(
  'RevokedSession',
);
const sessionNotCut = describing<SessionNotCut>()(
  strict({ accessKeyId: z.string(), sourceIdentity: z.string(), expiration: time, roleArn: z.string(), code: z.string(), message: z.string() }),
).openapi('SessionNotCut', { description: 'A session a cut-off could not deny yet (its role’s policy could not be written): retried from the schedule.' });
/** What every cut-off reports. */
const cutOffShape = { revokedSessions: z.array(revokedSession), sessionsNotCut: z.array(sessionNotCut) };

export const revokedGrantSchema = describing<RevokedGrant>()(
  strict({ ...grantShape, revokedDescendants: strings, ...cutOffShape, roleWideFallback: z.boolean(), alreadyRevoked: z.boolean() }),
).openapi('RevokedGrant');

// ---------------------------------------------------------------------------------------------
// Vending

export const vendedCredentialsSchema = strict({
  credentials: strict({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string(), expiration: time }),
  profile: z.string(),
  roleArn: z.string(),
  sessionName: z.string(),
  sourceIdentity: z.string(),
  grantId: z.string(),
  requestId: z.string(),
  cutOffEpoch: epoch.describe('The cut-off epoch the vend read its rules at: while GET /cut-off-epoch still answers it, no cut-off has been decided since.'),
}).openapi('VendedCredentials');

export const cutOffEpochSchema = strict({
  cutOffEpoch: epoch.describe('Raised by every decision that cuts sessions off (grant revocation, handover, lockdown, a revoked request).'),
}).openapi('CutOffEpoch');

export const credentialProcessSchema = strict({
  Version: z.literal(1),
  AccessKeyId: z.string(),
  SecretAccessKey: z.string(),
  SessionToken: z.string(),
  Expiration: time,
}).openapi('CredentialProcess', { description: 'Exactly what the AWS CLI and SDKs read from a credential_process helper.' });

export const consoleSignInSchema = describing<Awaited<ReturnType<typeof signInToConsole>>>()(
  strict({ signinUrl: z.string().url(), expiration: time }),
).openapi('ConsoleSignIn', { description: 'A bearer: whoever opens signinUrl within 15 minutes is signed in as the session until it expires.' });

export const callerSchema = describing<CallerDescription>()(
  strict({
    principal: z.string(),
    groups: strings,
    grants: z.array(
      strict({
        grantId: z.string(),
        profile: z.string(),
        subject,
        validUntil: time,
        maxSessionSeconds: z.number().int(),
        scope: scope.optional(),
        canDelegate: z.boolean(),
      }).openapi('UsableGrant', { description: 'maxSessionSeconds: the longest session the grant can vend now.' }),
    ),
  }),
).openapi('Caller');

// ---------------------------------------------------------------------------------------------
// Engagements and the lockdown

const engagementShape = {
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  contractors: strings,
  profiles: z.array(strict({ profile: z.string(), scope: scope.optional(), maxSessionSeconds: z.number().int().optional() })),
  validUntil: time,
  status: z.enum(['active', 'handed-over']),
  createdBy: z.string(),
  createdAt: time,
  version: z.number().int(),
  handover: strict({
    at: time,
    by: z.string(),
    to: strings,
    note: z.string().optional(),
    revokedGrants: strings,
    newGrants: strings,
    cutOffOrder: z.string().optional(),
  }).optional(),
};
export const engagementSchema = describing<EngagementView>()(strict({ ...engagementShape, grants: z.array(grantSchema) })).openapi('Engagement', {
  description: 'The engagement and its grants, each in its current state.',
});

export const engagementListSchema = strict({
  engagements: z.array(describing<Engagement>()(strict(engagementShape)).openapi('EngagementSummary', { description: 'An engagement without its grants.' })),
}).openapi('EngagementList');

export const handoverResultSchema = describing<HandoverResult>()(
  strict({
    engagementId: z.string(),
    status: z.literal('handed-over'),
    revokedGrants: strings,
    newGrants: strings,
    ...cutOffShape,
    roleWideFallback: z.boolean(),
    at: time,
  }),
).openapi('HandoverResult');

const lockdownShape = {
  active: z.boolean(),
  profiles: strings.optional().openapi({ description: '["*"] for every profile.' }),
  roles: strings.optional(),
  allow: strict({ groups: strings, principals: strings }).optional(),
  reason: z.string().optional(),
  activatedBy: z.string().optional(),
  activatedAt: time.optional(),
};
export const lockdownSchema = describing<LockdownDetails>()(strict(lockdownShape)).openapi('Lockdown', {
  description: 'Anyone learns whether it is active and for which profiles; tvm-security and tvm-admin also see the rest.',
});
export const lockdownActivatedSchema = describing<Awaited<ReturnType<typeof activateLockdown>>>()(
  strict({ ...lockdownShape, ...cutOffShape, fallback: z.boolean() }),
).openapi('LockdownActivated');
export const lockdownLiftedSchema = describing<LockdownStatus>()(strict({ active: z.boolean(), profiles: strings.optional() })).openapi(
  'LockdownLifted',
);

// ---------------------------------------------------------------------------------------------
// Access requests

const requestShape = {
  id: z.string(),
  profile: z.string(),
  roleArn: z.string(),
  requester: z.string(),
  durationSeconds: z.number().int(),
  reason: z.string().optional(),
  scope: scope.optional(),
  startAt: time.optional(),
  status: z.enum(['pending', 'approved', 'denied', 'cancelled', 'expired', 'revoked']),
  approvals: z.array(strict({ by: z.string(), at: time, comment: z.string().optional() })),
  approvalsRequired: z.number().int(),
  approverGroups: strings,
  createdAt: time,
  expiresAt: time,
  grantId: z.string().optional(),
  grantValidFrom: time.optional(),
  grantValidUntil: time.optional(),
  history: z.array(
    strict({
      action: z.enum(['created', 'approved', 'denied', 'cancelled', 'expired', 'revoked']),
      by: z.string(),
      at: time,
      comment: z.string().optional(),
    }),
  ),
  version: z.number().int(),
};
export const accessRequestSchema = describing<PublicRequest>()(strict(requestShape)).openapi('AccessRequest', {
  description: 'A pending request past its expiry is shown expired, recorded or not.',
});
export const requestListingSchema = describing<RequestListingResult>()(
  strict({
    requests: z.array(accessRequestSchema),
    truncated: z.literal(true).optional().openapi({ description: 'More matched than one listing returns (500, newest first).' }),
  }),
).openapi('AccessRequestList');
export const revokedRequestSchema = describing<RevokedRequest>()(strict({ ...requestShape, ...cutOffShape, roleWideFallback: z.boolean() })).openapi(
  'RevokedAccessRequest',
);

// ---------------------------------------------------------------------------------------------
// The audit trail

const eventBase = {
  id: z.string().openapi({ description: '`<ISO time>#<unique>`: sorts by time; a cursor.' }),
  at: time,
  principal: z.string(),
  requestId: z.string(),
  sourceIp: z.string().optional(),
  userAgent: z.string().optional(),
  profile: z.string().optional(),
  profiles: strings.optional(),
  accessKeyId: z.string().optional(),
};

const credentialIssued = describing<CredentialIssuedEvent>()(
  strict({
    ...eventBase,
    type: z.literal('credential.issued'),
    profile: z.string(),
    roleArn: z.string(),
    grantId: z.string(),
    accessKeyId: z.string(),
    expiration: time,
    sessionName: z.string(),
    sourceIdentity: z.string(),
    assumedRoleArn: z.string(),
    durationSeconds: z.number().int(),
    policyHash: z.string().optional(),
    groups: strings.optional(),
    lockdownExemption: z.string().optional(),
    reason: z.string().optional(),
    format: z.literal('console').optional(),
    amr: strings.optional().openapi({ description: 'A restricted profile’s session: the sign-in methods (the token’s amr).' }),
    authTime: time.optional().openapi({ description: 'A restricted profile’s session: when the person signed in (auth_time).' }),
  }),
).openapi('CredentialIssuedEvent');

const credentialDenied = describing<CredentialDeniedEvent>()(
  strict({
    ...eventBase,
    type: z.literal('credential.denied'),
    profile: z.string(),
    code: z.string(),
    message: z.string(),
    grantId: z.string().optional(),
    reason: z.string().optional(),
  }),
).openapi('CredentialDeniedEvent');

const useIssuance = describing<UseIssuance>()(
  strict({
    eventId: z.string(),
    principal: z.string(),
    profile: z.string(),
    grantId: z.string(),
    roleArn: z.string(),
    sessionName: z.string(),
    sourceIdentity: z.string(),
    issuedAt: time,
    expiration: time,
    groups: strings.optional(),
  }),
).openapi('UseIssuance');

/** What CloudTrail says of one call: the use event and the key trace's uses share it. */
const callShape = {
  cloudTrailEventId: z.string(),
  eventTime: time,
  eventName: z.string(),
  eventSource: z.string(),
  awsRegion: z.string(),
  sourceIPAddress: z.string(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
};

const credentialUsed = describing<CredentialUsedEvent>()(
  strict({
    ...eventBase,
    type: z.literal('credential.used'),
    accessKeyId: z.string(),
    issuance: orNull(useIssuance),
    ...callShape,
    recipientAccountId: z.string().optional(),
    roleArn: z.string(),
    sessionArn: z.string(),
    sourceIdentity: z.string().optional(),
    grantId: z.string().optional(),
    sourceIdentityMismatch: z.boolean().optional(),
    via: z.enum(['eventbridge', 'trail', 'local']),
    recordedAt: time.optional(),
  }),
).openapi('CredentialUsedEvent', { description: 'A call made with the credentials, from CloudTrail, joined to its issuance (null for a session tvm did not issue).' });

export const alertRaisedSchema = describing<AlertRaisedEvent>()(
  strict({
    ...eventBase,
    type: z.literal('alert.raised'),
    rule: z.enum(ALERT_RULES),
    severity: z.enum(['critical', 'high', 'medium', 'low']),
    dedupeKey: z.string(),
    summary: z.string(),
    evidence: strings.openapi({ description: 'Audit ids of the events that made the rule fire, oldest first.' }),
  }),
).openapi('AlertRaisedEvent');

const SPECIFIC_TYPES: readonly string[] = ['credential.issued', 'credential.denied', 'credential.used', 'alert.raised'];
const ADMIN_TYPES = AUDIT_EVENT_TYPES.filter((type): type is AdminAuditEvent['type'] => !SPECIFIC_TYPES.includes(type)) as [
  AdminAuditEvent['type'],
  ...AdminAuditEvent['type'][],
];

const adminEvent = describing<AdminAuditEvent>()(
  strict({
    ...eventBase,
    type: z.enum(ADMIN_TYPES),
    grantId: z.string().optional(),
    detail: z.record(z.unknown()).optional().openapi({ description: 'The changed record, without anything secret.' }),
  }),
).openapi('ChangeEvent', { description: 'A change and its record: profiles, grants, engagements, the lockdown, cut-offs, requests, exports.' });

export const auditEventSchema = describing<AuditEvent>()(
  z.discriminatedUnion('type', [credentialIssued, credentialDenied, credentialUsed, alertRaisedSchema, adminEvent]),
).openapi('AuditEvent');

export const auditPageSchema = describing<AuditPage>()(
  strict({
    events: z.array(auditEventSchema),
    nextCursor: z.string().optional().openapi({ description: 'Pass it back as `cursor` for the next page; absent at the end.' }),
  }),
).openapi('AuditEventPage');

export const alertsPageSchema = describing<AlertsPage>()(strict({ alerts: z.array(alertRaisedSchema), nextCursor: z.string().optional() })).openapi(
  'AlertPage',
);

export const keyTraceSchema = describing<KeyTrace>()(
  strict({
    accessKeyId: z.string(),
    issuance: orNull(credentialIssued).openapi({ description: 'null for a session tvm did not issue.' }),
    uses: z.array(
      strict({ id: z.string(), ...callShape, userAgent: z.string().optional() }).openapi('KeyUse'),
    ),
    usesTruncated: z.boolean(),
    olderUsesCursor: z.string().optional(),
    revocations: z.array(
      z
        .discriminatedUnion('kind', [
          strict({ kind: z.literal('session'), at: time, by: z.string(), reason: z.string(), eventId: z.string() }),
          strict({ kind: z.literal('grant'), at: time.nullable(), by: z.string().nullable(), reason: z.string(), grantId: z.string() }),
        ])
        .openapi('KeyRevocation'),
    ),
    alerts: z.array(alertRaisedSchema),
  }),
).openapi('KeyTrace');

export const profileAccessSchema = describing<ProfileAccess>()(
  strict({
    profile: z.string(),
    at: time,
    grants: z.array(
      strict({
        ...grantShape,
        chain: z
          .array(strict({ grantId: z.string(), subject: orNull(subject), createdBy: z.string().nullable() }))
          .openapi({ description: 'Root first, ending with this grant.' }),
      }).openapi('GrantWithChain'),
    ),
    sessions: z.array(
      strict({
        accessKeyId: z.string(),
        principal: z.string(),
        grantId: z.string(),
        roleArn: z.string(),
        sessionName: z.string(),
        sourceIdentity: z.string(),
        issuedAt: time,
        expiration: time,
        lastUse: strict({ at: time, eventName: z.string(), sourceIPAddress: z.string() }).nullable(),
      }).openapi('LiveSession'),
    ),
  }),
).openapi('ProfileAccess');

export const verifyResultSchema = describing<VerifyResult>()(
  strict({
    ok: z.boolean(),
    checked: z.number().int(),
    broken: z.array(strict({ id: z.string(), reason: z.string() })),
    from: time,
    to: time,
    anchors: z.array(strict({ day: z.string().date(), at: time, chains: z.number().int() })),
  }),
).openapi('VerifyResult');

// ---------------------------------------------------------------------------------------------
// Small answers

export const healthSchema = strict({ status: z.literal('ok') }).openapi('Health');
export const profileListSchema = strict({ profiles: z.array(publicProfileSchema) }).openapi('ProfileList');
export const grantListSchema = strict({ grants: z.array(grantSchema) }).openapi('GrantList');
export const profileDeletedSchema = strict({ deleted: z.string() }).openapi('ProfileDeleted');
/** Not strict: the OpenAPI 3.1 specification describes the rest. */
export const openApiDocumentSchema = z
  .object({ openapi: z.literal('3.1.0'), info: z.object({ title: z.string(), version: z.string() }).passthrough(), paths: z.record(z.unknown()) })
  .passthrough()
  .openapi('OpenApiDocument', { description: 'This document.' });
