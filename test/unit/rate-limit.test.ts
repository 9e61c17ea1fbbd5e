// The vend quota's window arithmetic: every instance must compute the same window for an instant,
// a refused caller must be told a wait that gets it out of the refusing window, and exactly one
// refusal per window is the one recorded.
import fc from 'fast-check';
import { RATE_WINDOW_SECONDS, decideQuota, retryAfterSeconds, windowAt } from '../../shared/domain/rate-limit.js';

const MINUTE = 60_000;
// Instants from 1970 to 2200, to the millisecond.
const instants = fc.integer({ min: 0, max: 7_258_118_400_000 }).map((ms) => new Date(ms));

describe('windowAt', () => {
  it.each([
    ['the first millisecond of a minute', '2026-06-01T12:00:00.000Z', '2026-06-01T12:00:00.000Z'],
    ['the middle of a minute', '2026-06-01T12:00:15.250Z', '2026-06-01T12:00:00.000Z'],
    ['the last millisecond of a minute', '2026-06-01T12:00:59.999Z', '2026-06-01T12:00:00.000Z'],
    ['the next minute', '2026-06-01T12:01:00.000Z', '2026-06-01T12:01:00.000Z'],
  ])('puts %s in the minute starting %s', (_label, now, start) => {
    // Act
    const window = windowAt(new Date(now));

    // Assess
    expect(window.start.toISOString()).toBe(start);
    expect(window.end.getTime() - window.start.getTime()).toBe(MINUTE);
  });

  it('is a one-minute window by default', () => {
    // Assess
    expect(RATE_WINDOW_SECONDS).toBe(60);
  });

  it('contains the instant, starts on a window boundary, and is the same for every instant in it', () => {
    fc.assert(
      fc.property(instants, fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 0, max: 3_600_000 }), (now, seconds, offset) => {
        // Act
        const window = windowAt(now, seconds);
        const other = new Date(window.start.getTime() + (offset % (seconds * 1000)));

        // Assess
        expect(window.start.getTime()).toBeLessThanOrEqual(now.getTime());
        expect(now.getTime()).toBeLessThan(window.end.getTime());
        expect(window.start.getTime() % (seconds * 1000)).toBe(0);
        expect(windowAt(other, seconds)).toEqual(window);
      }),
    );
  });

  it.each([0, -60, 1.5, Number.NaN])('refuses a window of %p seconds', (seconds) => {
    // Act / Assess
    expect(() => windowAt(new Date('2026-06-01T12:00:00Z'), seconds)).toThrow(RangeError);
  });
});

describe('retryAfterSeconds', () => {
  it.each([
    ['at the start of the minute', '2026-06-01T12:00:00.000Z', 60],
    ['15 s in', '2026-06-01T12:00:15.000Z', 45],
    ['15.001 s in (rounded up)', '2026-06-01T12:00:15.001Z', 45],
    ['59.999 s in (never 0)', '2026-06-01T12:00:59.999Z', 1],
  ])('is the whole seconds to the end of the window %s', (_label, now, expected) => {
    // Prepare
    const at = new Date(now);

    // Act
    const seconds = retryAfterSeconds(windowAt(at), at);

    // Assess
    expect(seconds).toBe(expected);
  });

  it('is a whole number from 1 to the window length that, waited out, leaves the refusing window', () => {
    fc.assert(
      fc.property(instants, (now) => {
        // Prepare
        const window = windowAt(now);

        // Act
        const seconds = retryAfterSeconds(window, now);

        // Assess
        expect(Number.isInteger(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(1);
        expect(seconds).toBeLessThanOrEqual(RATE_WINDOW_SECONDS);
        expect(windowAt(new Date(now.getTime() + seconds * 1000)).start.getTime()).toBeGreaterThan(window.start.getTime());
      }),
    );
  });
});

describe('decideQuota', () => {
  const now = new Date('2026-06-01T12:00:20.000Z');
  const window = windowAt(now);

  it('allows the limit and refuses the next, the first refusal marked, with the wait', () => {
    // Act
    const decisions = [29, 30, 31, 32].map((count) => decideQuota(count, 30, window, now));

    // Assess
    expect(decisions).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: false, retryAfterSeconds: 40, firstRefusal: true },
      { allowed: false, retryAfterSeconds: 40, firstRefusal: false },
    ]);
  });

  it('over any number of requests allows exactly min(requests, limit), with at most one first refusal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 300 }), (limit, requests) => {
        // Act
        const decisions = Array.from({ length: requests }, (_, i) => decideQuota(i + 1, limit, window, now));

        // Assess
        expect(decisions.filter((decision) => decision.allowed)).toHaveLength(Math.min(requests, limit));
        const first = decisions.filter((decision) => !decision.allowed && decision.firstRefusal);
        expect(first).toHaveLength(requests > limit ? 1 : 0);
      }),
    );
  });
});
