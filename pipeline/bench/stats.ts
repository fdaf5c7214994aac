/** Latency statistics of timed runs. */

export interface LatencyStats {
  latency_ms_mean: number;
  latency_ms_p50: number;
  latency_ms_p90: number;
  /** Sample standard deviation (n − 1). */
  latency_ms_std: number;
  /** 1000 / mean: frames per second at batch 1, one request at a time. */
  fps: number;
}

/**
 * Mean, linear-interpolated percentiles, sample std and FPS of `times` (milliseconds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latencyStats } from "./stats.ts";
 * const s = latencyStats([1, 2, 3, 4]);
 * assert(s.latency_ms_p50 === 2.5 && s.fps === 400);
 * ```
 */
export function latencyStats(times: number[]): LatencyStats {
  if (times.length === 0) throw new Error("latencyStats: no timed runs");
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const variance = times.length > 1 ? times.reduce((a, t) => a + (t - mean) ** 2, 0) / (times.length - 1) : 0;
  return {
    latency_ms_mean: mean,
    latency_ms_p50: percentile(sorted, 50),
    latency_ms_p90: percentile(sorted, 90),
    latency_ms_std: Math.sqrt(variance),
    fps: 1000 / mean,
  };
}

/** The p-th percentile of ascending `sorted`, interpolating between ranks (numpy's default). */
export function percentile(sorted: number[], p: number): number {
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank), hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
