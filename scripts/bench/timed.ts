/**
 * Sequential latency sampling for the benchmarks' reader processes (scripts/bench/*-reads.ts).
 * Imports nothing: a reader's heap holds only what the reader it stands for would load.
 */

export interface Latency {
  p50: number;
  p99: number;
  n: number;
}

/** The nearest-rank percentile `p` of ascending `sorted` (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `samples` sequential calls of `fn` after a warm-up of up to 20, in milliseconds. */
export async function time(samples: number, fn: () => Promise<void>): Promise<Latency> {
  for (let i = 0; i < Math.min(20, samples); i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: samples };
}
