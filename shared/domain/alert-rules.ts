// The alert rules, as pure functions of audit events and the records they name. Each rule answers
// with a finding (or nothing); raise-alerts.ts does the reads, the dedupe and the publishing.
//
// Every finding carries a dedupe key built only from what the rule is about (a key, a principal, a
// fixed time bucket), never from when or by which path it was evaluated: the stream and the
// schedule, seeing the same events, derive the same key, so an alert is raised once.
import type {
  AlertRaisedEvent,
  AlertRule,
  AlertSeverity,
  AuditEvent,
  CredentialDeniedEvent,
  CredentialUsedEvent,
} from './audit.js';
import { isAllowed } from './manage-lockdown.js';
import type { Grant, Lockdown } from './model.js';

/** The tunable part of the rules (config().alerts). */
export interface AlertSettings {
  /** Denials of one principal within the window that make a burst. */
  readonly denialThreshold: number;
  readonly denialWindowMinutes: number;
  /** Source "IPs" that are AWS acting for the session, not a second location (`*` wildcard). */
  readonly ignoredSources: readonly string[];
}

/** One severity per rule, so subscribers can filter on it (the SNS `severity` attribute). */
export const ALERT_SEVERITY: Readonly<Record<AlertRule, AlertSeverity>> = Object.freeze({
  // A revoked or cut-off key still in use means the revocation did not hold, or is being probed.
  'use-after-revocation': 'critical',
  // Someone outside tvm can assume a target role: the control tvm exists for is bypassed.
  'unknown-session': 'high',
  // Refused, so nothing happened; but during a lockdown any attempt is worth a look.
  'lockdown-breach-attempt': 'high',
  'use-during-lockdown': 'critical',
  // Usually a misconfigured tool or a confused user; sometimes someone probing.
  'denial-burst': 'medium',
  // The classic sign of a copied key; also a laptop moving networks, hence not critical.
  'source-ip-change': 'high',
});

/** A rule that fired: everything of the alert except its id, time and request. */
export interface AlertFinding {
  readonly rule: AlertRule;
  readonly severity: AlertSeverity;
  /** Who the alert is about. */
  readonly principal: string;
  readonly accessKeyId?: string;
  readonly profile?: string;
  /** Audit ids, oldest first. */
  readonly evidence: readonly string[];
  readonly summary: string;
  readonly dedupeKey: string;
  /**
   * For rules deduplicated per time bucket rather than per key: the bucket's start. An alert with
   * this dedupe key cannot have been raised before it (where to look for an earlier one).
   */
  readonly bucketStart?: string;
}

/** What the use rules need besides the use: read once per key, grant and invocation. */
export interface UseFacts {
  /** Everything recorded under the use's access key (AuditLog.eventsForKey). */
  readonly keyHistory: readonly AuditEvent[];
  /** The grant the key was issued under, as stored now. */
  readonly grant?: Grant;
  /** The current lockdown record, active or lifted. */
  readonly lockdown?: Lockdown;
}

/** Every use rule, in a fixed order. */
export function evaluateUse(use: CredentialUsedEvent, facts: UseFacts, settings: AlertSettings): AlertFinding[] {
  return [
    unknownSession(use),
    useAfterRevocation(use, facts.keyHistory, facts.grant),
    useDuringLockdown(use, facts.lockdown),
    sourceIpChange(use, facts.keyHistory, settings.ignoredSources),
  ].filter((finding): finding is AlertFinding => finding !== undefined);
}

/** Every denial rule. `recentDenials`: any of the principal's denials covering the window before it. */
export function evaluateDenial(
  denial: CredentialDeniedEvent,
  recentDenials: readonly CredentialDeniedEvent[],
  settings: AlertSettings,
): AlertFinding[] {
  return [lockdownBreachAttempt(denial, settings), denialBurst(denial, recentDenials, settings)].filter(
    (finding): finding is AlertFinding => finding !== undefined,
  );
}

/** A target role used by a session tvm did not issue (no issuance joined the key). */
export function unknownSession(use: CredentialUsedEvent): AlertFinding | undefined {
  if (use.issuance !== null) return undefined;
  return {
    ...about('unknown-session', use),
    evidence: [use.id],
    summary: `${use.roleArn} was used by a session tvm did not issue (${use.sessionArn}, key ${use.accessKeyId}): ${call(use)}`,
    dedupeKey: `unknown-session#${use.accessKeyId}`,
  };
}

/**
 * A key used after its session was cut off (a `session.revoked` event under the key) or after the
 * grant it was issued under was revoked (which a handover does too, with its own reason).
 */
export function useAfterRevocation(
  use: CredentialUsedEvent,
  keyHistory: readonly AuditEvent[],
  grant: Grant | undefined,
): AlertFinding | undefined {
  if (use.issuance === null) return undefined;
  const usedAt = Date.parse(use.eventTime);
  const cutOff = keyHistory
    .filter((event) => event.type === 'session.revoked' && event.accessKeyId === use.accessKeyId && Date.parse(event.at) < usedAt)
    .sort(chronologically)[0];
  const dedupeKey = `use-after-revocation#${use.accessKeyId}`;
  if (cutOff) {
    return {
      ...about('use-after-revocation', use),
      evidence: [cutOff.id, use.id],
      summary: `${use.principal}'s key ${use.accessKeyId} was used after its session was cut off at ${cutOff.at}: ${call(use)}`,
      dedupeKey,
    };
  }
  const grantRevoked =
    grant?.id === use.issuance.grantId && grant.status === 'revoked' && grant.revokedAt !== undefined && Date.parse(grant.revokedAt) < usedAt;
  if (!grantRevoked) return undefined;
  const why = grant.revokedReason ? ` (${grant.revokedReason})` : '';
  return {
    ...about('use-after-revocation', use),
    // The grant record names no audit event; the issuance ties the key to the grant.
    evidence: [use.issuance.eventId, use.id],
    summary:
      `${use.principal}'s key ${use.accessKeyId} was used after its grant ${grant.id} was revoked at ${grant.revokedAt}` +
      ` by ${grant.revokedBy ?? 'unknown'}${why}: ${call(use)}`,
    dedupeKey,
  };
}

/**
 * A key of a principal outside the allow list used on a locked profile after the lockdown began
 * (and before it was lifted). Only the current lockdown record is known: a lockdown replaced by a
 * later one is judged by the later one.
 */
export function useDuringLockdown(use: CredentialUsedEvent, lockdown: Lockdown | undefined): AlertFinding | undefined {
  const issuance = use.issuance;
  if (issuance === null || lockdown === undefined) return undefined;
  const usedAt = Date.parse(use.eventTime);
  const covers = lockdown.profiles.includes('*') || lockdown.profiles.includes(issuance.profile);
  const inForce =
    usedAt >= Date.parse(lockdown.activatedAt) &&
    (lockdown.active || (lockdown.liftedAt !== undefined && Date.parse(lockdown.liftedAt) > usedAt));
  if (!covers || !inForce || isAllowed(lockdown, { id: issuance.principal, groups: issuance.groups ?? [] })) return undefined;
  return {
    ...about('use-during-lockdown', use),
    evidence: [use.id],
    summary:
      `${issuance.principal}, not on the allow list, used key ${use.accessKeyId} on locked profile ${issuance.profile}` +
      ` (lockdown since ${lockdown.activatedAt}: ${lockdown.reason}): ${call(use)}`,
    dedupeKey: `use-during-lockdown#${lockdown.activatedAt}#${use.accessKeyId}`,
  };
}

/** One key used from more than one place, AWS services acting for the session aside. */
export function sourceIpChange(
  use: CredentialUsedEvent,
  keyHistory: readonly AuditEvent[],
  ignoredSources: readonly string[],
): AlertFinding | undefined {
  const ignored = ignoredSources.map(wildcardPattern);
  const uses = [...keyHistory.filter((event) => event.id !== use.id), use]
    .filter((event): event is CredentialUsedEvent => event.type === 'credential.used' && event.accessKeyId === use.accessKeyId)
    .filter((event) => !ignored.some((pattern) => pattern.test(event.sourceIPAddress)))
    .sort(chronologically);
  const firstFromEach = new Map<string, CredentialUsedEvent>();
  for (const event of uses) if (!firstFromEach.has(event.sourceIPAddress)) firstFromEach.set(event.sourceIPAddress, event);
  if (firstFromEach.size < 2) return undefined;
  const places = [...firstFromEach.keys()];
  return {
    ...about('source-ip-change', use),
    evidence: [...firstFromEach.values()].map((event) => event.id),
    summary: `key ${use.accessKeyId} of ${use.principal} was used from ${places.length} source IPs: ${places.join(', ')}`,
    dedupeKey: `source-ip-change#${use.accessKeyId}`,
  };
}

/** A vend refused because of the lockdown: once per principal, profile and window bucket. */
export function lockdownBreachAttempt(denial: CredentialDeniedEvent, settings: AlertSettings): AlertFinding | undefined {
  if (denial.code !== 'LOCKDOWN_ACTIVE') return undefined;
  const bucketStart = bucketOf(denial.at, settings);
  return {
    rule: 'lockdown-breach-attempt',
    severity: ALERT_SEVERITY['lockdown-breach-attempt'],
    principal: denial.principal,
    profile: denial.profile,
    evidence: [denial.id],
    summary: `${denial.principal} tried to obtain credentials for locked profile ${denial.profile} at ${denial.at}`,
    dedupeKey: `lockdown-breach-attempt#${bucketStart}#${denial.profile}#${denial.principal}`,
    bucketStart,
  };
}

/**
 * At least `denialThreshold` denials of one principal within `denialWindowMinutes`, the window
 * ending at `denial` (inclusive at both ends). Deduplicated per principal and the bucket of the
 * denial that reached the threshold: a burst that goes on raises once per window length.
 */
export function denialBurst(
  denial: CredentialDeniedEvent,
  recentDenials: readonly CredentialDeniedEvent[],
  settings: AlertSettings,
): AlertFinding | undefined {
  const end = Date.parse(denial.at);
  const start = end - settings.denialWindowMinutes * 60_000;
  const inWindow = [...recentDenials.filter((event) => event.id !== denial.id), denial]
    .filter((event) => event.principal === denial.principal && Date.parse(event.at) >= start && chronologically(event, denial) <= 0)
    .sort(chronologically)
    // The evidence is the threshold-many denials that reached it: the same whichever path counted.
    .slice(-settings.denialThreshold);
  if (inWindow.length < settings.denialThreshold) return undefined;
  const bucketStart = bucketOf(denial.at, settings);
  const profiles = [...new Set(inWindow.map((event) => event.profile))];
  return {
    rule: 'denial-burst',
    severity: ALERT_SEVERITY['denial-burst'],
    principal: denial.principal,
    ...(profiles.length === 1 ? { profile: profiles[0] } : {}),
    evidence: inWindow.map((event) => event.id),
    summary:
      `${denial.principal} was refused credentials ${inWindow.length} times within ${settings.denialWindowMinutes} minutes` +
      ` (${[...new Set(inWindow.map((event) => event.code))].join(', ')} on ${profiles.join(', ')})`,
    dedupeKey: `denial-burst#${bucketStart}#${denial.principal}`,
    bucketStart,
  };
}

/** The JSON sent to subscribers: the alert's fields by name, so nothing added later leaks by accident. */
export function alertNotification(alert: AlertRaisedEvent) {
  return {
    id: alert.id,
    type: alert.type,
    at: alert.at,
    rule: alert.rule,
    severity: alert.severity,
    principal: alert.principal,
    ...(alert.accessKeyId ? { accessKeyId: alert.accessKeyId } : {}),
    ...(alert.profile ? { profile: alert.profile } : {}),
    summary: alert.summary,
    evidence: [...alert.evidence],
    dedupeKey: alert.dedupeKey,
  };
}

/** The start of the fixed window-length bucket `at` falls in (epoch-aligned, so every evaluator agrees). */
export function bucketOf(at: string, settings: Pick<AlertSettings, 'denialWindowMinutes'>): string {
  const length = settings.denialWindowMinutes * 60_000;
  return new Date(Math.floor(Date.parse(at) / length) * length).toISOString();
}

/** `*` matches any run of characters; everything else literally, ignoring case. */
export function wildcardPattern(pattern: string): RegExp {
  const literal = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`, 'i');
}

/** When an event happened: a use's CloudTrail eventTime, otherwise when tvm recorded it. */
export function happenedAt(event: AuditEvent): number {
  return Date.parse(event.type === 'credential.used' ? event.eventTime : event.at);
}

/** Oldest first; ties by id, so every evaluator orders the same events the same way. */
export function chronologically(a: AuditEvent, b: AuditEvent): number {
  return happenedAt(a) - happenedAt(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function about(rule: 'unknown-session' | 'use-after-revocation' | 'use-during-lockdown' | 'source-ip-change', use: CredentialUsedEvent) {
  const profile = use.issuance?.profile ?? use.profile;
  return {
    rule,
    severity: ALERT_SEVERITY[rule],
    // For a session tvm did not issue, the use's principal is the session's ARN.
    principal: use.issuance?.principal ?? use.principal,
    accessKeyId: use.accessKeyId,
    ...(profile ? { profile } : {}),
  };
}

function call(use: CredentialUsedEvent): string {
  const outcome = use.errorCode ? `, refused with ${use.errorCode}` : '';
  return `${use.eventSource} ${use.eventName} at ${use.eventTime} from ${use.sourceIPAddress}${outcome}`;
}
