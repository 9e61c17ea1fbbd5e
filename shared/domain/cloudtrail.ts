// CloudTrail records as tvm reads them. Input comes from outside tvm (EventBridge, a trail's log
// files, the local stack) and from AWS's own samples, which carry typos and placeholders, so
// nothing here trusts a field's presence or type, and nothing throws: every record comes out as a
// call worth recording, `unrelated`, or `malformed` with a reason that quotes no value from it.
//
// Normalised rather than refused (the meaning is unambiguous):
// - eventTime in "YYYY-MM-DD HH:MM:SS[.fraction]" (space, nanoseconds, no zone), as exports such as
//   Panther's write it: CloudTrail times are UTC, so a time without a zone is read as UTC.
// Refused as malformed (guessing would put a wrong identity or time into the audit trail):
// - ARNs that are not exactly `arn:<partition>:iam::<12 digits>:role/…` (the session's issuer) and
//   `arn:<partition>:sts::<12 digits>:assumed-role/<role>/<session>` (the session), e.g. the spaced
//   "arn: aws: sts: : 1234…" of the CloudTrail user guide; times such as "2021-02-21T23: 46: 28Z".

/** A call made with the credentials of an assumed-role session: what a `credential.used` records. */
export interface AssumedRoleCall {
  readonly eventId: string;
  readonly eventTime: Date;
  readonly eventName: string;
  readonly eventSource: string;
  readonly awsRegion: string;
  readonly sourceIPAddress: string;
  readonly requestId?: string;
  readonly userAgent?: string;
  readonly recipientAccountId?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly accessKeyId: string;
  /** userIdentity.arn: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION. */
  readonly sessionArn: string;
  /** sessionContext.sessionIssuer.arn: the role the session belongs to. */
  readonly roleArn: string;
  readonly sourceIdentity?: string;
}

export type ParsedRecord =
  | { readonly kind: 'call'; readonly call: AssumedRoleCall }
  | { readonly kind: 'unrelated' | 'malformed'; readonly reason: string };

/** How `detail-type` names CloudTrail records on EventBridge. */
export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

export type ParsedEnvelope =
  | { readonly kind: 'record'; readonly record: unknown; readonly local: boolean }
  | { readonly kind: 'unrelated' | 'malformed'; readonly reason: string };

/** Kept whole up to here; longer values are cut (they only describe, and items have a size limit). */
export const MAX_USER_AGENT_LENGTH = 512;
export const MAX_ERROR_MESSAGE_LENGTH = 1024;
/** Longer required values are not CloudTrail's (eventIDs are UUIDs): refused as malformed. */
const MAX_FIELD_LENGTH = 256;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\x21-\x7e]{1,576}$/;
// The role segment of an assumed-role ARN is the role's name without its path.
const SESSION_ARN = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[\w+=,.@-]{1,64}\/[\w+=,.@-]{1,64}$/;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
const EVENT_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Classifies one CloudTrail record, cheapest and most common verdicts first, so that a log file
 * full of other principals' calls costs little and only records that may concern tvm count as
 * malformed:
 * 1. Not an object, or not made by an assumed-role session → unrelated (or malformed if not an object).
 * 2. The session's role ARN unreadable → malformed (it might have been one of ours).
 * 3. Not a role `isTargetRole` accepts → unrelated.
 * 4. Any field a `credential.used` needs missing or unreadable → malformed.
 */
export function parseCloudTrailRecord(raw: unknown, isTargetRole: (roleArn: string) => boolean): ParsedRecord {
  if (!isObject(raw)) return malformed('the record is not a JSON object');
  const identity = raw.userIdentity;
  if (!isObject(identity) || identity.type !== 'AssumedRole') return { kind: 'unrelated', reason: 'not made by an assumed-role session' };

  const context = identity.sessionContext;
  const issuer = isObject(context) ? context.sessionIssuer : undefined;
  const roleArn = isObject(issuer) ? issuer.arn : undefined;
  if (typeof roleArn !== 'string' || !ROLE_ARN.test(roleArn)) return malformed('sessionContext.sessionIssuer.arn is not a role ARN');
  if (!isTargetRole(roleArn)) return { kind: 'unrelated', reason: 'the session is not of a target role' };

  const eventId = requiredString(raw.eventID);
  if (eventId === undefined) return malformed('eventID is missing');
  const eventTime = parseEventTime(raw.eventTime);
  if (eventTime === undefined) return malformed('eventTime is missing or not an ISO 8601 UTC time');
  const accessKeyId = identity.accessKeyId;
  if (typeof accessKeyId !== 'string' || !ACCESS_KEY_ID.test(accessKeyId)) return malformed('userIdentity.accessKeyId is missing or not an access key id');
  const sessionArn = identity.arn;
  if (typeof sessionArn !== 'string' || !SESSION_ARN.test(sessionArn)) return malformed('userIdentity.arn is not an assumed-role session ARN');

  const eventName = requiredString(raw.eventName);
  const eventSource = requiredString(raw.eventSource);
  const awsRegion = requiredString(raw.awsRegion);
  const sourceIPAddress = requiredString(raw.sourceIPAddress);
  if (eventName === undefined) return malformed('eventName is missing');
  if (eventSource === undefined) return malformed('eventSource is missing');
  if (awsRegion === undefined) return malformed('awsRegion is missing');
  if (sourceIPAddress === undefined) return malformed('sourceIPAddress is missing');

  const sourceIdentity = isObject(context) ? requiredString(context.sourceIdentity) : undefined;
  const optional = {
    requestId: requiredString(raw.requestID),
    userAgent: truncated(raw.userAgent, MAX_USER_AGENT_LENGTH),
    recipientAccountId: requiredString(raw.recipientAccountId),
    errorCode: requiredString(raw.errorCode),
    errorMessage: truncated(raw.errorMessage, MAX_ERROR_MESSAGE_LENGTH),
    sourceIdentity,
  };
  const call: AssumedRoleCall = {
    eventId,
    eventTime,
    eventName,
    eventSource,
    awsRegion,
    sourceIPAddress,
    accessKeyId,
    sessionArn,
    roleArn,
    ...withoutUndefined(optional),
  };
  return { kind: 'call', call };
}

const AWS_SERVICE_SOURCE = /^aws\.(?!partner(?:\/|$))[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;

/**
 * The CloudTrail record inside an EventBridge "AWS API Call via CloudTrail" event. The local stack
 * sends the same envelope and marks its records with `detail.additionalEventData.tvmLocal: true`.
 */
export function parseEventBridgeEnvelope(raw: unknown, options: EnvelopeOptions = {}): ParsedEnvelope {
  if (!isObject(raw)) return malformed('the event is not a JSON object');
  if (raw['detail-type'] !== CLOUDTRAIL_DETAIL_TYPE) return { kind: 'unrelated', reason: `detail-type is not "${CLOUDTRAIL_DETAIL_TYPE}"` };
  // CloudTrail's events come from `aws.<service>`, a source no PutEvents caller may use: anything
  // else is someone's custom event dressed up as a CloudTrail record, and must not become a use.
  // `aws.partner/…` is a SaaS partner's source: its events are the partner's, not AWS's.
  if (typeof raw.source !== 'string' || !AWS_SERVICE_SOURCE.test(raw.source)) {
    return { kind: 'unrelated', reason: 'source is not an AWS service' };
  }
  const detail = raw.detail;
  if (!isObject(detail)) return malformed('detail is not a JSON object');
  const extra = detail.additionalEventData;
  const marked = isObject(extra) && extra.tvmLocal === true;
  return { kind: 'record', record: detail, local: options.acceptLocalMarker === true && marked };
}

export interface EnvelopeOptions {
  /** Only the local stack's records may call themselves local (`additionalEventData.tvmLocal`). */
  readonly acceptLocalMarker?: boolean;
}

/**
 * A CloudTrail eventTime as a Date, or undefined. Only ISO 8601 date-times (optionally with a space
 * for the `T`, up to nanoseconds, and without a zone meaning UTC); no Date.parse guessing.
 */
export function parseEventTime(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const match = EVENT_TIME.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const milliseconds = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const zone = match[8] ?? 'Z';
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second, milliseconds));
  // Date.UTC rolls 31 April over into May and maps years below 100 to the 1900s: refuse both.
  if (local.getUTCFullYear() !== year || local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) return undefined;
  if (zone === 'Z') return local;
  const offsetHours = Number(zone.slice(1, 3));
  const offsetMinutes = Number(zone.slice(4, 6));
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const sign = zone.startsWith('-') ? -1 : 1;
  return new Date(local.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(reason: string): { kind: 'malformed'; reason: string } {
  return { kind: 'malformed', reason };
}

/** A non-empty string of reasonable length, else undefined. */
function requiredString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= MAX_FIELD_LENGTH ? value : undefined;
}

function truncated(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, max) : undefined;
}

function withoutUndefined<T extends Record<string, unknown>>(fields: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<{
    [K in keyof T]: Exclude<T[K], undefined>;
  }>;
}
