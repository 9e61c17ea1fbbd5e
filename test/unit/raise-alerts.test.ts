// Raising alerts from the stream and from the schedule against in-memory ports: what is published
// and recorded, dedupe across both paths, and what happens when publishing or recording fails.
import { jest } from '@jest/globals';
import { isIgnoredSource, type AlertSettings } from '../../shared/domain/alert-rules.js';
import type { AuditEvent } from '../../shared/domain/audit.js';
import { AuditUnavailableError } from '../../shared/domain/errors.js';
import type { Grant, Lockdown } from '../../shared/domain/model.js';
import {
  raiseAlertsForNewEvents,
  raiseAlertsForWindow,
  scheduledWindow,
  type RaiseAlertsDeps,
} from '../../shared/domain/raise-alerts.js';
import {
  ACCESS_KEY_ID,
  RecordingAlertSink,
  aDenial,
  aSessionRevoked,
  aUse,
  anIssuedEvent,
  denials,
} from '../fixtures/alert-events.js';
import { aGrant, aProfile } from '../fixtures/builders.js';
import { InMemoryAuditLog, InMemoryDelegationStore, fixedClock, sequentialIds } from '../fixtures/in-memory.js';
import { InMemoryLockdownStore, aLockdown } from '../fixtures/in-memory-lockdown.js';
import { anAlert } from '../fixtures/key-events.js';

const SETTINGS: AlertSettings = { denialThreshold: 5, denialWindowMinutes: 10, ignoredSources: ['AWS Internal', '*.amazonaws.com'] };
const NOW = '2026-06-01T12:10:00.000Z';
const META = { requestId: 'lambda-request-1' };
const WINDOW = { from: new Date('2026-06-01T11:40:00.000Z'), to: new Date(NOW) };

async function setup(options: { readonly grants?: Grant[]; readonly lockdown?: Lockdown; readonly recorded?: AuditEvent[] } = {}) {
  const audit = new InMemoryAuditLog();
  const store = new InMemoryDelegationStore({ audit, profiles: [aProfile()], grants: options.grants ?? [aGrant()] });
  const lockdown = new InMemoryLockdownStore(audit, options.lockdown);
  const sink = new RecordingAlertSink();
  const clock = fixedClock(NOW);
  const deps: RaiseAlertsDeps = { audit, grants: store, lockdown, sink, clock, ids: sequentialIds('alert'), settings: SETTINGS };
  await record(audit, anIssuedEvent(), ...(options.recorded ?? []));
  return { audit, store, lockdown, sink, clock, deps };
}

/**
 * Appends events to the trail and returns them, as the stream then delivers them; a use as
 * recordUse appends it (kept as its key's first counted use when its source counts), recorded
 * when it was made unless the test says when (`recordedAt`: delivered late).
 */
async function record<T extends AuditEvent>(audit: InMemoryAuditLog, ...events: T[]): Promise<T[]> {
  // Stamped as the writer stamps it (ISO in UTC, to the millisecond): the only form the window finds.
  const recorded = events.map((event) =>
    event.type === 'credential.used' ? { ...event, recordedAt: event.recordedAt ?? new Date(event.eventTime).toISOString() } : event,
  );
  for (const event of recorded) {
    const counts = event.type === 'credential.used' && !isIgnoredSource(event.sourceIPAddress, SETTINGS.ignoredSources);
    await audit.append(event, counts ? { firstCountedUse: true } : {});
  }
  return recorded;
}

describe('raiseAlertsForNewEvents (stream)', () => {
  it('publishes, then records, an alert for a key used after its session was cut off', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const [revoked] = await record(audit, aSessionRevoked('2026-06-01T12:00:00.000Z'));
    const [use] = await record(audit, aUse({ eventTime: '2026-06-01T12:03:00Z' }));

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, [use!], META);

    // Assess
    const expected = {
      id: '2026-06-01T12:10:00.000Z#alert-00000001',
      type: 'alert.raised',
      at: NOW,
      principal: 'alice@example.com',
      requestId: 'lambda-request-1',
      profile: 'dev-readonly',
      accessKeyId: ACCESS_KEY_ID,
      rule: 'use-after-revocation',
      severity: 'critical',
      dedupeKey: `use-after-revocation#${ACCESS_KEY_ID}`,
      summary: expect.stringContaining('cut off at 2026-06-01T12:00:00.000Z'),
      evidence: [revoked!.id, use!.id],
    };
    expect(outcome).toEqual({ raised: [expected] });
    expect(sink.published).toEqual([expected]);
    expect(audit.eventsOfType('alert.raised')).toEqual([expected]);
    // Recorded under its dedupe key: a second record of it is refused.
    expect(await audit.append({ ...aUse({ unique: 'other' }) }, { onceKey: `alert:use-after-revocation#${ACCESS_KEY_ID}` })).toBe('duplicate');
  });

  it('raises nothing for an ordinary use and an ordinary refusal', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const events = await record<AuditEvent>(audit, aUse(), aDenial());

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, events, META);

    // Assess
    expect(outcome).toEqual({ raised: [] });
    expect(sink.published).toEqual([]);
    expect(audit.eventsOfType('alert.raised')).toEqual([]);
  });

  it('raises a key alert once, however many uses break the rule', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const first = await record(audit, aUse({ unique: 'use-1', issuance: null }));
    const second = await record(audit, aUse({ unique: 'use-2', issuance: null, eventTime: '2026-06-01T11:57:00Z' }));

    // Act: the second use in the same batch, then again in a later batch.
    await raiseAlertsForNewEvents(deps, [...first, ...second], META);
    const later = await raiseAlertsForNewEvents(deps, second, META);

    // Assess
    expect(later.raised).toEqual([]);
    expect(sink.published.map((a) => a.rule)).toEqual(['unknown-session']);
    expect(audit.eventsOfType('alert.raised')).toHaveLength(1);
  });

  it('raises a denial burst once at the fifth denial, not again for the sixth in the same bucket', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const six = await record(audit, ...denials(6, '2026-06-01T11:52:00.000Z', 30));

    // Act: each denial in its own batch, as a slow stream would deliver them.
    const outcomes = [];
    for (const denial of six) outcomes.push(await raiseAlertsForNewEvents(deps, [denial], META));

    // Assess
    expect(outcomes.map((o) => o.raised.length)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(sink.published).toEqual([
      expect.objectContaining({
        rule: 'denial-burst',
        principal: 'alice@example.com',
        evidence: six.slice(0, 5).map((d) => d.id),
        dedupeKey: 'denial-burst#2026-06-01T11:50:00.000Z#alice@example.com',
      }),
    ]);
    expect(audit.eventsOfType('alert.raised')).toHaveLength(1);
  });

  it('raises nothing for four denials', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const four = await record(audit, ...denials(4, '2026-06-01T11:52:00.000Z', 30));

    // Act
    await raiseAlertsForNewEvents(deps, four, META);

    // Assess
    expect(sink.published).toEqual([]);
  });

  it('raises one lockdown-breach-attempt per principal, profile and bucket', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const attempts = await record(
      audit,
      aDenial({ unique: 'd1', code: 'LOCKDOWN_ACTIVE', at: '2026-06-01T11:51:00.000Z' }),
      aDenial({ unique: 'd2', code: 'LOCKDOWN_ACTIVE', at: '2026-06-01T11:52:00.000Z' }),
      aDenial({ unique: 'd3', code: 'LOCKDOWN_ACTIVE', at: '2026-06-01T11:53:00.000Z', principal: 'bob@example.com' }),
    );

    // Act: the second in a later batch, so the dedupe comes from the trail, not from memory.
    await raiseAlertsForNewEvents(deps, [attempts[0]!], META);
    await raiseAlertsForNewEvents(deps, attempts.slice(1), META);

    // Assess
    expect(sink.published.map((a) => [a.rule, a.principal])).toEqual([
      ['lockdown-breach-attempt', 'alice@example.com'],
      ['lockdown-breach-attempt', 'bob@example.com'],
    ]);
  });

  it('raises use-during-lockdown for an outsider and not for an allowed principal', async () => {
    // Prepare
    const lockdown = aLockdown({ activatedAt: '2026-06-01T11:00:00.000Z', allow: { groups: ['top-brass'], principals: [] } });
    const { audit, sink, deps } = await setup({ lockdown });
    const allowedIssued = anIssuedEvent({ id: '2026-06-01T11:50:00.000Z#issued-2', accessKeyId: 'ASIAALLOWEDKEY000001', principal: 'cso@example.com', groups: ['top-brass'] });
    await record(audit, allowedIssued);
    const outsider = aUse({ unique: 'use-1' });
    const allowed = aUse({
      unique: 'use-2',
      accessKeyId: 'ASIAALLOWEDKEY000001',
      issuance: { ...outsider.issuance!, eventId: allowedIssued.id, principal: 'cso@example.com', groups: ['top-brass'] },
    });
    await record(audit, outsider, allowed);

    // Act
    await raiseAlertsForNewEvents(deps, [outsider, allowed], META);

    // Assess
    expect(sink.published.map((a) => [a.rule, a.principal])).toEqual([['use-during-lockdown', 'alice@example.com']]);
  });

  it('does not evaluate alerts or administrative events', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const keyReads = jest.spyOn(audit, 'controlEventsForKey');
    const useReads = jest.spyOn(audit, 'usesOfKey');
    const alert: AuditEvent = {
      id: '2026-06-01T12:00:00.000Z#alert-x',
      type: 'alert.raised',
      at: '2026-06-01T12:00:00.000Z',
      principal: 'alice@example.com',
      requestId: 'r',
      accessKeyId: ACCESS_KEY_ID,
      rule: 'source-ip-change',
      severity: 'high',
      dedupeKey: `source-ip-change#${ACCESS_KEY_ID}`,
      summary: 's',
      evidence: [],
    };

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, [alert, aSessionRevoked('2026-06-01T12:00:00.000Z'), anIssuedEvent()], META);

    // Assess
    expect(outcome).toEqual({ raised: [] });
    expect(keyReads).not.toHaveBeenCalled();
    expect(useReads).not.toHaveBeenCalled();
    expect(sink.published).toEqual([]);
  });

  it("reads each key's record, its first use, its grant and the lockdown once per batch", async () => {
    // Prepare
    const { audit, store, lockdown, deps } = await setup({ lockdown: aLockdown() });
    const uses = await record(
      audit,
      aUse({ unique: 'use-1' }),
      aUse({ unique: 'use-2', eventTime: '2026-06-01T11:56:00Z' }),
      aUse({ unique: 'use-3', eventTime: '2026-06-01T11:57:00Z' }),
    );
    const keyReads = jest.spyOn(audit, 'controlEventsForKey');
    const useReads = jest.spyOn(audit, 'usesOfKey');
    const firstUseReads = jest.spyOn(audit, 'firstCountedUse');
    const grantReads = jest.spyOn(store, 'getGrant');
    const lockdownReads = jest.spyOn(lockdown, 'getLockdown');

    // Act
    await raiseAlertsForNewEvents(deps, uses, META);

    // Assess
    expect(keyReads).toHaveBeenCalledTimes(1);
    expect(useReads).not.toHaveBeenCalled();
    expect(firstUseReads.mock.calls).toEqual([[ACCESS_KEY_ID]]);
    expect(grantReads).toHaveBeenCalledTimes(1);
    expect(lockdownReads).toHaveBeenCalledTimes(1);
  });

  it('finds a cut-off however many times the key was used before it, without reading the uses', async () => {
    // Prepare: 12,000 calls, then the cut-off, then one more call.
    const { audit, sink, deps } = await setup();
    await record(
      audit,
      ...Array.from({ length: 12_000 }, (_, i) => aUse({ unique: `use-${i}`, eventTime: new Date(Date.parse('2026-06-01T11:51:00Z') + i * 10).toISOString() })),
    );
    const [revoked] = await record(audit, aSessionRevoked('2026-06-01T12:00:00.000Z'));
    const [late] = await record(audit, aUse({ unique: 'late', eventTime: '2026-06-01T12:03:00Z' }));
    const useReads = jest.spyOn(audit, 'usesOfKey');
    const firstUseReads = jest.spyOn(audit, 'firstCountedUse');

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, [late!], META);

    // Assess
    expect(outcome.raised).toEqual([expect.objectContaining({ rule: 'use-after-revocation', evidence: [revoked!.id, late!.id] })]);
    expect(sink.published).toHaveLength(1);
    // The first use only, by key: the uses are not what tells whether the key was cut off.
    expect(useReads).not.toHaveBeenCalled();
    expect(firstUseReads.mock.calls).toEqual([[ACCESS_KEY_ID]]);
  });

  describe('failures', () => {
    it('records nothing when publishing fails, reports the event, and raises on the retry', async () => {
      // Prepare
      const { audit, sink, deps } = await setup();
      const [use] = await record(audit, aUse({ issuance: null }));
      sink.failWith(new Error('SNS is unavailable'));

      // Act
      const failed = await raiseAlertsForNewEvents(deps, [use!], META);
      sink.recover();
      const retried = await raiseAlertsForNewEvents(deps, [use!], META);

      // Assess
      expect(failed).toEqual({ raised: [], failedAt: 0, error: new Error('SNS is unavailable') });
      expect(retried.raised.map((a) => a.rule)).toEqual(['unknown-session']);
      expect(sink.published).toHaveLength(1);
      expect(audit.eventsOfType('alert.raised')).toHaveLength(1);
    });

    it('stops at the first failing event and leaves the later ones for the retry', async () => {
      // Prepare
      const { audit, sink, deps } = await setup();
      const benign = aUse({ unique: 'use-0', eventTime: '2026-06-01T11:54:00Z' });
      const unknown = aUse({ unique: 'use-1', issuance: null, accessKeyId: 'ASIAUNKNOWNKEY000001' });
      const breach = aDenial({ code: 'LOCKDOWN_ACTIVE' });
      await record<AuditEvent>(audit, benign, unknown, breach);
      sink.failWith(new Error('SNS is unavailable'));
      const denialReads = jest.spyOn(audit, 'query');

      // Act
      const outcome = await raiseAlertsForNewEvents(deps, [benign, unknown, breach], META);

      // Assess
      expect(outcome.failedAt).toBe(1);
      expect(denialReads).not.toHaveBeenCalled();
      expect(audit.eventsOfType('alert.raised')).toEqual([]);
    });

    it('fails the event when the alert cannot be recorded after publishing (the retry publishes again)', async () => {
      // Prepare
      const { audit, sink, deps } = await setup();
      const [use] = await record(audit, aUse({ issuance: null }));
      audit.failAppends = true;

      // Act
      const failed = await raiseAlertsForNewEvents(deps, [use!], META);
      audit.failAppends = false;
      const retried = await raiseAlertsForNewEvents(deps, [use!], META);

      // Assess
      expect(failed.failedAt).toBe(0);
      expect(failed.error).toBeInstanceOf(AuditUnavailableError);
      expect(retried.raised).toHaveLength(1);
      expect(sink.published).toHaveLength(2);
      expect(audit.eventsOfType('alert.raised')).toHaveLength(1);
    });

    it('does not publish an alert whose record exists though the index does not show it yet', async () => {
      // Prepare: the schedule recorded the alert a moment ago; the key's index lags behind.
      const { audit, sink, deps } = await setup();
      const [use] = await record(audit, aUse({ issuance: null }));
      const bySchedule = anAlert({ at: '2026-06-01T12:09:00.000Z', rule: 'unknown-session', accessKeyId: ACCESS_KEY_ID });
      await audit.append(bySchedule, { onceKey: `alert:${bySchedule.dedupeKey}` });
      jest.spyOn(audit, 'controlEventsForKey').mockResolvedValue([anIssuedEvent()]);
      const markerReads = jest.spyOn(audit, 'isRecordedOnce');

      // Act
      const outcome = await raiseAlertsForNewEvents(deps, [use!], META);

      // Assess
      expect(outcome).toEqual({ raised: [] });
      expect(sink.published).toEqual([]);
      expect(markerReads).toHaveBeenCalledWith(`alert:unknown-session#${ACCESS_KEY_ID}`);
    });

    it('keeps a single record when a concurrent evaluator records the alert while this one publishes', async () => {
      // Prepare
      const { audit, sink, deps } = await setup();
      const [use] = await record(audit, aUse({ issuance: null }));
      sink.beforePublish = async (alert) => {
        sink.beforePublish = undefined;
        await audit.append({ ...alert, id: `${alert.id}-other` }, { onceKey: `alert:${alert.dedupeKey}` });
      };

      // Act
      const outcome = await raiseAlertsForNewEvents(deps, [use!], META);

      // Assess
      expect(outcome).toEqual({ raised: [] });
      expect(sink.published).toHaveLength(1);
      expect(audit.eventsOfType('alert.raised').map((a) => a.id)).toEqual(['2026-06-01T12:10:00.000Z#alert-00000001-other']);
    });
  });
});

describe('source-ip-change, without reading every use of the key', () => {
  const LAPTOP = '198.51.100.7';
  const ELSEWHERE = '203.0.113.34';
  const at = (second: number) => new Date(Date.parse('2026-06-01T11:51:00Z') + second * 1000).toISOString();

  it('compares a use with the first one: a key used 500 times from one address, then from another', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const [first, ...more] = await record(audit, ...Array.from({ length: 500 }, (_, i) => aUse({ unique: `use-${i}`, eventTime: at(i) })));
    const [other] = await record(audit, aUse({ unique: 'other', eventTime: at(600), sourceIPAddress: ELSEWHERE }));
    const useReads = jest.spyOn(audit, 'usesOfKey');
    const firstUseReads = jest.spyOn(audit, 'firstCountedUse');

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, [...more.slice(-3), other!], META);

    // Assess
    expect(outcome.raised).toEqual([
      expect.objectContaining({ rule: 'source-ip-change', evidence: [first!.id, other!.id], summary: expect.stringContaining(`${LAPTOP}, ${ELSEWHERE}`) }),
    ]);
    expect(useReads).not.toHaveBeenCalled();
    expect(firstUseReads.mock.calls).toEqual([[ACCESS_KEY_ID]]);
    expect(sink.published).toHaveLength(1);
  });

  it('compares with the first use recorded, when the use judged is older (its record came late)', async () => {
    // Prepare: the calls from elsewhere were judged before the first call was recorded.
    const { audit, sink, deps } = await setup();
    const elsewhere = await record(audit, ...[1, 2].map((i) => aUse({ unique: `elsewhere-${i}`, eventTime: at(i * 60), sourceIPAddress: ELSEWHERE })));
    await raiseAlertsForNewEvents(deps, elsewhere, META);
    const [lateFirst] = await record(audit, aUse({ unique: 'late-first', eventTime: at(0) }));

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, [lateFirst!], META);

    // Assess
    expect(outcome.raised).toEqual([expect.objectContaining({ rule: 'source-ip-change', evidence: [lateFirst!.id, elsewhere[0]!.id] })]);
    expect(sink.published.map((alert) => alert.rule)).toEqual(['source-ip-change']);
  });

  it('skips AWS services acting for the session when finding the first use', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    await record(audit, ...Array.from({ length: 120 }, (_, i) => aUse({ unique: `athena-${i}`, eventTime: at(i), sourceIPAddress: 'athena.amazonaws.com' })));
    const [laptop] = await record(audit, aUse({ unique: 'laptop', eventTime: at(200) }));
    const [other] = await record(audit, aUse({ unique: 'other', eventTime: at(300), sourceIPAddress: ELSEWHERE }));

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, [other!], META);

    // Assess
    expect(outcome.raised).toEqual([expect.objectContaining({ rule: 'source-ip-change', evidence: [laptop!.id, other!.id] })]);
    expect(sink.published).toHaveLength(1);
  });

  it('raises nothing for a key used from one address and from AWS services only', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const uses = await record(
      audit,
      aUse({ unique: 'use-1', eventTime: at(0) }),
      aUse({ unique: 'athena', eventTime: at(1), sourceIPAddress: 'athena.amazonaws.com' }),
      aUse({ unique: 'use-2', eventTime: at(2) }),
    );

    // Act
    const outcome = await raiseAlertsForNewEvents(deps, uses, META);

    // Assess
    expect(outcome).toEqual({ raised: [] });
    expect(sink.published).toEqual([]);
  });

  // The first use must be found however many calls surround it, not among the oldest and newest few.
  it('cannot be padded: 250 calls from AWS services before the first address and 250 between the two', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const aws = (from: number) =>
      Array.from({ length: 250 }, (_, i) => aUse({ unique: `aws-${from + i}`, eventTime: at(from + i), sourceIPAddress: i % 2 ? 'AWS Internal' : 'ec2.amazonaws.com' }));
    await record(audit, ...aws(0));
    const [laptop] = await record(audit, aUse({ unique: 'laptop', eventTime: at(300) }));
    expect(await raiseAlertsForNewEvents(deps, [laptop!], META)).toEqual({ raised: [] });
    await record(audit, ...aws(400));
    const [other] = await record(audit, aUse({ unique: 'other', eventTime: at(700), sourceIPAddress: ELSEWHERE }));

    // Act: the stream judges each use as it is recorded
    const outcome = await raiseAlertsForNewEvents(deps, [other!], META);

    // Assess
    expect(outcome.raised).toEqual([expect.objectContaining({ rule: 'source-ip-change', evidence: [laptop!.id, other!.id] })]);
    expect(sink.published).toHaveLength(1);
  });

  it("reads no uses once the key's alert is raised", async () => {
    // Prepare
    const { audit, deps } = await setup();
    const raised = anAlert({ rule: 'source-ip-change', accessKeyId: ACCESS_KEY_ID, at: '2026-06-01T11:59:00.000Z' });
    await audit.append(raised, { onceKey: `alert:${raised.dedupeKey}` });
    const [use] = await record(audit, aUse({ unique: 'again', eventTime: at(500), sourceIPAddress: ELSEWHERE }));
    const useReads = jest.spyOn(audit, 'usesOfKey');
    const firstUseReads = jest.spyOn(audit, 'firstCountedUse');

    // Act
    await raiseAlertsForNewEvents(deps, [use!], META);

    // Assess
    expect(useReads).not.toHaveBeenCalled();
    expect(firstUseReads).not.toHaveBeenCalled();
  });
});

describe('raiseAlertsForWindow (schedule)', () => {
  it('does not raise again what the stream raised', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    const events = await record<AuditEvent>(
      audit,
      aUse({ unique: 'use-1', issuance: null, accessKeyId: 'ASIAUNKNOWNKEY000001' }),
      aUse({ unique: 'use-2', eventTime: '2026-06-01T11:56:00Z', sourceIPAddress: '203.0.113.34' }),
      aUse({ unique: 'use-3', eventTime: '2026-06-01T11:55:30Z' }),
      ...denials(5, '2026-06-01T11:52:00.000Z', 30),
    );
    await raiseAlertsForNewEvents(deps, events, META);
    const byStream = sink.published.map((a) => a.dedupeKey);

    // Act
    const outcome = await raiseAlertsForWindow(deps, WINDOW, { requestId: 'schedule-1' });

    // Assess
    expect(byStream.sort()).toEqual(
      [`unknown-session#ASIAUNKNOWNKEY000001`, `source-ip-change#${ACCESS_KEY_ID}`, 'denial-burst#2026-06-01T11:50:00.000Z#alice@example.com'].sort(),
    );
    expect(outcome).toMatchObject({ evaluated: 8, raised: [], truncated: false });
    expect(sink.published).toHaveLength(3);
    expect(audit.eventsOfType('alert.raised')).toHaveLength(3);
  });

  it('raises what the stream missed: a revocation recorded after the use was evaluated', async () => {
    // Prepare: the stream saw the use before the cut-off (made at 12:00) was recorded.
    const { audit, sink, deps } = await setup();
    const [use] = await record(audit, aUse({ eventTime: '2026-06-01T12:01:00Z' }));
    await raiseAlertsForNewEvents(deps, [use!], META);
    const [revoked] = await record(audit, aSessionRevoked('2026-06-01T12:00:00.000Z'));

    // Act
    const outcome = await raiseAlertsForWindow(deps, WINDOW, { requestId: 'schedule-1' });

    // Assess
    expect(outcome.raised).toEqual([
      expect.objectContaining({ rule: 'use-after-revocation', requestId: 'schedule-1', evidence: [revoked!.id, use!.id] }),
    ]);
    expect(sink.published).toHaveLength(1);
  });

  it('raises a burst the stream would have raised, with the same dedupe key, once', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    await record(audit, ...denials(7, '2026-06-01T11:52:00.000Z', 30));

    // Act
    const first = await raiseAlertsForWindow(deps, WINDOW, META);
    const again = await raiseAlertsForWindow(deps, WINDOW, META);

    // Assess
    expect(first.raised.map((a) => a.dedupeKey)).toEqual(['denial-burst#2026-06-01T11:50:00.000Z#alice@example.com']);
    expect(again.raised).toEqual([]);
    expect(sink.published).toHaveLength(1);
  });

  it('reads every page of the window', async () => {
    // Prepare: the oldest use, the one that breaks a rule, is on the last page (newest first).
    const { audit, sink, deps } = await setup();
    await record(audit, aUse({ unique: 'intruder', issuance: null, accessKeyId: 'ASIAUNKNOWNKEY000001', eventTime: '2026-06-01T11:41:00Z' }));
    const ordinary = Array.from({ length: 450 }, (_, i) =>
      aUse({ unique: `use-${i}`, eventTime: new Date(Date.parse('2026-06-01T11:42:00Z') + i * 1000).toISOString() }),
    );
    await record(audit, ...ordinary);

    // Act
    const outcome = await raiseAlertsForWindow(deps, WINDOW, META);

    // Assess
    expect(outcome.evaluated).toBe(451);
    expect(sink.published.map((a) => a.rule)).toEqual(['unknown-session']);
  });

  it('leaves out events outside the window, and uses recorded outside it wherever the call was made', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    await record(audit, aUse({ unique: 'early', issuance: null, eventTime: '2026-06-01T11:39:59Z' }));
    await record(audit, aUse({ unique: 'judged-before', issuance: null, eventTime: '2026-06-01T11:45:00Z', recordedAt: '2026-06-01T11:39:00.000Z' }));
    await record(audit, aDenial({ at: '2026-06-01T11:39:00.000Z' }));

    // Act
    const outcome = await raiseAlertsForWindow(deps, WINDOW, META);

    // Assess
    expect(outcome.evaluated).toBe(0);
    expect(sink.published).toEqual([]);
  });

  // CloudTrail delivers some calls late (the trail's log files by up to ~15
  // minutes, an outage or a redrive by hours). A use recorded long after it was made was judged
  // once, by the stream, on indexes that may not hold a cut-off recorded moments before; the
  // schedule, reading by when the call was made, never saw it again.
  it('judges again a use recorded late, however long ago the call was made', async () => {
    // Prepare: a call made at 10:00 after a cut-off at 09:59, delivered at 12:05; the stream saw it
    // before the cut-off's record showed in its index.
    const { audit, sink, deps } = await setup();
    const [use] = await record(audit, aUse({ eventTime: '2026-06-01T10:00:00Z', recordedAt: '2026-06-01T12:05:00.000Z' }));
    await raiseAlertsForNewEvents(deps, [use!], META);
    const [revoked] = await record(audit, aSessionRevoked('2026-06-01T09:59:00.000Z'));
    expect(sink.published).toEqual([]);

    // Act
    const outcome = await raiseAlertsForWindow(deps, WINDOW, { requestId: 'schedule-1' });

    // Assess
    expect(outcome.raised).toEqual([expect.objectContaining({ rule: 'use-after-revocation', evidence: [revoked!.id, use!.id] })]);
    expect(outcome.evaluated).toBe(1);
  });

  it('says so when the window holds more uses than one run re-checks: a recheck-truncated alert, once an hour', async () => {
    // Prepare: the audit log answers with a full run's worth and more
    const { audit, sink, deps } = await setup();
    const [use] = await record(audit, aUse({ eventTime: '2026-06-01T12:01:00Z', recordedAt: '2026-06-01T12:01:30.000Z' }));
    jest.spyOn(audit, 'usesRecordedBetween').mockResolvedValue({ uses: [use!], truncated: true });

    // Act
    const first = await raiseAlertsForWindow(deps, WINDOW, META);
    const next = await raiseAlertsForWindow(deps, { from: new Date('2026-06-01T11:45:00.000Z'), to: new Date('2026-06-01T12:15:00.000Z') }, META);

    // Assess
    expect(first.truncated).toBe(true);
    expect(first.raised).toEqual([
      expect.objectContaining({
        rule: 'recheck-truncated',
        severity: 'high',
        dedupeKey: 'recheck-truncated#2026-06-01T12',
        summary: expect.stringContaining('(through 2026-06-01T12:01:30.000Z)'),
      }),
    ]);
    expect(next.raised).toEqual([]);
    expect(sink.published.map((alert) => alert.rule)).toEqual(['recheck-truncated']);
  });

  it('stops before the invocation runs out of time, and says how far it got', async () => {
    // Prepare: three uses; the clock passes the deadline after the first is evaluated
    const { audit, sink, deps } = await setup();
    const uses = await record(audit, ...[1, 2, 3].map((minute) => aUse({ unique: `use-${minute}`, eventTime: `2026-06-01T12:0${minute}:00Z` })));
    const deadline = new Date('2026-06-01T12:10:20.000Z');
    let reads = 0;
    const clock = { now: () => new Date(Date.parse(NOW) + (reads++ >= 1 ? 30_000 : 0)) };

    // Act
    const outcome = await raiseAlertsForWindow({ ...deps, clock }, WINDOW, META, deadline);

    // Assess
    expect(outcome).toMatchObject({ evaluated: 1, truncated: true });
    expect(sink.published).toEqual([
      expect.objectContaining({ rule: 'recheck-truncated', summary: expect.stringContaining(`1 of 3 events, out of time`) }),
    ]);
    expect(sink.published[0]?.summary).toContain(`(through ${new Date(uses[0]!.eventTime).toISOString()})`);
  });

  it("re-checks uses over its own span, however long the denial window is", async () => {
    // Prepare: a day-long denial window; a use recorded 30 minutes ago was re-checked by earlier runs
    const { audit, deps } = await setup();
    const read = jest.spyOn(audit, 'usesRecordedBetween');
    const settings = { ...SETTINGS, denialWindowMinutes: 1440 };

    // Act
    const window = scheduledWindow(new Date(NOW), settings);
    await raiseAlertsForWindow({ ...deps, settings }, window, META);

    // Assess
    expect(window.from).toEqual(new Date(Date.parse(NOW) - 1450 * 60_000));
    expect(read).toHaveBeenCalledWith('2026-06-01T11:50:00.000Z', NOW, expect.any(Number));
  });

  it('throws when publishing fails, having recorded nothing for that alert', async () => {
    // Prepare
    const { audit, sink, deps } = await setup();
    await record(audit, aUse({ issuance: null }));
    sink.failWith(new Error('SNS is unavailable'));

    // Act
    const run = raiseAlertsForWindow(deps, WINDOW, META);

    // Assess
    await expect(run).rejects.toThrow('SNS is unavailable');
    expect(audit.eventsOfType('alert.raised')).toEqual([]);
  });
});

describe('scheduledWindow', () => {
  it('looks back one denial window plus the slack for late CloudTrail deliveries', () => {
    expect(scheduledWindow(new Date(NOW), SETTINGS)).toEqual({
      from: new Date('2026-06-01T11:50:00.000Z'),
      to: new Date(NOW),
      usesFrom: new Date('2026-06-01T11:50:00.000Z'),
    });
  });
});
