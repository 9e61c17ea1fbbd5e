// Raising alerts: from each new audit event (the audit table's stream) and from a time window of
// the trail (the schedule, which catches what the stream could not see yet, e.g. a revocation
// recorded after the use that broke it). Both run the same rules with the same dedupe keys.
//
// Delivery is at least once without double records: an alert is published first and recorded
// second, with the record conditional on its dedupe key. If publishing fails nothing is recorded
// and the error reaches the platform, which retries; a retry that finds the record skips it.
import {
  evaluateDenial,
  lockedChangeAttempt,
  recheckTruncated,
  revocationPolicyChanged,
  trailLogRejected,
  evaluateUse,
  chronologically,
  isIgnoredSource,
  happenedAt,
  type AlertFinding,
  type AlertSettings,
  type UseFacts,
} from './alert-rules.js';
import {
  newAuditEventId,
  type AlertRaisedEvent,
  type AuditEvent,
  type AuditEventType,
  type CredentialDeniedEvent,
  type CredentialUsedEvent,
} from './audit.js';
import { ValidationError } from './errors.js';
import type { Grant, Lockdown, RequestMeta } from './model.js';
import type { AlertSink, AuditLog, Clock, DelegationStore, IdGenerator, KeyControlEvent, LockdownStore } from './ports.js';

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
  /**
   * True when the window held more events than one run reads: the rest were judged by the stream
   * alone, and for uses a `recheck-truncated` alert says so.
   */
  readonly truncated: boolean;
}

/** CloudTrail delivers a use minutes after it happened: the schedule looks back this much further. */
export const SCHEDULE_SLACK_MINUTES = 10;
/** Uses recorded this long ago are re-checked by every run (every 5 minutes: four times). */
export const RECHECK_MINUTES = 20;

/** A window the schedule (or a manual run) evaluates; uses by when they were recorded, from `usesFrom` (default `from`). */
export interface AlertWindow {
  readonly from: Date;
  readonly to: Date;
  readonly usesFrom?: Date;
}

/** How far back a manual run may reach. */
const MAX_MANUAL_SPAN_MS = 24 * 3_600_000;

/**
 * The window of a manual run: from `since` (an ISO time, or minutes or hours before now: `-90m`,
 * `-4h`) until now, at most a day back.
 */
export function manualWindow(since: string, now: Date): AlertWindow {
  const relative = /^-(\d+)([mh])$/.exec(since);
  const from = relative ? new Date(now.getTime() - Number(relative[1]) * (relative[2] === 'h' ? 3_600_000 : 60_000)) : new Date(since);
  if (!(from <= now) || now.getTime() - from.getTime() > MAX_MANUAL_SPAN_MS) throw new ValidationError('"since" must lie within the last 24 hours');
  return { from, to: now };
}

/** The window the schedule re-evaluates: a whole denial window plus late events, and the uses recorded in the last RECHECK_MINUTES. */
export function scheduledWindow(now: Date, settings: Pick<AlertSettings, 'denialWindowMinutes'>): Required<AlertWindow> {
  return {
    from: new Date(now.getTime() - (settings.denialWindowMinutes + SCHEDULE_SLACK_MINUTES) * 60_000),
    to: now,
    usesFrom: new Date(now.getTime() - RECHECK_MINUTES * 60_000),
  };
}

const PAGE_SIZE = 200;
/** At most this many pages per event type and window. */
const MAX_WINDOW_PAGES = 100;
/** At most this many uses re-checked per run (oldest recorded first). */
export const MAX_RECHECKED_USES = PAGE_SIZE * MAX_WINDOW_PAGES;

/** A record of the audit table's stream, as its adapter decoded it: the event, or why it was skipped. */
export type StreamedRecord<Ref> = { readonly ref: Ref; readonly event: AuditEvent } | { readonly ref: Ref; readonly skipped: string };

export interface StreamOutcome<Ref> {
  readonly raised: AlertRaisedEvent[];
  /** The records to deliver again, in order: empty when every event was evaluated. */
  readonly retry: Ref[];
  readonly failed?: { readonly eventId: string; readonly error: unknown };
}

/**
 * The events of a stream batch, evaluated in order. A shard is ordered, so when one fails, it and
 * every later record (skipped ones included) are handed back to be delivered again, in order.
 */
export async function raiseAlertsForStream<Ref>(deps: RaiseAlertsDeps, records: readonly StreamedRecord<Ref>[], meta: AlertRunMeta): Promise<StreamOutcome<Ref>> {
  const evaluable = records.flatMap((record, position) => ('event' in record ? [{ position, event: record.event }] : []));
  const outcome = await raiseAlertsForNewEvents(deps, evaluable.map(({ event }) => event), meta);
  const failed = outcome.failedAt === undefined ? undefined : evaluable[outcome.failedAt];
  if (!failed) return { raised: outcome.raised, retry: [] };
  return {
    raised: outcome.raised,
    retry: records.slice(failed.position).map(({ ref }) => ref),
    failed: { eventId: failed.event.id, error: outcome.error },
  };
}

/**
 * Stream path, one batch of new audit events in stream order:
 * 1. Skip everything but uses, denials, refused changes, revocation drift and rejected trail logs (alerts themselves,
 *    admin events).
 * 2. Per event, read what its rules need (the key's record, whether it was used elsewhere, its
 *    grant, the lockdown, the principal's recent denials; each read once per batch) and evaluate
 *    every rule.
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
 * 1. Read every use *recorded* in it, whenever the call was made (a use CloudTrail delivered an hour
 *    late is re-checked like any other, on indexes that have caught up with what was recorded
 *    before it), and every denial, refused change, revocation drift and rejected trail log in it
 *    (by type, paginated, bounded).
 * 2. Evaluate each, oldest first, as the stream does; a principal's recent denials come from the
 *    window itself (a denial near its start was counted in full by the previous run).
 * 3. Raise what was not raised yet; if the uses did not fit in one run, raise `recheck-truncated`
 *    too (never a silent stop). A failure throws: the platform retries the run, which skips what
 *    this one already recorded.
 */
export async function raiseAlertsForWindow(
  deps: RaiseAlertsDeps,
  window: AlertWindow,
  meta: AlertRunMeta,
  /** When the run must stop evaluating (the invocation's time is running out): it says so instead. */
  deadline?: Date,
): Promise<WindowOutcome> {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const usesFrom = (window.usesFrom ?? window.from).toISOString();
  const [recorded, denials, refusedChanges, drifts, rejections] = await Promise.all([
    deps.audit.usesRecordedBetween(usesFrom, to, MAX_RECHECKED_USES),
    readWindow(deps.audit, 'credential.denied', from, to),
    readWindow(deps.audit, 'change.denied', from, to),
    readWindow(deps.audit, 'revocation.drift', from, to),
    readWindow(deps.audit, 'trail.rejected', from, to),
  ]);
  const deniedOnes = denials.events.filter(isDenial);
  const run = new AlertRun(deps, meta, async (denial) => deniedOnes.filter((other) => other.principal === denial.principal));
  const events = [...recorded.uses, ...deniedOnes, ...refusedChanges.events, ...drifts.events, ...rejections.events].sort(chronologically);
  // Said first: a run that then runs out of time has still said it.
  const lastRead = recorded.uses.map((use) => use.recordedAt ?? '').sort().pop();
  if (recorded.truncated) await run.raise(recheckTruncated({ from: usesFrom, to }, lastRead ?? usesFrom, `the first ${MAX_RECHECKED_USES} uses`));
  let evaluated = 0;
  for (const event of events) {
    if (deadline !== undefined && deps.clock.now() >= deadline) {
      await run.raise(recheckTruncated({ from: usesFrom, to }, happenedAtIso(events[evaluated - 1]) ?? usesFrom, `${evaluated} of ${events.length} events, out of time`));
      return { from, to, evaluated, raised: run.raised, truncated: true };
    }
    await run.evaluate(event);
    evaluated++;
  }
  const truncated = [recorded, denials, refusedChanges, drifts, rejections].some((read) => read.truncated);
  return { from, to, evaluated, raised: run.raised, truncated };
}

/** One invocation's evaluation: its reads cached, its raised alerts remembered. */
class AlertRun {
  readonly raised: AlertRaisedEvent[] = [];
  private readonly keyEvents = new Map<string, Promise<KeyControlEvent[]>>();
  private readonly firstUses = new Map<string, Promise<CredentialUsedEvent | undefined>>();
  private readonly grants = new Map<string, Grant | undefined>();
  private lockdown: { readonly value: Lockdown | undefined } | undefined;
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

  /** A finding about the run itself. */
  raise(finding: AlertFinding): Promise<void> {
    return this.raiseOnce(finding);
  }

  private async findings(event: AuditEvent): Promise<AlertFinding[]> {
    if (event.type === 'credential.denied') {
      return evaluateDenial(event, await this.recentDenials(event), this.deps.settings);
    }
    if (event.type === 'change.denied' || event.type === 'revocation.drift' || event.type === 'trail.rejected') {
      const finding =
        event.type === 'change.denied'
          ? lockedChangeAttempt(event, this.deps.settings)
          : event.type === 'revocation.drift'
            ? revocationPolicyChanged(event)
            : trailLogRejected(event);
      return finding ? [finding] : [];
    }
    if (event.type !== 'credential.used') return [];
    const facts = await this.useFacts(event);
    return evaluateUse(event, facts, this.deps.settings);
  }

  private async useFacts(use: CredentialUsedEvent): Promise<UseFacts> {
    const keyEvents = await this.keyEventsOf(use.accessKeyId);
    const usedElsewhere = await this.useElsewhere(use, keyEvents);
    const found = usedElsewhere ? { usedElsewhere } : {};
    // A session tvm did not issue has no grant, and no principal a lockdown could allow.
    if (use.issuance === null) return { keyEvents, ...found };
    return { keyEvents, ...found, grant: await this.grant(use.issuance.grantId), lockdown: await this.currentLockdown() };
  }

  /**
   * A call made with the use's key from another source that counts: the key's first such use,
   * kept when it was recorded (AppendOptions.firstCountedUse) and read by key, so no number of
   * calls from AWS services acting for the session, before or between, can hide a change of place.
   * Every use from a second place differs from it, whatever order the records arrived in.
   * Not looked for once the key's alert is raised.
   */
  private async useElsewhere(use: CredentialUsedEvent, keyEvents: readonly KeyControlEvent[]): Promise<CredentialUsedEvent | undefined> {
    const dedupeKey = `source-ip-change#${use.accessKeyId}`;
    const raised = this.settled.has(dedupeKey) || keyEvents.some((event) => event.type === 'alert.raised' && event.dedupeKey === dedupeKey);
    if (raised || isIgnoredSource(use.sourceIPAddress, this.deps.settings.ignoredSources)) return undefined;
    const first = await this.cached(this.firstUses, use.accessKeyId, () => this.deps.audit.firstCountedUse(use.accessKeyId));
    return first && first.sourceIPAddress !== use.sourceIPAddress ? first : undefined;
  }

  /**
   * 1. Already raised (by this run, or recorded: its once-marker, read strongly consistently, so
   *    the stream and the schedule do not both publish)? Nothing to do.
   * 2. Publish; a failure throws before anything is recorded, so the retry publishes again.
   * 3. Record it with onceKey `alert:<dedupeKey>`. 'duplicate' means a concurrent evaluator
   *    recorded it between 1 and 3: subscribers got it twice, the trail has it once.
   */
  private async raiseOnce(finding: AlertFinding): Promise<void> {
    const onceKey = `alert:${finding.dedupeKey}`;
    if (this.settled.has(finding.dedupeKey) || (await this.deps.audit.isRecordedOnce(onceKey))) {
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
    const recorded = await this.deps.audit.append(alert, { onceKey });
    this.settled.add(dedupeKey);
    if (recorded === 'appended') this.raised.push(alert);
  }

  private keyEventsOf(accessKeyId: string): Promise<KeyControlEvent[]> {
    return this.cached(this.keyEvents, accessKeyId, () => this.deps.audit.controlEventsForKey(accessKeyId));
  }

  /** One read per key for the run; a failed read is forgotten, so the retry reads again. */
  private cached<T>(cache: Map<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> {
    let pending = cache.get(key);
    if (!pending) {
      pending = read();
      cache.set(key, pending);
      pending.catch(() => cache.delete(key));
    }
    return pending;
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
  type: Extract<AuditEventType, 'credential.denied' | 'change.denied' | 'revocation.drift' | 'trail.rejected'>,
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

const happenedAtIso = (event: AuditEvent | undefined) => (event === undefined ? undefined : new Date(happenedAt(event)).toISOString());
