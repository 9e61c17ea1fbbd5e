import {
  DEFAULT_SESSION_SECONDS,
  MAX_SESSION_SECONDS,
  MIN_SESSION_SECONDS,
  resolveDuration,
} from '../../shared/domain/duration.js';
import { DurationOutOfRangeError } from '../../shared/domain/errors.js';

describe('session duration constants', () => {
  it('follow AssumeRole: 15 minutes to 12 hours, defaulting to the shortest', () => {
    // Assess
    expect(MIN_SESSION_SECONDS).toBe(900);
    expect(MAX_SESSION_SECONDS).toBe(43_200);
    expect(DEFAULT_SESSION_SECONDS).toBe(900);
  });
});

describe('resolveDuration', () => {
  it('defaults to 900 seconds when none is requested', () => {
    // Act
    const duration = resolveDuration(undefined, { profile: 3600 });

    // Assess
    expect(duration).toBe(900);
  });

  it.each([
    [900, 900],
    [1800, 1800],
    [3600, 3600],
  ])('accepts %i seconds when the profile allows 3600', (requested, expected) => {
    // Act
    const duration = resolveDuration(requested, { profile: 3600 });

    // Assess
    expect(duration).toBe(expected);
  });

  it.each([899, 3601, 0, -900])('refuses %i seconds when the profile allows 3600, stating the range', (requested) => {
    // Act
    const act = (): unknown => resolveDuration(requested, { profile: 3600 }, 'dev-readonly');

    // Assess
    expect(act).toThrow(DurationOutOfRangeError);
    expect(act).toThrow('durationSeconds must be between 900 and 3600 for profile "dev-readonly"');
  });

  it('gives a generic message with both bounds when no profile name is passed', () => {
    // Act
    const act = (): unknown => resolveDuration(4000, { profile: 3600 });

    // Assess
    expect(act).toThrow(new DurationOutOfRangeError('durationSeconds must be between 900 and 3600'));
  });

  it('is capped by a grant limit lower than the profile limit', () => {
    // Prepare
    const limits = { grant: 1800, profile: 3600 };

    // Act
    const atMax = resolveDuration(1800, limits);
    const aboveMax = (): unknown => resolveDuration(1801, limits, 'p');

    // Assess
    expect(atMax).toBe(1800);
    expect(aboveMax).toThrow('durationSeconds must be between 900 and 1800 for profile "p"');
  });

  it('is capped by the profile limit when the grant allows more', () => {
    // Prepare
    const limits = { grant: 7200, profile: 3600 };

    // Act
    const atMax = resolveDuration(3600, limits);
    const aboveMax = (): unknown => resolveDuration(3601, limits);

    // Assess
    expect(atMax).toBe(3600);
    expect(aboveMax).toThrow(DurationOutOfRangeError);
  });

  it('never exceeds the 43,200-second AssumeRole ceiling, even if a profile claims more', () => {
    // Prepare
    const limits = { profile: 129_600 };

    // Act
    const atCeiling = resolveDuration(43_200, limits);
    const aboveCeiling = (): unknown => resolveDuration(43_201, limits);

    // Assess
    expect(atCeiling).toBe(43_200);
    expect(aboveCeiling).toThrow('durationSeconds must be between 900 and 43200');
  });

  it.each([900.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p, which is not a whole number of seconds', (requested) => {
    // Act
    const act = (): unknown => resolveDuration(requested, { profile: 3600 });

    // Assess
    expect(act).toThrow(DurationOutOfRangeError);
    expect(act).toThrow('durationSeconds must be a whole number between 900 and 3600');
  });

  it.each([
    ['the profile', { profile: 600 }],
    ['the grant', { grant: 600, profile: 3600 }],
  ])('says no duration is possible when %s allows less than 900 seconds', (_, limits) => {
    // Act
    const requestedNothing = (): unknown => resolveDuration(undefined, limits, 'broken');
    const requestedMin = (): unknown => resolveDuration(900, limits, 'broken');

    // Assess
    for (const act of [requestedNothing, requestedMin]) {
      expect(act).toThrow(DurationOutOfRangeError);
      expect(act).toThrow(
        'no session duration is possible for profile "broken": its maximum of 600 seconds is below the 900-second minimum',
      );
    }
  });
});
