import { GrantExpiredError, NoGrantError } from '../../shared/domain/errors.js';
import { isUsable, selectGrant, subjectsOf } from '../../shared/domain/grant-selection.js';
import { FIXED_NOW, aGrant, aPrincipal } from '../fixtures/builders.js';

const PROFILE = 'dev-readonly';
const now = FIXED_NOW; // 2026-06-01T12:00:00.000Z

describe('subjectsOf', () => {
  it('lists the user, then each group once', () => {
    // Prepare
    const principal = aPrincipal({ id: 'alice@example.com', groups: ['developers', 'oncall', 'developers'] });

    // Act
    const subjects = subjectsOf(principal);

    // Assess
    expect(subjects).toEqual([
      { type: 'user', id: 'alice@example.com' },
      { type: 'group', id: 'developers' },
      { type: 'group', id: 'oncall' },
    ]);
  });
});

describe('isUsable', () => {
  it.each([
    ['starts exactly now', { validFrom: '2026-06-01T12:00:00.000Z' }, true],
    ['ends one millisecond from now', { validUntil: '2026-06-01T12:00:00.001Z' }, true],
    ['ends exactly now', { validUntil: '2026-06-01T12:00:00.000Z' }, false],
    ['starts one millisecond from now', { validFrom: '2026-06-01T12:00:00.001Z' }, false],
    ['is revoked', { status: 'revoked' as const }, false],
    ['has an unparseable end', { validUntil: 'someday' }, false],
  ])('says a grant that %s is usable: %s', (_, overrides, expected) => {
    // Prepare
    const grant = aGrant(overrides);

    // Act
    const usable = isUsable(grant, now);

    // Assess
    expect(usable).toBe(expected);
  });
});

describe('selectGrant', () => {
  const principal = aPrincipal({ id: 'alice@example.com', groups: ['developers'] });

  it("selects the principal's own grant on the profile", () => {
    // Prepare
    const grant = aGrant({ id: 'mine', subject: { type: 'user', id: 'alice@example.com' } });

    // Act
    const selected = selectGrant([grant], principal, PROFILE, now);

    // Assess
    expect(selected).toBe(grant);
  });

  it("selects a grant held by one of the principal's groups", () => {
    // Prepare
    const grant = aGrant({ id: 'team', subject: { type: 'group', id: 'developers' } });

    // Act
    const selected = selectGrant([grant], principal, PROFILE, now);

    // Assess
    expect(selected).toBe(grant);
  });

  it.each([
    ['on another profile', aGrant({ profile: 'prod-admin' })],
    ['held by another user', aGrant({ subject: { type: 'user', id: 'bob@example.com' } })],
    ['held by a group the principal is not in', aGrant({ subject: { type: 'group', id: 'admins' } })],
    ['held by a group named like the user', aGrant({ subject: { type: 'group', id: 'alice@example.com' } })],
    ['held by a user named like a group', aGrant({ subject: { type: 'user', id: 'developers' } })],
    ['revoked', aGrant({ status: 'revoked', revokedAt: '2026-05-01T00:00:00.000Z', revokedBy: 'admin@example.com' })],
    ['not valid yet', aGrant({ validFrom: '2026-07-01T00:00:00.000Z', validUntil: '2026-08-01T00:00:00.000Z' })],
  ])('ignores a grant %s, failing with NoGrantError', (_, grant) => {
    // Act
    const act = (): unknown => selectGrant([grant], principal, PROFILE, now);

    // Assess
    expect(act).toThrow(NoGrantError);
    expect(act).toThrow('no active grant for profile "dev-readonly"');
  });

  it('fails with NoGrantError when there are no grants at all', () => {
    // Act
    const act = (): unknown => selectGrant([], principal, PROFILE, now);

    // Assess
    expect(act).toThrow(NoGrantError);
  });

  it('fails with GrantExpiredError naming the profile and the latest expiry when only expired grants match', () => {
    // Prepare
    const grants = [
      aGrant({ id: 'old', validUntil: '2026-03-01T00:00:00.000Z' }),
      aGrant({ id: 'older', validUntil: '2026-02-01T00:00:00.000Z' }),
    ];

    // Act
    const act = (): unknown => selectGrant(grants, principal, PROFILE, now);

    // Assess
    expect(act).toThrow(GrantExpiredError);
    expect(act).toThrow('your grant for profile "dev-readonly" expired at 2026-03-01T00:00:00.000Z');
  });

  it('reports expiry rather than no grant when one grant expired and another is not valid yet', () => {
    // Prepare
    const grants = [
      aGrant({ id: 'past', validUntil: '2026-05-01T00:00:00.000Z' }),
      aGrant({ id: 'future', validFrom: '2026-07-01T00:00:00.000Z', validUntil: '2026-08-01T00:00:00.000Z' }),
    ];

    // Act
    const act = (): unknown => selectGrant(grants, principal, PROFILE, now);

    // Assess
    expect(act).toThrow(GrantExpiredError);
  });

  it('does not report an expired grant that was revoked, or one on another profile, as expired', () => {
    // Prepare
    const grants = [
      aGrant({ id: 'revoked-and-expired', status: 'revoked', validUntil: '2026-05-01T00:00:00.000Z' }),
      aGrant({ id: 'other-profile-expired', profile: 'prod-admin', validUntil: '2026-05-01T00:00:00.000Z' }),
    ];

    // Act
    const act = (): unknown => selectGrant(grants, principal, PROFILE, now);

    // Assess
    expect(act).toThrow(NoGrantError);
  });

  it('selects the usable grant even when expired and revoked ones also match', () => {
    // Prepare
    const usable = aGrant({ id: 'usable', maxSessionSeconds: 900 });
    const grants = [
      aGrant({ id: 'expired', maxSessionSeconds: 3600, validUntil: '2026-05-01T00:00:00.000Z' }),
      aGrant({ id: 'revoked', maxSessionSeconds: 3600, status: 'revoked' }),
      usable,
    ];

    // Act
    const selected = selectGrant(grants, principal, PROFILE, now);

    // Assess
    expect(selected).toBe(usable);
  });

  describe('when several grants are usable', () => {
    it('prefers the one allowing the longest session, counting no limit as the longest', () => {
      // Prepare
      const short = aGrant({ id: 'a-short', maxSessionSeconds: 900 });
      const long = aGrant({ id: 'b-long', maxSessionSeconds: 3600, subject: { type: 'group', id: 'developers' } });
      const unlimited = aGrant({ id: 'c-unlimited' });

      // Act
      const withLimits = selectGrant([short, long], principal, PROFILE, now);
      const withUnlimited = selectGrant([short, long, unlimited], principal, PROFILE, now);

      // Assess
      expect(withLimits).toBe(long);
      expect(withUnlimited).toBe(unlimited);
    });

    it('caps each grant at the profile limit before comparing, then prefers the latest end', () => {
      // Prepare: both effectively allow 3,600 s under the profile's limit.
      const unlimitedEndsSooner = aGrant({ id: 'a', validUntil: '2026-09-01T00:00:00.000Z' });
      const highLimitEndsLater = aGrant({ id: 'b', maxSessionSeconds: 7200, validUntil: '2026-12-01T00:00:00.000Z' });

      // Act
      const selected = selectGrant([unlimitedEndsSooner, highLimitEndsLater], principal, PROFILE, now, {
        profileMaxSessionSeconds: 3600,
      });

      // Assess
      expect(selected).toBe(highLimitEndsLater);
    });

    it('prefers the latest end when limits are equal', () => {
      // Prepare
      const endsSooner = aGrant({ id: 'a', maxSessionSeconds: 3600, validUntil: '2026-09-01T00:00:00.000Z' });
      const endsLater = aGrant({ id: 'b', maxSessionSeconds: 3600, validUntil: '2026-12-01T00:00:00.000Z' });

      // Act
      const selected = selectGrant([endsSooner, endsLater], principal, PROFILE, now);

      // Assess
      expect(selected).toBe(endsLater);
    });

    it('prefers the smallest id when limits and ends are equal, whatever the input order', () => {
      // Prepare
      const grants = ['grant-b', 'grant-a', 'grant-c'].map((id) => aGrant({ id, maxSessionSeconds: 3600 }));

      // Act
      const forwards = selectGrant(grants, principal, PROFILE, now);
      const backwards = selectGrant([...grants].reverse(), principal, PROFILE, now);

      // Assess
      expect(forwards.id).toBe('grant-a');
      expect(backwards.id).toBe('grant-a');
    });
  });
});
