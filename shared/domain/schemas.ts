// Input schemas: each is also the type of what it validates. All objects are strict, so unknown
// fields are refused rather than silently ignored. Compiled once at module load.
import { z } from 'zod';
import { ALERT_RULES, AUDIT_EVENT_TYPES } from './audit.js';
import { MAX_SESSION_SECONDS, MIN_SESSION_SECONDS } from './duration.js';

// Printable, no control characters: these strings end up in logs, audit records and IAM policies.
const printable = /^[^\u0000-\u001f\u007f-\u009f]*$/;

export const profileNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit');

const actionPattern = z
  .string()
  .max(128)
  .regex(/^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/, 'must be an IAM action like "s3:GetObject" (wildcards * and ?)');

// Session policies accept U+0009-U+00FF; resources are further limited to printable ASCII without
// quotes or backslashes so the policy's JSON length equals its plaintext length.
const resourcePattern = z
  .string()
  .max(2048)
  .regex(/^(\*|arn:[\u0021\u0023-\u005b\u005d-\u007e]+)$/, 'must be "*" or an ARN (wildcards * and ?)');

export const scopeSchema = z
  .object({
    actions: z.array(actionPattern).min(1).max(100).optional(),
    resources: z.array(resourcePattern).min(1).max(100).optional(),
  })
  .strict()
  .refine((scope) => scope.actions !== undefined || scope.resources !== undefined, {
    message: 'needs actions or resources',
  });

const sessionSeconds = z.number().int().min(MIN_SESSION_SECONDS).max(MAX_SESSION_SECONDS);
const reason = z.string().min(1).max(256).regex(printable, 'must not contain control characters');
// Zod's pattern takes any offset up to +99:99, which no Date can hold: such a value must be refused
// here, not crash a later toISOString() as a 500.
const isoDateTime = z
  .string()
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 date-time');

export const vendRequestSchema = z
  .object({
    profile: profileNameSchema,
    durationSeconds: z.number().int().optional(),
    scope: scopeSchema.optional(),
    reason: reason.optional(),
  })
  .strict();
export type VendRequest = z.infer<typeof vendRequestSchema>;

export const vendQuerySchema = z.object({ format: z.enum(['credential_process']).optional() }).strict();

const roleArn = z
  .string()
  .max(2048)
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN');

export const profileInputSchema = z
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
  })
  .strict();
export type ProfileInput = z.infer<typeof profileInputSchema>;

export const principalIdSchema = z.string().min(1).max(256).regex(printable, 'must not contain control characters');

export const subjectSchema = z.object({ type: z.enum(['user', 'group']), id: principalIdSchema }).strict();

export const grantInputSchema = z
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
export const subjectQuerySchema = z
  .string()
  .regex(/^(user|group):./, 'must be "user:<id>" or "group:<id>"')
  .transform((value) => {
    const separator = value.indexOf(':');
    return { type: value.slice(0, separator) as 'user' | 'group', id: value.slice(separator + 1) };
  })
  .pipe(subjectSchema);

export const listGrantsQuerySchema = z
  .object({ profile: profileNameSchema.optional(), subject: subjectQuerySchema.optional() })
  .strict();

export const grantIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is not a grant id');

// Audit, alerts and security-team queries. Times are normalised to UTC with milliseconds, the
// form every stored `at` has, so the adapters can compare them as strings.
const queryTime = isoDateTime.transform((value) => new Date(value).toISOString());

/** AWS access key ids: `AKIA` (long-term) or `ASIA` (temporary), 16 to 128 characters. */
export const accessKeyIdSchema = z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{12,124}$/, 'is not an AWS access key id');

// A cursor is an event id, `<ISO time>#<unique>`. The unique part is whatever the writer chose (a
// random id, a CloudTrail eventID), so any printable ASCII is taken: it is only ever a key value.
export const auditCursorSchema = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[\x21-\x7e]{1,200}$/, 'is not a cursor returned by this API')
  .refine((cursor) => !Number.isNaN(Date.parse(cursor.slice(0, 24))), 'is not a cursor returned by this API');

const pageLimit = z.coerce.number().int().min(1).max(100).default(50);

const fromNotAfterTo = (range: { from?: string; to?: string }) =>
  range.from === undefined || range.to === undefined || range.from <= range.to;
const FROM_AFTER_TO = { path: ['from'], message: 'must not be after to' };

export const auditQuerySchema = z
  .object({
    principal: principalIdSchema.optional(),
    profile: profileNameSchema.optional(),
    type: z.enum(AUDIT_EVENT_TYPES).optional(),
    accessKeyId: accessKeyIdSchema.optional(),
    from: queryTime.optional(),
    to: queryTime.optional(),
    limit: pageLimit,
    cursor: auditCursorSchema.optional(),
  })
  .strict()
  .refine(fromNotAfterTo, FROM_AFTER_TO);

export const keyTracePathSchema = z.object({ accessKeyId: accessKeyIdSchema }).strict();

export const accessQuerySchema = z.object({ profile: profileNameSchema }).strict();

/** Both optional: the use case defaults to the last 24 hours and bounds the span. */
export const verifyQuerySchema = z
  .object({ from: queryTime.optional(), to: queryTime.optional() })
  .strict()
  .refine(fromNotAfterTo, FROM_AFTER_TO);
export type VerifyQuery = z.infer<typeof verifyQuerySchema>;

export const alertsQuerySchema = z
  .object({
    since: queryTime.optional(),
    rule: z.enum(ALERT_RULES).optional(),
    limit: pageLimit,
    cursor: auditCursorSchema.optional(),
  })
  .strict();
export type AlertsQuery = z.infer<typeof alertsQuerySchema>;

export const lockdownInputSchema = z
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

export const lockdownLiftInputSchema = z.object({ reason: reason }).strict();
export type LockdownLiftInput = z.infer<typeof lockdownLiftInputSchema>;

// Engagements. The limits keep one engagement's grants inside one DynamoDB transaction (checked by
// the use case, which knows the exact count) and its record far below DynamoDB's 400 KB item.
const MAX_ENGAGEMENT_MEMBERS = 20;
const MAX_ENGAGEMENT_PROFILES = 20;

const distinct = (values: readonly string[]) => new Set(values).size === values.length;

const principalIdsSchema = z
  .array(principalIdSchema)
  .min(1)
  .max(MAX_ENGAGEMENT_MEMBERS)
  .refine(distinct, 'must not name a principal twice');

export const engagementIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is not an engagement id');

export const engagementProfileSchema = z
  .object({ profile: profileNameSchema, scope: scopeSchema.optional(), maxSessionSeconds: sessionSeconds.optional() })
  .strict();

export const engagementInputSchema = z
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

export const handoverInputSchema = z
  .object({
    /** Who receives full control; the owner when left out. */
    to: principalIdsSchema.optional(),
    note: reason.optional(),
  })
  .strict();
export type HandoverInput = z.infer<typeof handoverInputSchema>;
