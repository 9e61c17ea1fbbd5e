// The alert rules as pure functions: each fires on a realistic scenario and stays quiet on its
// benign twin; dedupe keys depend only on what the alert is about.
import {
  bucketOf,
  denialBurst,
  evaluateDenial,
  evaluateUse,
  lockdownBreachAttempt,
  lockedChangeAttempt,
  sourceIdentityMismatch,
  sourceIpChange,
  trailLogRejected,
  unknownSession,
  useAfterRevocation,
  useDuringLockdown,
  wildcardPattern,
  type AlertSettings,
} from '../../shared/domain/alert-rules.js';
import { ENGAGEMENT_HANDED_OVER } from '../../shared/domain/model.js';
import { ACCESS_KEY_ID, ISSUANCE_ID, aDenial, aSessionRevoked, aUse, anIssuance, anIssuedEvent, denials } from '../fixtures/alert-events.js';
import { aGrant } from '../fixtures/builders.js';
import { aLockdown } from '../fixtures/in-memory-lockdown.js';
import { adminEvent } from '../../shared/domain/audit.js';

const SETTINGS: AlertSettings = {
  denialThreshold: 5,
  denialWindowMinutes: 10,
  ignoredSources: ['AWS Internal', '*.amazonaws.com'],
};

function nth<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

describe('unknown-session', () => {
  it('fires for a use of a target role by a session tvm did not issue, about the session', () => {
    // Prepare
    const use = aUse({ issuance: null, sourceIPAddress: '203.0.113.34' });

    // Act
    const finding = unknownSession(use);

    // Assess
    expect(finding).toEqual({
      rule: 'unknown-session',
      severity: 'high',
      principal: use.sessionArn,
      accessKeyId: ACCESS_KEY_ID,
      evidence: [use.id],
      summary: expect.stringContaining(use.sessionArn),
      dedupeKey: `unknown-session#${ACCESS_KEY_ID}`,
    });
  });

  it('does not fire for a use joined to its issuance', () => {
    expect(unknownSession(aUse())).toBeUndefined();
  });
});

describe('use-after-revocation', () => {
  it('fires when the key is used after its session was cut off', () => {
    // Prepare
    const revoked = aSessionRevoked('2026-06-01T12:00:00.000Z');
    const use = aUse({ eventTime: '2026-06-01T12:03:00Z' });

    // Act
    const finding = useAfterRevocation(use, [anIssuedEvent(), revoked], aGrant());

    // Assess
    expect(finding).toMatchObject({
      rule: 'use-after-revocation',
      severity: 'critical',
      principal: 'alice@example.com',
      accessKeyId: ACCESS_KEY_ID,
      profile: 'dev-readonly',
      evidence: [revoked.id, use.id],
      dedupeKey: `use-after-revocation#${ACCESS_KEY_ID}`,
    });
    expect(finding?.summary).toContain('cut off at 2026-06-01T12:00:00.000Z');
  });

  it('does not fire for a use before the cut-off', () => {
    // Prepare
    const use = aUse({ eventTime: '2026-06-01T11:55:00Z' });

    // Act
    const finding = useAfterRevocation(use, [aSessionRevoked('2026-06-01T12:00:00.000Z')], aGrant());

    // Assess
    expect(finding).toBeUndefined();
  });

  it("ignores another key's cut-off", () => {
    // Prepare
    const otherKey = { ...aSessionRevoked('2026-06-01T12:00:00.000Z'), accessKeyId: 'ASIAOTHERKEY00000001' };

    // Act
    const finding = useAfterRevocation(aUse({ eventTime: '2026-06-01T12:03:00Z' }), [otherKey], aGrant());

    // Assess
    expect(finding).toBeUndefined();
  });

  it('fires when the grant was revoked by an engagement handover before the use', () => {
    // Prepare
    const grant = aGrant({
      status: 'revoked',
      revokedAt: '2026-06-01T12:00:00.000Z',
      revokedBy: 'owner@example.com',
      revokedReason: ENGAGEMENT_HANDED_OVER,
    });
    const use = aUse({ eventTime: '2026-06-01T12:05:00Z' });

    // Act
    const finding = useAfterRevocation(use, [anIssuedEvent()], grant);

    // Assess
    expect(finding).toMatchObject({ rule: 'use-after-revocation', evidence: [ISSUANCE_ID, use.id] });
    expect(finding?.summary).toContain('grant grant-0001 was revoked at 2026-06-01T12:00:00.000Z by owner@example.com (engagement-handed-over)');
  });

  it('does not fire for a use before its grant was revoked, nor while the grant is active', () => {
    // Prepare
    const use = aUse({ eventTime: '2026-06-01T11:55:00Z' });
    const revokedLater = aGrant({ status: 'revoked', revokedAt: '2026-06-01T12:00:00.000Z', revokedBy: 'admin@example.com' });

    // Act
    const afterRevocationLater = useAfterRevocation(use, [], revokedLater);
    const active = useAfterRevocation(use, [], aGrant());

    // Assess
    expect(afterRevocationLater).toBeUndefined();
    expect(active).toBeUndefined();
  });

  it('does not judge a key by a revoked grant it was not issued under', () => {
    // Prepare
    const otherGrant = aGrant({ id: 'grant-0002', status: 'revoked', revokedAt: '2026-06-01T11:00:00.000Z' });

    // Act
    const finding = useAfterRevocation(aUse(), [], otherGrant);

    // Assess
    expect(finding).toBeUndefined();
  });
});

describe('use-after-revocation within the second CloudTrail stamps', () => {
  // CloudTrail's eventTime has whole seconds: a call stamped 12:00:00 was made in [12:00:00, 12:00:01).

  it('fires for a call stamped in the second the session was cut off, saying it is ambiguous', () => {
    // Prepare: cut off at 12:00:00.300; the call, made at 12:00:00.9, is stamped 12:00:00.
    const revoked = aSessionRevoked('2026-06-01T12:00:00.300Z');
    const use = aUse({ eventTime: '2026-06-01T12:00:00Z' });

    // Act
    const finding = useAfterRevocation(use, [revoked], aGrant());

    // Assess
    expect(finding).toMatchObject({ rule: 'use-after-revocation', evidence: [revoked.id, use.id] });
    expect(finding?.summary).toContain("cut off at 2026-06-01T12:00:00.300Z (cut off within the call's second: CloudTrail records whole seconds");
  });

  it('does not fire for a call stamped the second before the cut-off, nor say ambiguous when it is not', () => {
    // Prepare
    const revoked = aSessionRevoked('2026-06-01T12:00:00.000Z');

    // Act
    const before = useAfterRevocation(aUse({ eventTime: '2026-06-01T11:59:59Z' }), [revoked], aGrant());
    const after = useAfterRevocation(aUse({ eventTime: '2026-06-01T12:00:01Z' }), [revoked], aGrant());

    // Assess
    expect(before).toBeUndefined();
    expect(after?.summary).not.toContain('within the call');
  });

  it('takes a stamp with a fraction as exact: a call at 12:00:00.250 came before a cut-off at 12:00:00.300', () => {
    // Act
    const finding = useAfterRevocation(aUse({ eventTime: '2026-06-01T12:00:00.250Z' }), [aSessionRevoked('2026-06-01T12:00:00.300Z')], aGrant());

    // Assess
    expect(finding).toBeUndefined();
  });

  it('fires for a call stamped in the second its grant was revoked, and not for one stamped the second before', () => {
    // Prepare
    const grant = aGrant({ status: 'revoked', revokedAt: '2026-06-01T12:00:00.300Z', revokedBy: 'admin@example.com' });

    // Act
    const sameSecond = useAfterRevocation(aUse({ eventTime: '2026-06-01T12:00:00Z' }), [], grant);
    const secondBefore = useAfterRevocation(aUse({ eventTime: '2026-06-01T11:59:59Z' }), [], grant);

    // Assess
    expect(sameSecond?.summary).toContain("revoked at 2026-06-01T12:00:00.300Z by admin@example.com (revoked within the call's second");
    expect(secondBefore).toBeUndefined();
  });
});

describe('use-during-lockdown', () => {
  const lockdown = aLockdown({ profiles: ['*'], allow: { groups: ['top-brass'], principals: ['cso@example.com'] } });

  it('fires when a principal outside the allow list uses a key on a locked profile after activation', () => {
    // Prepare
    const use = aUse({ eventTime: '2026-06-01T11:55:00Z' });

    // Act
    const finding = useDuringLockdown(use, lockdown);

    // Assess
    expect(finding).toMatchObject({
      rule: 'use-during-lockdown',
      severity: 'critical',
      principal: 'alice@example.com',
      accessKeyId: ACCESS_KEY_ID,
      profile: 'dev-readonly',
      evidence: [use.id],
      dedupeKey: `use-during-lockdown#2026-06-01T11:00:00.000Z#${ACCESS_KEY_ID}`,
    });
  });

  it('does not fire for principals allowed by group or by name', () => {
    // Prepare
    const byGroup = aUse({ issuance: anIssuance({ groups: ['developers', 'top-brass'] }) });
    const byName = aUse({ issuance: anIssuance({ principal: 'cso@example.com', groups: [] }) });

    // Act / Assess
    expect(useDuringLockdown(byGroup, lockdown)).toBeUndefined();
    expect(useDuringLockdown(byName, lockdown)).toBeUndefined();
  });

  it('does not fire for a use before activation, on a profile it does not lock, or after it was lifted', () => {
    // Prepare
    const before = aUse({ eventTime: '2026-06-01T10:59:59Z' });
    const otherProfile = aLockdown({ profiles: ['prod-admin'] });
    const liftedBefore = aLockdown({ active: false, liftedAt: '2026-06-01T11:30:00.000Z', liftedBy: 'sec-2@example.com' });

    // Act / Assess
    expect(useDuringLockdown(before, lockdown)).toBeUndefined();
    expect(useDuringLockdown(aUse(), otherProfile)).toBeUndefined();
    expect(useDuringLockdown(aUse({ eventTime: '2026-06-01T11:55:00Z' }), liftedBefore)).toBeUndefined();
    expect(useDuringLockdown(aUse(), undefined)).toBeUndefined();
  });

  it("fires for a use on a locked role through another profile: the lockdown's roles, not its names, decide", () => {
    // Prepare: prod-admin is locked on the use's role; the key came through dev-readonly
    const use = aUse({ eventTime: '2026-06-01T11:55:00Z' });
    const byRole = aLockdown({ profiles: ['prod-admin'], roles: ['arn:aws:iam::123456789012:role/team/TVM-DEV-READONLY'] });
    const otherRole = aLockdown({ profiles: ['prod-admin'], roles: ['arn:aws:iam::123456789012:role/prod-admin'] });

    // Act / Assess
    expect(useDuringLockdown(use, byRole)).toMatchObject({ rule: 'use-during-lockdown', principal: 'alice@example.com' });
    expect(useDuringLockdown(use, otherRole)).toBeUndefined();
  });

  it('fires for a call stamped in the second of the activation, saying it is ambiguous, and not for the second before', () => {
    // Prepare
    const activatedMidSecond = aLockdown({ profiles: ['*'], activatedAt: '2026-06-01T11:00:00.400Z' });

    // Act
    const sameSecond = useDuringLockdown(aUse({ eventTime: '2026-06-01T11:00:00Z' }), activatedMidSecond);
    const secondBefore = useDuringLockdown(aUse({ eventTime: '2026-06-01T10:59:59Z' }), activatedMidSecond);

    // Assess
    expect(sameSecond?.summary).toContain("(activated within the call's second: CloudTrail records whole seconds");
    expect(secondBefore).toBeUndefined();
  });

  it('fires for a call stamped in the second the lockdown was lifted, and not for one stamped after it', () => {
    // Prepare
    const lifted = aLockdown({ active: false, liftedAt: '2026-06-01T12:00:00.500Z', liftedBy: 'sec-2@example.com' });

    // Act
    const sameSecond = useDuringLockdown(aUse({ eventTime: '2026-06-01T12:00:00Z' }), lifted);
    const secondAfter = useDuringLockdown(aUse({ eventTime: '2026-06-01T12:00:01Z' }), lifted);

    // Assess
    expect(sameSecond?.rule).toBe('use-during-lockdown');
    expect(secondAfter).toBeUndefined();
  });

  it('fires for a use while it was in force, even when judged after the lift', () => {
    // Prepare
    const liftedAfter = aLockdown({ active: false, liftedAt: '2026-06-01T12:00:00.000Z', liftedBy: 'sec-2@example.com' });

    // Act
    const finding = useDuringLockdown(aUse({ eventTime: '2026-06-01T11:55:00Z' }), liftedAfter);

    // Assess
    expect(finding?.rule).toBe('use-during-lockdown');
  });
});

// A mismatch recorded on a use must be said, not only kept.
describe('source-identity-mismatch', () => {
  it('fires when a key tvm issued is used under another SourceIdentity than it was issued with', () => {
    // Prepare: recordUse marks the use; the record names someone else
    const use = aUse({ sourceIdentity: 'mallory', sourceIdentityMismatch: true });

    // Act
    const finding = sourceIdentityMismatch(use);

    // Assess
    expect(finding).toMatchObject({
      rule: 'source-identity-mismatch',
      severity: 'critical',
      principal: 'alice@example.com',
      accessKeyId: ACCESS_KEY_ID,
      evidence: [ISSUANCE_ID, use.id],
      dedupeKey: `source-identity-mismatch#${ACCESS_KEY_ID}`,
    });
    expect(finding?.summary).toContain('mallory');
    expect(evaluateUse(use, { keyEvents: [anIssuedEvent()], grant: aGrant() }, SETTINGS).map((f) => f.rule)).toEqual(['source-identity-mismatch']);
  });

  it('stays quiet for a use whose SourceIdentity is the one issued, and for a session tvm did not issue', () => {
    expect(sourceIdentityMismatch(aUse())).toBeUndefined();
    expect(sourceIdentityMismatch(aUse({ issuance: null, sourceIdentity: 'mallory' }))).toBeUndefined();
  });
});

describe('trail-log-rejected', () => {
  it('fires once per object ingestTrailLogs rejected, naming it', () => {
    // Prepare
    const rejection = adminEvent(new Date('2026-06-01T12:00:00Z'), 'r-1', 'trail.rejected', { id: 'tvm', groups: [], issuer: '' }, { requestId: 'lambda-1' }, {
      profile: '',
      detail: { bucket: 'trail-bucket', key: 'AWSLogs/bomb.json.gz', maxObjectBytes: 268435456 },
    });

    // Act
    const finding = trailLogRejected(rejection);

    // Assess
    expect(finding).toMatchObject({
      rule: 'trail-log-rejected',
      severity: 'high',
      principal: 's3://trail-bucket/AWSLogs/bomb.json.gz',
      evidence: [rejection.id],
      dedupeKey: 'trail-log-rejected#s3://trail-bucket/AWSLogs/bomb.json.gz',
    });
    expect(finding?.summary).toContain('268435456');
  });
});

describe('source-ip-change', () => {
  it('fires when one key is used from two addresses, with both uses as evidence, oldest first', () => {
    // Prepare
    const first = aUse({ unique: 'use-1', eventTime: '2026-06-01T11:52:00Z', sourceIPAddress: '198.51.100.7' });
    const elsewhere = aUse({ unique: 'use-3', eventTime: '2026-06-01T11:56:00Z', sourceIPAddress: '203.0.113.34' });

    // Act
    const finding = sourceIpChange(elsewhere, first, SETTINGS.ignoredSources);

    // Assess
    expect(finding).toMatchObject({
      rule: 'source-ip-change',
      severity: 'high',
      principal: 'alice@example.com',
      accessKeyId: ACCESS_KEY_ID,
      evidence: [first.id, elsewhere.id],
      dedupeKey: `source-ip-change#${ACCESS_KEY_ID}`,
    });
    expect(finding?.summary).toContain('198.51.100.7, 203.0.113.34');
  });

  it('finds the same alert whichever of the two uses it is judging', () => {
    // Prepare
    const first = aUse({ unique: 'use-1', eventTime: '2026-06-01T11:52:00Z', sourceIPAddress: '198.51.100.7' });
    const elsewhere = aUse({ unique: 'use-3', eventTime: '2026-06-01T11:56:00Z', sourceIPAddress: '203.0.113.34' });

    // Act
    const atTheFirst = sourceIpChange(first, elsewhere, SETTINGS.ignoredSources);
    const atTheSecond = sourceIpChange(elsewhere, first, SETTINGS.ignoredSources);

    // Assess
    expect(atTheFirst?.evidence).toEqual(atTheSecond?.evidence);
    expect(atTheFirst?.dedupeKey).toBe(atTheSecond?.dedupeKey);
  });

  it('does not count AWS services acting for the session as a second address', () => {
    // Prepare
    const laptop = aUse({ unique: 'use-1', sourceIPAddress: '198.51.100.7' });
    const athena = aUse({ unique: 'use-2', eventTime: '2026-06-01T11:56:00Z', sourceIPAddress: 'athena.amazonaws.com' });
    const internal = aUse({ unique: 'use-3', eventTime: '2026-06-01T11:57:00Z', sourceIPAddress: 'AWS Internal' });

    // Act / Assess
    expect(sourceIpChange(internal, laptop, SETTINGS.ignoredSources)).toBeUndefined();
    expect(sourceIpChange(laptop, athena, SETTINGS.ignoredSources)).toBeUndefined();
  });

  it('does not fire for repeated uses from one address, nor without another use', () => {
    // Prepare
    const uses = [aUse({ unique: 'use-1' }), aUse({ unique: 'use-2', eventTime: '2026-06-01T11:59:00Z' })];

    // Act / Assess
    expect(sourceIpChange(nth(uses, 1), nth(uses, 0), SETTINGS.ignoredSources)).toBeUndefined();
    expect(sourceIpChange(nth(uses, 1), undefined, SETTINGS.ignoredSources)).toBeUndefined();
  });

  it("does not judge a key by another key's use", () => {
    // Prepare
    const otherKey = aUse({ unique: 'use-1', accessKeyId: 'ASIAOTHERKEY00000001', sourceIPAddress: '203.0.113.34' });

    // Act / Assess
    expect(sourceIpChange(aUse({ unique: 'use-2' }), otherKey, SETTINGS.ignoredSources)).toBeUndefined();
  });
});

describe('lockdown-breach-attempt', () => {
  it('fires for a vend refused with LOCKDOWN_ACTIVE, once per principal, profile and window bucket', () => {
    // Prepare
    const first = aDenial({ unique: 'd1', code: 'LOCKDOWN_ACTIVE', at: '2026-06-01T11:51:00.000Z' });
    const sameBucket = aDenial({ unique: 'd2', code: 'LOCKDOWN_ACTIVE', at: '2026-06-01T11:59:59.000Z' });
    const nextBucket = aDenial({ unique: 'd3', code: 'LOCKDOWN_ACTIVE', at: '2026-06-01T12:00:00.000Z' });

    // Act
    const [a, b, c] = [first, sameBucket, nextBucket].map((denial) => lockdownBreachAttempt(denial, SETTINGS));

    // Assess
    expect(a).toMatchObject({
      rule: 'lockdown-breach-attempt',
      severity: 'high',
      principal: 'alice@example.com',
      profile: 'dev-readonly',
      evidence: [first.id],
      dedupeKey: 'lockdown-breach-attempt#2026-06-01T11:50:00.000Z#dev-readonly#alice@example.com',
    });
    expect(b?.dedupeKey).toBe(a?.dedupeKey);
    expect(c?.dedupeKey).toBe('lockdown-breach-attempt#2026-06-01T12:00:00.000Z#dev-readonly#alice@example.com');
  });

  it('does not fire for other refusals', () => {
    expect(lockdownBreachAttempt(aDenial({ code: 'NO_GRANT' }), SETTINGS)).toBeUndefined();
  });

  it('fires for a change the lockdown refused (an alias profile, a grant on a locked role), deduplicated with vends', () => {
    // Prepare
    const principal = { id: 'alice@example.com', groups: ['tvm-admin'], issuer: 'https://idp.example.com' };
    const refusal = adminEvent(new Date('2026-06-01T11:52:00.000Z'), 'c1', 'change.denied', principal, { requestId: 'r' }, {
      profile: 'dev-readonly',
      detail: { action: 'profile.put', code: 'LOCKDOWN_ACTIVE' },
    });

    // Act
    const finding = lockedChangeAttempt(refusal, SETTINGS);

    // Assess
    expect(finding).toMatchObject({
      rule: 'lockdown-breach-attempt',
      principal: 'alice@example.com',
      evidence: [refusal.id],
      summary: 'alice@example.com tried a profile.put on locked profile dev-readonly at 2026-06-01T11:52:00.000Z',
      dedupeKey: 'lockdown-breach-attempt#2026-06-01T11:50:00.000Z#dev-readonly#alice@example.com',
    });
    expect(lockedChangeAttempt({ ...refusal, type: 'profile.put' }, SETTINGS)).toBeUndefined();
  });
});

describe('denial-burst', () => {
  it('fires at the denial that reaches the threshold within the window, with those denials as evidence', () => {
    // Prepare: five refusals a minute apart, 11:52 to 11:56.
    const burst = denials(5, '2026-06-01T11:52:00.000Z', 60);
    const fifth = nth(burst, 4);

    // Act
    const finding = denialBurst(fifth, burst, SETTINGS);

    // Assess
    expect(finding).toMatchObject({
      rule: 'denial-burst',
      severity: 'medium',
      principal: 'alice@example.com',
      profile: 'dev-readonly',
      evidence: burst.map((d) => d.id),
      dedupeKey: 'denial-burst#2026-06-01T11:50:00.000Z#alice@example.com',
    });
  });

  it('does not fire for four denials, nor for five spread over more than the window', () => {
    // Prepare
    const four = denials(4, '2026-06-01T11:52:00.000Z', 60);
    const spread = denials(5, '2026-06-01T11:30:00.000Z', 180);

    // Act / Assess
    expect(denialBurst(nth(four, 3), four, SETTINGS)).toBeUndefined();
    expect(denialBurst(nth(spread, 4), spread, SETTINGS)).toBeUndefined();
  });

  it("does not count another principal's denials", () => {
    // Prepare
    const mine = denials(3, '2026-06-01T11:52:00.000Z', 60);
    const theirs = denials(2, '2026-06-01T11:55:00.000Z', 10, { principal: 'bob@example.com' });

    // Act / Assess
    expect(denialBurst(nth(mine, 2), [...mine, ...theirs], SETTINGS)).toBeUndefined();
  });

  it('finds the same alert whether it sees the whole window or only what came before the denial', () => {
    // Prepare: the schedule sees all seven; the stream, at the fifth, sees the first five.
    const seven = denials(7, '2026-06-01T11:52:00.000Z', 30);
    const fifth = nth(seven, 4);

    // Act
    const schedule = denialBurst(fifth, seven, SETTINGS);
    const stream = denialBurst(fifth, seven.slice(0, 5), SETTINGS);
    const atTheSeventh = denialBurst(nth(seven, 6), seven, SETTINGS);

    // Assess
    expect(schedule).toEqual(stream);
    expect(atTheSeventh?.dedupeKey).toBe(schedule?.dedupeKey);
  });
});

describe('evaluateUse / evaluateDenial', () => {
  it('reports every rule a use breaks', () => {
    // Prepare: cut off during a lockdown, then used from a new address.
    const earlier = aUse({ unique: 'use-1', eventTime: '2026-06-01T11:52:00Z' });
    const revoked = aSessionRevoked('2026-06-01T11:53:00.000Z');
    const use = aUse({ unique: 'use-2', eventTime: '2026-06-01T11:58:00Z', sourceIPAddress: '203.0.113.34' });

    // Act
    const findings = evaluateUse(use, { keyEvents: [revoked], usedElsewhere: earlier, grant: aGrant(), lockdown: aLockdown() }, SETTINGS);

    // Assess
    expect(findings.map((f) => f.rule)).toEqual(['use-after-revocation', 'use-during-lockdown', 'source-ip-change']);
  });

  it('reports nothing for an ordinary use and an ordinary refusal', () => {
    expect(evaluateUse(aUse(), { keyEvents: [anIssuedEvent()], grant: aGrant() }, SETTINGS)).toEqual([]);
    expect(evaluateDenial(aDenial(), [aDenial()], SETTINGS)).toEqual([]);
  });
});

describe('helpers', () => {
  it('matches ignored sources with * as any run of characters, ignoring case, and nothing else loosely', () => {
    const pattern = wildcardPattern('*.amazonaws.com');
    expect(pattern.test('athena.amazonaws.com')).toBe(true);
    expect(pattern.test('Athena.AmazonAWS.com')).toBe(true);
    expect(pattern.test('evil-amazonaws.com')).toBe(false);
    expect(pattern.test('athena.amazonaws.com.evil.example')).toBe(false);
  });

  it('puts a time into its epoch-aligned window bucket', () => {
    expect(bucketOf('2026-06-01T11:59:59.999Z', SETTINGS)).toBe('2026-06-01T11:50:00.000Z');
    expect(bucketOf('2026-06-01T12:00:00.000Z', SETTINGS)).toBe('2026-06-01T12:00:00.000Z');
  });
});
