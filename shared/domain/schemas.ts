// Input schemas: each is also the type of what it validates. All objects are strict, so unknown
// fields are refused rather than silently ignored. Compiled once at module load. Each is marked
// pure, so a function's bundle keeps only the schemas that function uses.
import { z } from 'zod';
import { ALERT_RULES, AUDIT_EVENT_TYPES } from './audit.js';
import { MAX_SESSION_SECONDS, MIN_SESSION_SECONDS } from './duration.js';
import { hidesCharacters, normalizeIdentifier } from './identifiers.js';
import { MAX_AUTH_AGE_SECONDS } from './step-up-rules.js';

// Printable, no control characters: these strings end up in logs, audit records and IAM policies.
const printable = /^[^\u0000-\u001f\u007f-\u009f]*$/;

export const profileNameSchema = /* @__PURE__ */ z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit');

const actionPattern = /* @__PURE__ */ z
  .string()
  .max(128)
  .regex(/^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/, 'must be an IAM action like "s3:GetObject" (wildcards * and ?)');

// Session policies accept U+0009-U+00FF; resources are further limited to printable ASCII without
// quotes or backslashes so the policy's JSON length equals its plaintext length.
const resourcePattern = /* @__PURE__ */ z
  .string()
  .max(2048)
  .regex(/^(\*|arn:[\u0021\u0023-\u005b\u005d-\u007e]+)$/, 'must be "*" or an ARN (wildcards * and ?)');

export const scopeSchema = /* @__PURE__ */ z
  .object({
    actions: z.array(actionPattern).min(1).max(100).optional(),
    resources: z.array(resourcePattern).min(1).max(100).optional(),
  })
  .strict()
  .refine((scope) => scope.actions !== undefined || scope.resources !== undefined, {
    message: 'needs actions or resources',
  });

const sessionSeconds = /* @__PURE__ */ z.number().int().min(MIN_SESSION_SECONDS).max(MAX_SESSION_SECONDS);
const reason = /* @__PURE__ */ z.string().min(1).max(256).regex(printable, 'must not contain control characters');
// Zod's pattern takes any offset up to +99:99, which no Date can hold: such a value must be refused
// here, not crash a later toISOString() as a 500.
const isoDateTime = /* @__PURE__ */ z
  .string()
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 date-time');

// A console path such as "s3" or "/ec2/home?region=eu-west-1", never a URL of its own: printable
// ASCII without backslashes (browsers read one as "/"), no "//" or scheme before the path, no "."
// or ".." segment (encoded or not).
export const consoleDestinationSchema = /* @__PURE__ */ z
  .string()
  .regex(
    // No regex flags: the OpenAPI document carries the pattern, and a JSON Schema pattern has none.
    /^(?!\/\/)(?![^/?#]*:)(?!(?:[^?#]*\/)?(?:\.|%2[eE]){1,2}(?:[/?#]|$))[\x21-\x5b\x5d-\x7e]{1,512}$/,
    'must be a path in the AWS console such as "s3" or "/ec2/home": 1-512 printable ASCII characters, no scheme, host, backslash or dot segment',
  );

export const vendRequestSchema = /* @__PURE__ */ z
  .object({
    profile: profileNameSchema,
    durationSeconds: z.number().int().optional(),
    scope: scopeSchema.optional(),
    reason: reason.optional(),
    /** With ?format=console: where in the AWS console to land. */
    destination: consoleDestinationSchema.optional(),
  })
  .strict();
export type VendRequest = z.infer<typeof vendRequestSchema>;

export const vendQuerySchema = /* @__PURE__ */ z.object({ format: z.enum(['credential_process', 'console']).optional() }).strict();

const roleArn = /* @__PURE__ */ z
  .string()
  .max(2048)
  // IAM: an optional path of segments, then the name (1-64 of [\w+=,.@-]).
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/){0,32}[\w+=,.@-]{1,64}$/, 'must be an IAM role ARN');

/** A principal id or group name: printable, nothing hidden, in NFC (identifiers.ts). */
export const principalIdSchema = /* @__PURE__ */ z
  .string()
  .min(1)
  .max(256)
  .regex(printable, 'must not contain control characters')
  .refine((value) => !hidesCharacters(value), 'must not contain invisible characters (format or default-ignorable), spaces other than the ASCII one, or line separators')
  .transform(normalizeIdentifier);

/** A person's own request must stay reviewable: at most 30 days of access, decided within 7. */
export const MAX_REQUEST_DURATION_SECONDS = 30 * 86_400;
const MAX_PENDING_SECONDS = 7 * 86_400;

export const requestableSchema = /* @__PURE__ */ (() =>
  z
    .object({
      approverGroups: z.array(principalIdSchema).min(1).max(20),
      approvals: z.union([z.literal(1), z.literal(2)]).default(1),
      maxDurationSeconds: z.number().int().min(MIN_SESSION_SECONDS).max(MAX_REQUEST_DURATION_SECONDS),
      requireReason: z.boolean().default(true),
      pendingSeconds: z.number().int().min(60).max(MAX_PENDING_SECONDS).default(86_400),
    })
    .strict())();

export const profileInputSchema = /* @__PURE__ */ z
  .object({
    roleArn,
    description: z.string().max(256).regex(printable, 'must not contain control characters').optional(),
    maxSessionSeconds: sessionSeconds.default(3600),
    scope: scopeSchema.optional(),
    sensitivity: z.enum(['standard', 'restricted']).default('standard'),
    externalId: z
      .string()
      .min(2)
      .max(1224)
      .regex(/^[\w+=,.@:/-]*$/, 'must match [\\w+=,.@:/-]')
      // Never shown, so it can't be round-tripped: omitted keeps the stored one, null removes it.
      .nullable()
      .optional(),
    requestable: requestableSchema.optional(),
    /** A restricted profile's step-up: how recent a strong sign-in must be (default 900 s; at most a day). */
    stepUp: z.object({ maxAuthAgeSeconds: z.number().int().min(0).max(MAX_AUTH_AGE_SECONDS) }).strict().optional(),
  })
  .strict();
export type ProfileInput = z.infer<typeof profileInputSchema>;

export const subjectSchema = /* @__PURE__ */ z.object({ type: z.enum(['user', 'group']), id: principalIdSchema }).strict();

export const grantInputSchema = /* @__PURE__ */ z
  .object({
    profile: profileNameSchema,
    subject: subjectSchema,
    validFrom: isoDateTime.optional(),
    validUntil: isoDateTime,
    maxSessionSeconds: sessionSeconds.optional(),
    scope: scopeSchema.optional(),
    canDelegate: z.boolean().default(false),
    /** For a delegator holding several grants on the profile: which one to delegate from. */
    parentGrantId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is not a grant id').optional(),
    reason: reason.optional(),
  })
  .strict();
export type GrantInput = z.infer<typeof grantInputSchema>;

/** `user:<id>` or `group:<id>`, as used in query strings. */
export const subjectQuerySchema = /* @__PURE__ */ z
  .string()
  .regex(/^(user|group):./, 'must be "user:<id>" or "group:<id>"')
  .transform((value) => {
    const separator = value.indexOf(':');
    return { type: value.slice(0, separator) as 'user' | 'group', id: value.slice(separator + 1) };
  })
  .pipe(subjectSchema);

/** `createdBy=me` is the caller; naming anyone else is for admins. */
export const listGrantsQuerySchema = /* @__PURE__ */ z
  .object({
    profile: profileNameSchema.optional(),
    subject: subjectQuerySchema.optional(),
    createdBy: z.union([z.literal('me'), principalIdSchema]).optional(),
  })
  .strict();

export const grantIdSchema = /* @__PURE__ */ z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is not a grant id');

/** Path parameters: `{name}` of /profiles/{name}, `{id}` of /grants/{id}. */
export const profilePathSchema = /* @__PURE__ */ z.object({ name: profileNameSchema });
export const grantPathSchema = /* @__PURE__ */ z.object({ id: grantIdSchema });

// Audit, alerts and security-team queries. Times are normalised to UTC with milliseconds, the
// form every stored `at` has, so the adapters can compare them as strings.
const queryTime = /* @__PURE__ */ isoDateTime.transform((value) => new Date(value).toISOString());

/** AWS access key ids: `AKIA` (long-term) or `ASIA` (temporary), 16 to 128 characters. */
export const accessKeyIdSchema = /* @__PURE__ */ z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{12,124}$/, 'is not an AWS access key id');

// A cursor is an event id, `<ISO time>#<unique>`. The unique part is whatever the writer chose (a
// random id, a CloudTrail eventID), so any printable ASCII is taken: it is only ever a key value.
export const eventIdCursorSchema = /* @__PURE__ */ z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[\x21-\x7e]{1,200}$/, 'is not a cursor returned by this API')
  .refine((cursor) => !Number.isNaN(Date.parse(cursor.slice(0, 24))), 'is not a cursor returned by this API');
// Or `~` and a key no event has, in base64url (at most DynamoDB's 1,024 bytes): where a walk stopped
// in items someone else wrote into the table, so paging goes on past them.
export const auditCursorSchema = /* @__PURE__ */ z
  .union([eventIdCursorSchema, z.string().regex(/^~[A-Za-z0-9_-]{1,1366}$/)], { errorMap: () => ({ message: 'is not a cursor returned by this API' }) })
  .refine((cursor) => toCursor(fromCursor(cursor)) === cursor, 'is not a cursor returned by this API');

/** Whether `key` has the form of an event id, which a cursor carries as it is. */
export const isEventIdCursor = (key: string): boolean => eventIdCursorSchema.safeParse(key).success;

/** The cursor for a key: an event id as it is, any other key encoded. */
export function toCursor(key: string): string {
  return isEventIdCursor(key) ? key : `~${Buffer.from(key, 'utf8').toString('base64url')}`;
}

/** The key a cursor stands for. */
export function fromCursor(cursor: string): string {
  return cursor.startsWith('~') ? Buffer.from(cursor.slice(1), 'base64url').toString('utf8') : cursor;
}

const pageLimit = /* @__PURE__ */ z.coerce.number().int().min(1).max(100).default(50);

const fromNotAfterTo = (range: { from?: string; to?: string }) =>
  range.from === undefined || range.to === undefined || range.from <= range.to;
const FROM_AFTER_TO = { path: ['from'], message: 'must not be after to' };

export const auditQuerySchema = /* @__PURE__ */ z
  .object({
    principal: principalIdSchema.optional(),
    profile: profileNameSchema.optional(),
    type: z.enum(AUDIT_EVENT_TYPES).optional(),
    accessKeyId: accessKeyIdSchema.optional(),
    from: queryTime.optional(),
    to: queryTime.optional(),
    limit: pageLimit,
    cursor: auditCursorSchema.optional(),
    /** json (a page, the default), or the whole filtered result as csv or ndjson (an export, audited). */
    format: z.enum(['json', 'csv', 'ndjson']).optional(),
  })
  .strict()
  .refine(fromNotAfterTo, FROM_AFTER_TO);

export const keyTracePathSchema = /* @__PURE__ */ z.object({ accessKeyId: accessKeyIdSchema }).strict();

export const accessQuerySchema = /* @__PURE__ */ z.object({ profile: profileNameSchema }).strict();

/** Both optional: the use case defaults to the last 24 hours and bounds the span. */
export const verifyQuerySchema = /* @__PURE__ */ z
  .object({ from: queryTime.optional(), to: queryTime.optional() })
  .strict()
  .refine(fromNotAfterTo, FROM_AFTER_TO);
export type VerifyQuery = z.infer<typeof verifyQuerySchema>;

export const alertsQuerySchema = /* @__PURE__ */ z
  .object({
    since: queryTime.optional(),
    rule: z.enum(ALERT_RULES).optional(),
    limit: pageLimit,
    cursor: auditCursorSchema.optional(),
  })
  .strict();
export type AlertsQuery = z.infer<typeof alertsQuerySchema>;

export const lockdownInputSchema = /* @__PURE__ */ z
  .object({
    profiles: z.union([z.tuple([z.literal('*')]), z.array(profileNameSchema).min(1).max(100)]),
    allow: z
      .object({
        groups: z.array(principalIdSchema).max(100).optional(),
        principals: z.array(principalIdSchema).max(100).optional(),
      })
      .strict(),
    reason: reason,
    revokeActiveSessions: z.boolean().default(false),
  })
  .strict();
export type LockdownInput = z.infer<typeof lockdownInputSchema>;

export const lockdownLiftInputSchema = /* @__PURE__ */ z.object({ reason: reason }).strict();
export type LockdownLiftInput = z.infer<typeof lockdownLiftInputSchema>;

// Engagements. The limits keep one engagement's grants inside one DynamoDB transaction (checked by
// the use case, which knows the exact count) and its record far below DynamoDB's 400 KB item.
const MAX_ENGAGEMENT_MEMBERS = 20;
const MAX_ENGAGEMENT_PROFILES = 20;

const distinct = (values: readonly string[]) => new Set(values).size === values.length;

const principalIdsSchema = /* @__PURE__ */ z
  .array(principalIdSchema)
  .min(1)
  .max(MAX_ENGAGEMENT_MEMBERS)
  .refine(distinct, 'must not name a principal twice');

export const engagementIdSchema = /* @__PURE__ */ z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is not an engagement id');
export const engagementPathSchema = /* @__PURE__ */ z.object({ id: engagementIdSchema });

export const engagementProfileSchema = /* @__PURE__ */ z
  .object({ profile: profileNameSchema, scope: scopeSchema.optional(), maxSessionSeconds: sessionSeconds.optional() })
  .strict();

export const engagementInputSchema = /* @__PURE__ */ z
  .object({
    name: z.string().min(1).max(128).regex(printable, 'must not contain control characters'),
    owner: principalIdSchema,
    contractors: principalIdsSchema,
    profiles: z
      .array(engagementProfileSchema)
      .min(1)
      .max(MAX_ENGAGEMENT_PROFILES)
      .refine((entries) => distinct(entries.map((entry) => entry.profile)), 'must not name a profile twice'),
    validUntil: isoDateTime,
  })
  .strict()
  // The handover revokes every contractor grant: an owner who is also a contractor would lose
  // their own access with it.
  .refine((input) => !input.contractors.includes(input.owner), {
    path: ['contractors'],
    message: 'must not include the owner',
  });
export type EngagementInput = z.infer<typeof engagementInputSchema>;

export const handoverInputSchema = /* @__PURE__ */ z
  .object({
    /** Who receives full control; the owner when left out. */
    to: principalIdsSchema.optional(),
    note: reason.optional(),
  })
  .strict();
export type HandoverInput = z.infer<typeof handoverInputSchema>;

// Access requests. Their reasons and comments reach approvers' mail and chat: nothing invisible or
// direction-changing may hide what they say.
const requestText = /* @__PURE__ */ (() =>
  reason.refine((value) => !hidesCharacters(value), 'must not contain invisible characters (format or default-ignorable), spaces other than the ASCII one, or line separators'))();
export const requestIdSchema = /* @__PURE__ */ (() => z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is not a request id'))();

export const accessRequestInputSchema = /* @__PURE__ */ (() =>
  z
    .object({
      profile: profileNameSchema,
      durationSeconds: z.number().int().min(MIN_SESSION_SECONDS).max(MAX_REQUEST_DURATION_SECONDS),
      reason: requestText.optional(),
      scope: scopeSchema.optional(),
      startAt: isoDateTime.optional(),
    })
    .strict())();
export type AccessRequestInput = z.infer<typeof accessRequestInputSchema>;

/** approve, cancel and revoke: an optional comment, so every step can say why. */
export const requestCommentSchema = /* @__PURE__ */ (() => z.object({ comment: requestText.optional() }).strict())();
/** A denial says why. */
export const denyInputSchema = /* @__PURE__ */ (() => z.object({ comment: requestText }).strict())();
export const requestPathSchema = /* @__PURE__ */ (() => z.object({ id: requestIdSchema }).strict())();

export const listRequestsQuerySchema = /* @__PURE__ */ (() =>
  z
    .object({
      status: z.enum(['pending', 'approved', 'denied', 'cancelled', 'expired', 'revoked']).optional(),
      /** true: only the caller's own requests; false (default): everything the caller may see. */
      mine: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
    })
    .strict())();
export type ListRequestsQuery = z.infer<typeof listRequestsQuerySchema>;
