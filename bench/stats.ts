// Latency summaries for the benchmark: nearest-rank percentiles, so every reported value is one
// that was actually measured.

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

/** The nearest-rank percentile `p` (0 < p ≤ 100) of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile out of range: ${p}`);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] as number;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
  };
}

/** Two decimals: sub-millisecond differences matter at the floor, more digits are noise. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
