// Commander parsers for the commands' options and arguments. Each checks one value and throws
// InvalidArgumentError, which commander reports as a usage error (exit 2) before any request is
// sent. Where the API has a rule for the value, the parser applies the API's own schema, so the
// CLI never accepts what the API would refuse, nor refuses what it would accept.
import { InvalidArgumentError } from 'commander';
import type { ZodType, ZodTypeDef } from 'zod';
import {
  accessKeyIdSchema,
  auditCursorSchema,
  engagementIdSchema,
  grantIdSchema,
  grantInputSchema,
  principalIdSchema,
  profileInputSchema,
  profileNameSchema,
  MAX_REQUEST_DURATION_SECONDS,
  requestIdSchema,
  scopeSchema,
  subjectQuerySchema,
} from '../shared/domain/schemas.js';
import { MAX_SESSION_SECONDS, MIN_SESSION_SECONDS } from '../shared/domain/duration.js';

/** A parser that accepts what `schema` accepts, giving the schema's own message otherwise. */
function checkedBy<T>(schema: ZodType<T, ZodTypeDef, unknown>): (value: string) => T {
  return (value) => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    throw new InvalidArgumentError(`${parsed.error.issues.map((issue) => issue.message).join('; ')}.`);
  };
}

export const parseProfileName = checkedBy(profileNameSchema);
export const parsePrincipalId = checkedBy(principalIdSchema);
export const parseGrantId = checkedBy(grantIdSchema);
export const parseEngagementId = checkedBy(engagementIdSchema);
export const parseAccessKeyId = checkedBy(accessKeyIdSchema);
export const parseCursor = checkedBy(auditCursorSchema);
export const parseRoleArn = checkedBy(profileInputSchema.shape.roleArn);
export const parseExternalId = checkedBy(profileInputSchema.shape.externalId.unwrap().unwrap());
export const parseRequestId = checkedBy(requestIdSchema);
/** Reasons, notes and descriptions: 1-256 printable characters, as the API takes them. */
export const parseReason = checkedBy(grantInputSchema.shape.reason.unwrap());

/** `user:<id>` or `group:<id>`, passed on as written (the API parses it again). */
export function parseSubject(value: string): string {
  checkedBy(subjectQuerySchema)(value);
  return value;
}

/** An IAM action pattern, e.g. `s3:GetObject` or `s3:Get*`. */
export function parseAction(value: string): string {
  return checkScopeEntry({ actions: [value] }, value);
}

/** `*` or an ARN pattern. */
export function parseResource(value: string): string {
  return checkScopeEntry({ resources: [value] }, value);
}

function checkScopeEntry(scope: { actions?: string[]; resources?: string[] }, value: string): string {
  const parsed = scopeSchema.safeParse(scope);
  if (!parsed.success) throw new InvalidArgumentError(`${parsed.error.issues.map((issue) => issue.message).join('; ')}.`);
  return value;
}

export function parseSessionSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < MIN_SESSION_SECONDS || seconds > MAX_SESSION_SECONDS) {
    throw new InvalidArgumentError(`expected a whole number of seconds from ${MIN_SESSION_SECONDS} to ${MAX_SESSION_SECONDS}.`);
  }
  return seconds;
}

const SPAN = /^(\d{1,7})([smhdw]?)$/;

/** How long access lasts: `2h`, `90m`, `1d`, or seconds; from 15 minutes to 30 days, as requests take it. */
export function parseAccessDuration(value: string): number {
  const span = SPAN.exec(value);
  const seconds = span ? (Number(span[1]) * UNIT_MS[(span[2] || 's') as keyof typeof UNIT_MS]) / 1000 : NaN;
  if (!(seconds >= MIN_SESSION_SECONDS && seconds <= MAX_REQUEST_DURATION_SECONDS)) {
    throw new InvalidArgumentError(`expected a duration like 2h, 90m or 1d (or seconds), from 15m to ${MAX_REQUEST_DURATION_SECONDS / 86_400}d.`);
  }
  return seconds;
}

/** A page size, as the API's `limit` allows. */
export function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > 100) throw new InvalidArgumentError('expected a whole number from 1 to 100.');
  return limit;
}

const RELATIVE_TIME = /^([+-])(\d{1,6})([smhdw])$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const ISO_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;

const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;

/**
 * A moment: an ISO 8601 date-time with its offset, a date alone (its start, 00:00 UTC), `now`, or
 * relative to now, `+4h` (later) or `-7d` (earlier), in s, m, h, d or w. Returned as ISO 8601 UTC,
 * the form the API stores.
 */
export function parseTime(value: string, now: Date = new Date()): string {
  if (value === 'now') return now.toISOString();
  if (DATE_ONLY.test(value)) {
    const start = new Date(`${value}T00:00:00Z`);
    // Date.parse rolls 2026-02-30 over into March: only a date that round-trips is one.
    if (!Number.isNaN(start.getTime()) && start.toISOString().startsWith(value)) return start.toISOString();
  }
  const relative = RELATIVE_TIME.exec(value);
  if (relative) {
    const [, sign, amount, unit] = relative as unknown as [string, '+' | '-', string, keyof typeof UNIT_MS];
    return new Date(now.getTime() + (sign === '-' ? -1 : 1) * Number(amount) * UNIT_MS[unit]).toISOString();
  }
  const time = Date.parse(value);
  if (!ISO_DATE_TIME.test(value) || Number.isNaN(time)) {
    throw new InvalidArgumentError('expected a date (2026-12-01, 00:00 UTC), an ISO 8601 date-time with an offset (2026-12-01T09:30:00+01:00), now, or +4h / -7d.');
  }
  return new Date(time).toISOString();
}

/**
 * Makes a parser repeatable (`--action a --action b`): commander passes the values so far as
 * `previous`. The list is built afresh, never shared with a default.
 */
export function repeatable<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** Lockdown targets: profile names, or `*` alone for every profile (the API's own rule). */
export function collectLockdownProfiles(value: string, previous: string[] | undefined): string[] {
  const profiles = previous ?? [];
  const next = value === '*' ? '*' : parseProfileName(value);
  if ((next === '*' && profiles.length > 0) || profiles.includes('*')) {
    throw new InvalidArgumentError('"*" (every profile) cannot be combined with profile names.');
  }
  return [...profiles, next];
}

/** A session policy scope from repeated --action/--resource options; none when neither was given. */
export function scopeOf(actions: readonly string[] | undefined, resources: readonly string[] | undefined) {
  if (!actions?.length && !resources?.length) return undefined;
  return { ...(actions?.length ? { actions } : {}), ...(resources?.length ? { resources } : {}) };
}
