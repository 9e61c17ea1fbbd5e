// Raising alerts: from each new audit event (the audit table's stream) and from a time window of
// the trail (the schedule, which catches what the stream could not see yet, e.g. a revocation
// recorded after the use that broke it). Both run the same rules with the same dedupe keys.
//
// Delivery is at least once without double records: an alert is published first and recorded
// second, with the record conditional on its dedupe key. If publishing fails nothing is recorded
// and the error reaches the platform, which retries; a retry that finds the record skips it.
import {
  evaluateDenial,
  evaluateUse,
  chronologically,
  type AlertFinding,
  type AlertSettings,
} from './alert-rules.js';
import {
  newAuditEventId,
  type AlertRaisedEvent,
  type AuditEvent,
  type AuditEventType,
  type CredentialDeniedEvent,
  type CredentialUsedEvent,
} from './audit.js';
import type { Grant, Lockdown, RequestMeta } from './model.js';
import type { AlertSink, AuditLog, Clock, DelegationStore, IdGenerator, LockdownStore } from './ports.js';

export interface RaiseAlertsDeps {
  readonly audit: AuditLog;
  readonly grants: Pick<DelegationStore, 'getGrant'>;
  readonly lockdown: Pick<LockdownStore, 'getLockdown'>;
  readonly sink: AlertSink;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly settings: AlertSettings;
}

/** The invocation the alerts are raised by: their audit events carry its request id. */
export type AlertRunMeta = Pick<RequestMeta, 'requestId'>;

export interface NewEventsOutcome {
  /** Alerts published and recorded by this call, oldest first. */
  readonly raised: AlertRaisedEvent[];
  /** Index of the first event whose evaluation, publishing or recording failed; later ones were not tried. */
  readonly failedAt?: number;
  readonly error?: unknown;
}

export interface WindowOutcome {
  readonly from: string;
  readonly to: string;
  /** Uses and denials evaluated. */
  readonly evaluated: number;
  readonly raised: AlertRaisedEvent[];
  /** True when the window held more events than one run reads (the rest waits for the stream). */
  readonly truncated: boolean;
}

/** CloudTrail delivers a use minutes after it happened: the schedule looks back this much further. */
export const SCHEDULE_SLACK_MINUTES = 10;
/** The window the schedule re-evaluates: long enough for a whole denial window plus late uses. */
export function scheduledWindow(now: Date, settings: Pick<AlertSettings, 'denialWindowMinutes'>): { from: Date; to: Date } {
  return { from: new Date(now.getTime() - (settings.denialWindowMinutes + SCHEDULE_SLACK_MINUTES) * 60_000), to: now };
}

const PAGE_SIZE = 200;
/** At most this many pages per event type and window, and per principal when looking for an alert. */
const MAX_WINDOW_PAGES = 100;
const MAX_ALERT_PAGES = 10;

/**
 * Stream path, one batch of new audit events in stream order:
 * 1. Skip everything but uses and denials (alerts themselves, admin events).
 * 2. Per event, read what its rules need (the key's history, its grant, the lockdown, the
 *    principal's recent denials; each read once per batch) and evaluate every rule.
 * 3. Per finding not raised yet: publish, then record with its dedupe key (see raiseOnce).
 * 4. Stop at the first event that fails and report its index: the platform retries from there.
 */
export async function raiseAlertsForNewEvents(
  deps: RaiseAlertsDeps,
  events: readonly AuditEvent[],
  meta: AlertRunMeta,
): Promise<NewEventsOutcome> {
  const run = new AlertRun(deps, meta, (denial) => queryRecentDenials(deps, denial));
  for (const [index, event] of events.entries()) {
    try {
      await run.evaluate(event);
    } catch (error) {
      return { raised: run.raised, failedAt: index, error };
    }
  }
  return { raised: run.raised };
}

/**
 * Schedule path, the window [from, to]:
 * 1. Read every use and denial recorded in it (by type, paginated, bounded).
 * 2. Evaluate each, oldest first, as the stream does; a principal's recent denials come from the
 *    window itself (a denial near its start was counted in full by the previous run).
 * 3. Raise what was not raised yet. A failure throws: the platform retries the run, which skips
 *    what this one already recorded.
 */
export async function raiseAlertsForWindow(
  deps: RaiseAlertsDeps,
  window: { readonly from: Date; readonly to: Date },
  meta: AlertRunMeta,
): Promise<WindowOutcome> {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const [uses, denials] = await Promise.all([
    readWindow(deps.audit, 'credential.used', from, to),
    readWindow(deps.audit, 'credential.denied', from, to),
  ]);
  const deniedOnes = denials.events.filter(isDenial);
  const run = new AlertRun(deps, meta, async (denial) => deniedOnes.filter((other) => other.principal === denial.principal));
  const events = [...uses.events, ...deniedOnes].sort(chronologically);
  for (const event of events) await run.evaluate(event);
  return { from, to, evaluated: events.length, raised: run.raised, truncated: uses.truncated || denials.truncated };
}

/** One invocation's evaluation: its reads cached, its raised alerts remembered. */
class AlertRun {
  readonly raised: AlertRaisedEvent[] = [];
  private readonly histories = new Map<string, AuditEvent[]>();
  private readonly grants = new Map<string, Grant | undefined>();
  private lockdown: { readonly value: Lockdown | undefined } | undefined;
  private readonly principalAlerts = new Map<string, Set<string>>();
  /** Dedupe keys raised (or found raised) by this run. */
  private readonly settled = new Set<string>();

  constructor(
    private readonly deps: RaiseAlertsDeps,
    private readonly meta: AlertRunMeta,
    private readonly recentDenials: (denial: CredentialDeniedEvent) => Promise<CredentialDeniedEvent[]>,
  ) {}

  async evaluate(event: AuditEvent): Promise<void> {
    for (const finding of await this.findings(event)) await this.raiseOnce(finding);
  }

  private async findings(event: AuditEvent): Promise<AlertFinding[]> {
    if (event.type === 'credential.denied') {
      return evaluateDenial(event, await this.recentDenials(event), this.deps.settings);
    }
    if (event.type !== 'credential.used') return [];
    const facts = await this.useFacts(event);
    return evaluateUse(event, facts, this.deps.settings);
  }

  private async useFacts(use: CredentialUsedEvent) {
    const keyHistory = await this.keyHistory(use.accessKeyId);
    // A session tvm did not issue has no grant, and no principal a lockdown could allow.
    if (use.issuance === null) return { keyHistory };
    return { keyHistory, grant: await this.grant(use.issuance.grantId), lockdown: await this.currentLockdown() };
  }

  /**
   * 1. Already raised (by this run, or recorded under its key or principal)? Nothing to do.
   * 2. Publish; a failure throws before anything is recorded, so the retry publishes again.
   * 3. Record it with onceKey `alert:<dedupeKey>`. 'duplicate' means a concurrent evaluator
   *    recorded it between 1 and 3: subscribers got it twice, the trail has it once.
   */
  private async raiseOnce(finding: AlertFinding): Promise<void> {
    if (this.settled.has(finding.dedupeKey) || (await this.alreadyRecorded(finding))) {
      this.settled.add(finding.dedupeKey);
      return;
    }
    const raisedAt = this.deps.clock.now();
    const { rule, severity, principal, accessKeyId, profile, evidence, summary, dedupeKey } = finding;
    const alert: AlertRaisedEvent = {
      id: newAuditEventId(raisedAt, this.deps.ids.next()),
      type: 'alert.raised',
      at: raisedAt.toISOString(),
      principal,
      requestId: this.meta.requestId,
      ...(profile ? { profile } : {}),
      ...(accessKeyId ? { accessKeyId } : {}),
      rule,
      severity,
      dedupeKey,
      summary,
      evidence: [...evidence],
    };
    await this.deps.sink.publish(alert);
    const recorded = await this.deps.audit.append(alert, { onceKey: `alert:${dedupeKey}` });
    this.settled.add(dedupeKey);
    if (recorded === 'appended') this.raised.push(alert);
  }

  private async alreadyRecorded(finding: AlertFinding): Promise<boolean> {
    const raised = (event: AuditEvent) => event.type === 'alert.raised' && event.dedupeKey === finding.dedupeKey;
    // Key alerts are indexed under the key, whose history the rules have just read.
    if (finding.accessKeyId !== undefined) return (await this.keyHistory(finding.accessKeyId)).some(raised);
    return (await this.alertsAbout(finding.principal, finding.bucketStart)).has(finding.dedupeKey);
  }

  /** Dedupe keys of the alerts about a principal raised since `since` (a bucket cannot be raised before it starts). */
  private async alertsAbout(principal: string, since: string | undefined): Promise<Set<string>> {
    const cacheKey = `${since ?? ''}|${principal}`;
    const cached = this.principalAlerts.get(cacheKey);
    if (cached) return cached;
    const keys = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_ALERT_PAGES; page++) {
      const read = await this.deps.audit.query({ principal, type: 'alert.raised', from: since, limit: PAGE_SIZE, cursor });
      for (const event of read.events) if (event.type === 'alert.raised') keys.add(event.dedupeKey);
      cursor = read.nextCursor;
      // Past the bound, publishing again is the cost; the record stays single (onceKey).
      if (!cursor) break;
    }
    this.principalAlerts.set(cacheKey, keys);
    return keys;
  }

  private async keyHistory(accessKeyId: string): Promise<AuditEvent[]> {
    let history = this.histories.get(accessKeyId);
    if (!history) {
      history = await this.deps.audit.eventsForKey(accessKeyId);
      this.histories.set(accessKeyId, history);
    }
    return history;
  }

  private async grant(id: string): Promise<Grant | undefined> {
    if (!this.grants.has(id)) this.grants.set(id, await this.deps.grants.getGrant(id));
    return this.grants.get(id);
  }

  private async currentLockdown(): Promise<Lockdown | undefined> {
    this.lockdown ??= { value: await this.deps.lockdown.getLockdown() };
    return this.lockdown.value;
  }
}

async function readWindow(
  audit: AuditLog,
  type: Extract<AuditEventType, 'credential.used' | 'credential.denied'>,
  from: string,
  to: string,
): Promise<{ events: AuditEvent[]; truncated: boolean }> {
  const events: AuditEvent[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_WINDOW_PAGES; page++) {
    const read = await audit.query({ type, from, to, limit: PAGE_SIZE, cursor });
    events.push(...read.events.filter((event) => event.type === type));
    cursor = read.nextCursor;
    if (!cursor) return { events, truncated: false };
  }
  return { events, truncated: true };
}

/** The principal's denials in the window ending at `denial`: one read of their partition. */
async function queryRecentDenials(deps: RaiseAlertsDeps, denial: CredentialDeniedEvent): Promise<CredentialDeniedEvent[]> {
  const page = await deps.audit.query({
    principal: denial.principal,
    type: 'credential.denied',
    from: new Date(Date.parse(denial.at) - deps.settings.denialWindowMinutes * 60_000).toISOString(),
    to: denial.at,
    // Room for a few denials recorded in the same millisecond after this one.
    limit: deps.settings.denialThreshold + 10,
  });
  return page.events.filter(isDenial);
}

const isDenial = (event: AuditEvent): event is CredentialDeniedEvent => event.type === 'credential.denied';
