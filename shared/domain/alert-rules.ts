// The alert rules, as pure functions of audit events and the records they name. Each rule answers
// with a finding (or nothing); raise-alerts.ts does the reads, the dedupe and the publishing.
//
// Every finding carries a dedupe key built only from what the rule is about (a key, a principal, a
// fixed time bucket), never from when or by which path it was evaluated: the stream and the
// schedule, seeing the same events, derive the same key, so an alert is raised once.
import type {
  AdminAuditEvent,
  AlertRaisedEvent,
  AlertRule,
  AlertSeverity,
  AuditEvent,
  CredentialDeniedEvent,
  CredentialUsedEvent,
} from './audit.js';
import { isAllowed, locksRole } from './lockdown-rules.js';
import type { Grant, Lockdown } from './model.js';
import type { KeyControlEvent } from './ports.js';

/** The tunable part of the rules (config().alerts). */
export interface AlertSettings {
  /** Denials of one principal within the window that make a burst. */
  readonly denialThreshold: number;
  readonly denialWindowMinutes: number;
  /** Source "IPs" that are AWS acting for the session, not a second location (`*` wildcard). */
  readonly ignoredSources: readonly string[];
}

/** One severity per rule, so subscribers can filter on it (the SNS `severity` attribute). */
export const ALERT_SEVERITY: Readonly<Record<AlertRule, AlertSeverity>> = /* @__PURE__ */ Object.freeze({
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
  // Someone changed a cut-off behind tvm's back: sessions it denied may have worked meanwhile.
  'revocation-policy-changed': 'critical',
  // A session's SourceIdentity cannot change: a key used under another than tvm set was not the
  // session tvm issued to that person, or the record was forged. Either way, look now.
  'source-identity-mismatch': 'critical',
  // A trail log file too large to read: the uses in it past the cap are not recorded.
  'trail-log-rejected': 'high',
  // The schedule found more uses than one run re-checks: the rest were judged by the stream alone.
  'recheck-truncated': 'high',
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
}

/** What the use rules need besides the use: read once per key, grant and invocation. */
export interface UseFacts {
  /** Everything recorded under the use's access key but its uses (AuditLog.controlEventsForKey). */
  readonly keyEvents: readonly KeyControlEvent[];
  /**
   * A call made with the key from another source than this use's, AWS services aside, when one
   * was found (raise-alerts.ts decides how far to look).
   */
  readonly usedElsewhere?: CredentialUsedEvent;
  /** The grant the key was issued under, as stored now. */
  readonly grant?: Grant;
  /** The current lockdown record, active or lifted. */
  readonly lockdown?: Lockdown;
}

/** Every use rule, in a fixed order. */
export function evaluateUse(use: CredentialUsedEvent, facts: UseFacts, settings: AlertSettings): AlertFinding[] {
  return [
    unknownSession(use),
    sourceIdentityMismatch(use),
    useAfterRevocation(use, facts.keyEvents, facts.grant),
    useDuringLockdown(use, facts.lockdown),
    sourceIpChange(use, facts.usedElsewhere, settings.ignoredSources),
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

/** A key tvm issued, used under another SourceIdentity than it set (recordUse marks the use). */
export function sourceIdentityMismatch(use: CredentialUsedEvent): AlertFinding | undefined {
  if (use.issuance === null || use.sourceIdentityMismatch !== true) return undefined;
  return {
    ...about('source-identity-mismatch', use),
    evidence: [use.issuance.eventId, use.id],
    summary: `key ${use.accessKeyId} was issued to ${use.issuance.principal} with SourceIdentity ${use.issuance.sourceIdentity}, but used as ${use.sourceIdentity ?? '(none)'}: ${call(use)}`,
    dedupeKey: `source-identity-mismatch#${use.accessKeyId}`,
  };
}

/**
 * When a call was made, as far as its record tells: CloudTrail stamps whole seconds, so a call
 * stamped 12:00:00 was made in [12:00:00, 12:00:01). A stamp with a fraction is taken as exact.
 */
export function callWindow(use: CredentialUsedEvent): { readonly from: number; readonly until: number } {
  const from = Date.parse(use.eventTime);
  return { from, until: from + (from % 1000 === 0 ? 1000 : 1) };
}

/**
 * How a call relates to something that happened at `instant`: certainly after it, possibly after
 * it (within the call's second: a security alert prefers a rare false positive there to a miss),
 * or before it.
 */
function callAfter(use: CredentialUsedEvent, instant: string): 'after' | 'same-second' | 'before' {
  const time = Date.parse(instant);
  const { from, until } = callWindow(use);
  return time < from ? 'after' : time < until ? 'same-second' : 'before';
}

/** Said of an alert that fires on a call within the same second as what it came after. */
const sameSecond = (what: string) => ` (${what} within the call's second: CloudTrail records whole seconds, so the call may have come just before)`;

/**
 * A key used after its session was cut off (a `session.revoked` event under the key) or after the
 * grant it was issued under was revoked (which a handover does too, with its own reason).
 */
export function useAfterRevocation(
  use: CredentialUsedEvent,
  keyEvents: readonly AuditEvent[],
  grant: Grant | undefined,
): AlertFinding | undefined {
  if (use.issuance === null) return undefined;
  const cutOff = keyEvents
    .filter((event) => event.type === 'session.revoked' && event.accessKeyId === use.accessKeyId && callAfter(use, event.at) !== 'before')
    .sort(chronologically)[0];
  const dedupeKey = `use-after-revocation#${use.accessKeyId}`;
  if (cutOff) {
    const note = callAfter(use, cutOff.at) === 'same-second' ? sameSecond('cut off') : '';
    return {
      ...about('use-after-revocation', use),
      evidence: [cutOff.id, use.id],
      summary: `${use.principal}'s key ${use.accessKeyId} was used after its session was cut off at ${cutOff.at}${note}: ${call(use)}`,
      dedupeKey,
    };
  }
  const revokedAt = grant?.id === use.issuance.grantId && grant.status === 'revoked' ? grant.revokedAt : undefined;
  const order = revokedAt === undefined ? 'before' : callAfter(use, revokedAt);
  if (!grant || order === 'before') return undefined;
  const why = grant.revokedReason ? ` (${grant.revokedReason})` : '';
  const note = order === 'same-second' ? sameSecond('revoked') : '';
  return {
    ...about('use-after-revocation', use),
    // The grant record names no audit event; the issuance ties the key to the grant.
    evidence: [use.issuance.eventId, use.id],
    summary:
      `${use.principal}'s key ${use.accessKeyId} was used after its grant ${grant.id} was revoked at ${grant.revokedAt}` +
      ` by ${grant.revokedBy ?? 'unknown'}${why}${note}: ${call(use)}`,
    dedupeKey,
  };
}

/**
 * A key of a principal outside the allow list used on a locked role (whichever profile it came
 * through) after the lockdown began (and before it was lifted). Only the current lockdown record is
 * known: a lockdown replaced by a later one is judged by the later one.
 */
export function useDuringLockdown(use: CredentialUsedEvent, lockdown: Lockdown | undefined): AlertFinding | undefined {
  const issuance = use.issuance;
  if (issuance === null || lockdown === undefined) return undefined;
  // The record as if active: a lifted lockdown still tells which roles it locked until then.
  const asActive = { ...lockdown, active: true };
  const covers = locksRole(asActive, use.roleArn) || asActive.profiles.includes(issuance.profile);
  const activation = callAfter(use, lockdown.activatedAt);
  // Lifted before the call's second began: the call came after the lift.
  const liftedBefore = !lockdown.active && (lockdown.liftedAt === undefined || Date.parse(lockdown.liftedAt) <= callWindow(use).from);
  if (!covers || activation === 'before' || liftedBefore) return undefined;
  if (isAllowed(lockdown, { id: issuance.principal, groups: issuance.groups ?? [] })) return undefined;
  const note = activation === 'same-second' ? sameSecond('activated') : '';
  return {
    ...about('use-during-lockdown', use),
    evidence: [use.id],
    summary:
      `${issuance.principal}, not on the allow list, used key ${use.accessKeyId} on locked role ${use.roleArn} (profile ${issuance.profile})` +
      ` (lockdown since ${lockdown.activatedAt}: ${lockdown.reason})${note}: ${call(use)}`,
    dedupeKey: `use-during-lockdown#${lockdown.activatedAt}#${use.accessKeyId}`,
  };
}

/**
 * One key used from two places, AWS services acting for the session aside: `use` and a call from
 * another source (`usedElsewhere`, found by raise-alerts.ts), oldest first as evidence.
 */
export function sourceIpChange(
  use: CredentialUsedEvent,
  usedElsewhere: CredentialUsedEvent | undefined,
  ignoredSources: readonly string[],
): AlertFinding | undefined {
  if (!usedElsewhere || usedElsewhere.accessKeyId !== use.accessKeyId) return undefined;
  if (usedElsewhere.sourceIPAddress === use.sourceIPAddress) return undefined;
  if (isIgnoredSource(use.sourceIPAddress, ignoredSources) || isIgnoredSource(usedElsewhere.sourceIPAddress, ignoredSources)) {
    return undefined;
  }
  const both = [use, usedElsewhere].sort(chronologically);
  const places = both.map((event) => event.sourceIPAddress);
  return {
    ...about('source-ip-change', use),
    evidence: both.map((event) => event.id),
    summary: `key ${use.accessKeyId} of ${use.principal} was used from ${places.length} source IPs: ${places.join(', ')}`,
    dedupeKey: `source-ip-change#${use.accessKeyId}`,
  };
}

/** Whether a source "IP" is AWS acting for the session (config: alerts.ignoredSources). */
export function isIgnoredSource(source: string, ignoredSources: readonly string[]): boolean {
  return ignoredSources.some((pattern) => wildcardPattern(pattern).test(source));
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
  };
}

/**
 * A change refused because of the lockdown (an alias profile, a grant on a locked role, …): the
 * same rule as a refused vend, and the same dedupe, once per principal, profile and window bucket.
 */
export function lockedChangeAttempt(refusal: AdminAuditEvent, settings: AlertSettings): AlertFinding | undefined {
  if (refusal.type !== 'change.denied' || refusal.detail?.code !== 'LOCKDOWN_ACTIVE') return undefined;
  const bucketStart = bucketOf(refusal.at, settings);
  const profile = refusal.profile ?? '';
  const action = typeof refusal.detail.action === 'string' ? refusal.detail.action : 'change';
  return {
    rule: 'lockdown-breach-attempt',
    severity: ALERT_SEVERITY['lockdown-breach-attempt'],
    principal: refusal.principal,
    profile,
    evidence: [refusal.id],
    summary: `${refusal.principal} tried a ${action} on locked profile ${profile} at ${refusal.at}`,
    dedupeKey: `lockdown-breach-attempt#${bucketStart}#${profile}#${refusal.principal}`,
  };
}

/**
 * A role's revocation policy found changed outside tvm (drift the cut-off or the schedule put
 * right): once per finding.
 */
export function revocationPolicyChanged(drift: AdminAuditEvent): AlertFinding | undefined {
  if (drift.type !== 'revocation.drift' || drift.detail?.external !== true) return undefined;
  const roleArn = String(drift.detail.roleArn ?? '');
  return {
    rule: 'revocation-policy-changed',
    severity: ALERT_SEVERITY['revocation-policy-changed'],
    principal: roleArn,
    evidence: [drift.id],
    summary: `the tvm-revocations policy of ${roleArn} was changed outside tvm (found ${String(drift.detail.foundDigest ?? '?').slice(0, 12)}…); tvm put it right at ${drift.at}`,
    dedupeKey: `revocation-policy-changed#${drift.id}`,
  };
}

/** A CloudTrail log file ingestTrailLogs refused (over its cap): once per object. */
export function trailLogRejected(rejection: AdminAuditEvent): AlertFinding | undefined {
  if (rejection.type !== 'trail.rejected') return undefined;
  const object = `s3://${String(rejection.detail?.bucket ?? '?')}/${String(rejection.detail?.key ?? '?')}`;
  return {
    rule: 'trail-log-rejected',
    severity: ALERT_SEVERITY['trail-log-rejected'],
    principal: object,
    evidence: [rejection.id],
    summary: `${object} unzips to more than ${String(rejection.detail?.maxObjectBytes ?? '?')} bytes: the uses in it past that were not recorded; it waits in the dead-letter queue`,
    dedupeKey: `trail-log-rejected#${object}`,
  };
}

/**
 * A schedule run could not re-check all of its window (`what` it did re-check: more uses than one
 * run reads, or out of time): what came after `through` was judged once, when recorded. Once per
 * hour of the window's end: a flood that goes on raises once an hour, not every five minutes.
 */
export function recheckTruncated(window: { readonly from: string; readonly to: string }, through: string, what: string): AlertFinding {
  return {
    rule: 'recheck-truncated',
    severity: ALERT_SEVERITY['recheck-truncated'],
    principal: 'tvm',
    evidence: [],
    summary:
      `the alert schedule re-checked only ${what} of the window ${window.from} to ${window.to} (through ${through}):` +
      ' later ones were judged once, when recorded; a flood may be hiding one (query the audit trail for them)',
    dedupeKey: `recheck-truncated#${window.to.slice(0, 13)}`,
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

function about(
  rule: 'unknown-session' | 'source-identity-mismatch' | 'use-after-revocation' | 'use-during-lockdown' | 'source-ip-change',
  use: CredentialUsedEvent,
) {
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
