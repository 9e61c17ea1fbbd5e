// Audit events: the append-only record of everything tvm decided. Secrets never appear here:
// an issuance is identified by its access key id, which is public in every CloudTrail record.
import type { Principal, RequestMeta } from './model.js';

export type AuditEventType =
  | 'credential.issued'
  | 'credential.denied'
  | 'profile.put'
  | 'profile.deleted'
  | 'change.denied'
  | 'grant.created'
  | 'grant.revoked'
  | 'engagement.created'
  | 'handover.completed'
  | 'lockdown.activated'
  | 'lockdown.lifted'
  | 'session.revoked'
  | 'cutoff.failed'
  | 'revocation.drift'
  | 'trail.rejected'
  | 'credential.used'
  | 'alert.raised'
  | 'audit.exported'
  | 'request.created'
  | 'request.approved'
  | 'request.denied'
  | 'request.cancelled'
  | 'request.expired'
  | 'request.revoked';

/** Every type, for schemas and exhaustive checks. */
export const AUDIT_EVENT_TYPES = [
  'credential.issued',
  'credential.denied',
  'profile.put',
  'profile.deleted',
  'change.denied',
  'grant.created',
  'grant.revoked',
  'engagement.created',
  'handover.completed',
  'lockdown.activated',
  'lockdown.lifted',
  'session.revoked',
  'cutoff.failed',
  'revocation.drift',
  'trail.rejected',
  'credential.used',
  'alert.raised',
  'audit.exported',
  'request.created',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'request.expired',
  'request.revoked',
] as const satisfies readonly AuditEventType[];

interface AuditEventBase {
  /** Sortable unique id: `<ISO time>#<random>`. */
  readonly id: string;
  readonly type: AuditEventType;
  readonly at: string;
  /** The principal who acted (the caller). */
  readonly principal: string;
  readonly requestId: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  /** The one profile the event is about. */
  readonly profile?: string;
  /**
   * The profiles an event about several of them concerns (a lockdown, an engagement, a handover),
   * `["*"]` for every profile. Such an event has no `profile`, and a query by any one of them finds it.
   */
  readonly profiles?: readonly string[];
  /** The access key the event is about, when there is one: it indexes the event under that key. */
  readonly accessKeyId?: string;
}

export interface CredentialIssuedEvent extends AuditEventBase {
  readonly type: 'credential.issued';
  readonly profile: string;
  readonly roleArn: string;
  readonly grantId: string;
  readonly accessKeyId: string;
  readonly expiration: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  readonly assumedRoleArn: string;
  readonly durationSeconds: number;
  /** sha256 of the minified session policy, or undefined when the role's own policy applies. */
  readonly policyHash?: string;
  /** The caller's groups from its token (who a lockdown's group allow list covered). */
  readonly groups?: readonly string[];
  /** The lockdown version whose cut-off spares this session (its `tvm:lockdown` session tag). */
  readonly lockdownExemption?: string;
  readonly reason?: string;
  /** `console`: the caller got a sign-in URL to the AWS console for the session, not its credentials. */
  readonly format?: 'console';
  /** A restricted profile's session: how the person signed in (the token's `amr`), and when (`auth_time`). */
  readonly amr?: readonly string[];
  readonly authTime?: string;
}

export interface CredentialDeniedEvent extends AuditEventBase {
  readonly type: 'credential.denied';
  readonly profile: string;
  readonly code: string;
  readonly message: string;
  readonly grantId?: string;
  readonly reason?: string;
}

/** What an issuance says of the session it made, wherever that session is shown again. */
export type IssuedSession = Pick<CredentialIssuedEvent, 'principal' | 'grantId' | 'roleArn' | 'sessionName' | 'sourceIdentity' | 'expiration'> & {
  readonly issuedAt: string;
};

/** The issuance a use was joined to (by access key id, confirmed by SourceIdentity). */
export type UseIssuance = IssuedSession &
  Pick<CredentialIssuedEvent, 'profile' | 'groups'> & {
    /** Audit id of the `credential.issued` event. */
    readonly eventId: string;
  };

/** The one projection of an issuance onto the session it made. */
export function issuedSession(issued: CredentialIssuedEvent): IssuedSession {
  return {
    principal: issued.principal,
    grantId: issued.grantId,
    roleArn: issued.roleArn,
    sessionName: issued.sessionName,
    sourceIdentity: issued.sourceIdentity,
    issuedAt: issued.at,
    expiration: issued.expiration,
  };
}

/** `from`'s own values of `keys`, leaving out those it does not have. */
export function definedFields<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (from[key] !== undefined) picked[key] = from[key];
  return picked as Pick<T, K>;
}

/**
 * One CloudTrail record of a call made with assumed-role credentials of a target role. `principal`
 * is the issuance's principal, or for a session tvm did not issue, the session's ARN.
 * `requestId` is CloudTrail's requestID; `at` is the record's eventTime (when the call was made).
 */
export interface CredentialUsedEvent extends AuditEventBase {
  readonly type: 'credential.used';
  readonly accessKeyId: string;
  readonly issuance: UseIssuance | null;
  /** CloudTrail's eventID: a use is recorded once per eventID, whichever path delivered it. */
  readonly cloudTrailEventId: string;
  readonly eventTime: string;
  readonly eventName: string;
  readonly eventSource: string;
  readonly awsRegion: string;
  readonly sourceIPAddress: string;
  readonly recipientAccountId?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  /** The target role (sessionContext.sessionIssuer.arn) and the session's ARN. */
  readonly roleArn: string;
  readonly sessionArn: string;
  readonly sourceIdentity?: string;
  readonly grantId?: string;
  /** Set when the key joined an issuance whose SourceIdentity differs from the record's. */
  readonly sourceIdentityMismatch?: boolean;
  /** Which path delivered it first: EventBridge, the trail's log files, or the local stack. */
  readonly via: 'eventbridge' | 'trail' | 'local';
  /**
   * When tvm recorded it (set by the audit writer): a use can arrive long after the call. The
   * schedule re-checks uses by this time, so a late one is judged again like any other.
   */
  readonly recordedAt?: string;
}

export type AlertRule =
  | 'use-after-revocation'
  | 'unknown-session'
  | 'lockdown-breach-attempt'
  | 'use-during-lockdown'
  | 'denial-burst'
  | 'source-ip-change'
  | 'revocation-policy-changed'
  | 'source-identity-mismatch'
  | 'trail-log-rejected'
  | 'recheck-truncated';

export const ALERT_RULES = [
  'use-after-revocation',
  'unknown-session',
  'lockdown-breach-attempt',
  'use-during-lockdown',
  'denial-burst',
  'source-ip-change',
  'revocation-policy-changed',
  'source-identity-mismatch',
  'trail-log-rejected',
  'recheck-truncated',
] as const satisfies readonly AlertRule[];

export type AlertSeverity = 'critical' | 'high' | 'medium' | 'low';

/**
 * A rule fired. `principal` is who the alert is about (not who raised it: the alert function).
 * Raised once per `dedupeKey` (rule + key or principal + window), however often it is evaluated.
 */
export interface AlertRaisedEvent extends AuditEventBase {
  readonly type: 'alert.raised';
  readonly rule: AlertRule;
  readonly severity: AlertSeverity;
  readonly dedupeKey: string;
  readonly summary: string;
  /** Audit ids of the events that made the rule fire, oldest first. */
  readonly evidence: readonly string[];
}

export interface AdminAuditEvent extends AuditEventBase {
  readonly type: Exclude<AuditEventType, 'credential.issued' | 'credential.denied' | 'credential.used' | 'alert.raised'>;
  readonly grantId?: string;
  /** The changed record, without anything secret. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type AuditEvent = CredentialIssuedEvent | CredentialDeniedEvent | CredentialUsedEvent | AlertRaisedEvent | AdminAuditEvent;

/** The types recorded with `profiles` (the profiles they concern) rather than one `profile`. */
export const MULTI_PROFILE_EVENT_TYPES = [
  'engagement.created',
  'handover.completed',
  'lockdown.activated',
  'lockdown.lifted',
  'audit.exported',
] as const satisfies readonly AuditEventType[];

/** The `profiles` entry that stands for every profile (a lockdown of `["*"]`). */
export const EVERY_PROFILE = '*';

/** Whether an event is about `profile`: named as its profile, or among (or all of) its profiles. */
export function concernsProfile(event: Pick<AuditEvent, 'profile' | 'profiles'>, profile: string): boolean {
  return event.profile === profile || (event.profiles ?? []).some((p) => p === profile || p === EVERY_PROFILE);
}

/** Ids sort by time, so a partition's events read newest first with a reverse Query. */
export function newAuditEventId(at: Date, unique: string): string {
  return `${at.toISOString()}#${unique}`;
}

/** The fields every event shares: when, who, and the request it came from. */
export function eventBase(at: Date, unique: string, principal: Principal, meta: RequestMeta) {
  return {
    id: newAuditEventId(at, unique),
    at: at.toISOString(),
    principal: principal.id,
    requestId: meta.requestId,
    ...(meta.sourceIp ? { sourceIp: meta.sourceIp } : {}),
    ...(meta.userAgent ? { userAgent: meta.userAgent.slice(0, 512) } : {}),
  };
}

export function adminEvent(
  at: Date,
  unique: string,
  type: AdminAuditEvent['type'],
  principal: Principal,
  meta: RequestMeta,
  change: (
    | { readonly profile: string; readonly profiles?: never }
    /** An event about several profiles (MULTI_PROFILE_EVENT_TYPES): each one finds it. */
    | { readonly profiles: readonly string[]; readonly profile?: never }
  ) & {
    readonly grantId?: string;
    readonly accessKeyId?: string;
    readonly detail?: Record<string, unknown>;
  },
): AdminAuditEvent {
  const { profiles, ...rest } = change;
  return { ...eventBase(at, unique, principal, meta), type, ...rest, ...(profiles ? { profiles: [...profiles] } : {}) };
}
