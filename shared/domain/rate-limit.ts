// The vend quota's arithmetic: fixed windows aligned to the epoch, so every Lambda instance computes
// the same window for the same instant and they all count into one shared counter per window.
import type { RateLimitDecision } from './ports.js';

export const RATE_WINDOW_SECONDS = 60;
export const DEFAULT_VEND_RATE_PER_MINUTE = 30;

export interface RateWindow {
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive: the instant the next window starts and the count begins again. */
  readonly end: Date;
}

/** The window containing `now`. */
export function windowAt(now: Date, windowSeconds: number = RATE_WINDOW_SECONDS): RateWindow {
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError(`invalid window: ${windowSeconds} s`);
  const length = windowSeconds * 1000;
  const start = Math.floor(now.getTime() / length) * length;
  return { start: new Date(start), end: new Date(start + length) };
}

/**
 * Whole seconds a refused caller should wait: until its window ends, rounded up so that retrying
 * after exactly that long never lands in the window that refused (and never 0, which means "now").
 */
export function retryAfterSeconds(window: RateWindow, now: Date): number {
  return Math.max(1, Math.ceil((window.end.getTime() - now.getTime()) / 1000));
}

/**
 * The decision for the `count`-th request in `window` (the count includes this request). Only the
 * request that first exceeds the limit is `firstRefusal`: exactly one per principal and window.
 */
export function decideQuota(count: number, limit: number, window: RateWindow, now: Date): RateLimitDecision {
  if (count <= limit) return { allowed: true };
  return { allowed: false, retryAfterSeconds: retryAfterSeconds(window, now), firstRefusal: count === limit + 1 };
}
