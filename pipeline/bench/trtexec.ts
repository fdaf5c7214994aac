/** Parse the performance summary that TensorRT's `trtexec` prints (TensorRT 7.x to 10.x). */
import { ExpectedError } from "../core/errors.ts";

/** Latency figures of one trtexec run, in milliseconds. */
export interface TrtexecReport {
  /** e.g. "8.2.1" (from "TensorRT version:" or "[TensorRT v8201]"), when printed. */
  tensorrt?: string;
  /** Inferences per second as trtexec reports it. */
  throughput_qps: number;
  latency_ms_mean: number;
  latency_ms_p50: number;
  /** Only printed by TensorRT ≥ 8.4. */
  latency_ms_p90?: number;
  latency_ms_p99?: number;
  latency_ms_min: number;
  latency_ms_max: number;
  /** Standard deviation, only where printed (TensorRT 7 "Latency: ... stdev" is absent in 8+). */
  latency_ms_std?: number;
  /** Mean GPU compute time (no host↔device copies), when printed. */
  gpu_compute_ms_mean?: number;
}

/** `key = 1.23 ms` pairs of one summary line. */
function fields(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of line.matchAll(/([A-Za-z]+(?:\(\d+(?:\.\d+)?%\))?)\s*=\s*([\d.eE+-]+)\s*ms/g)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Parse trtexec's stdout. "Latency:" is host wall time per inference (H2D + compute + D2H), the
 * figure comparable to onnxruntime's; throws when the summary is missing (a failed build).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrtexec } from "./trtexec.ts";
 * const r = parseTrtexec(
 *   "[I] Throughput: 100 qps\n[I] Latency: min = 9 ms, max = 11 ms, mean = 10 ms, median = 10 ms",
 * );
 * assert(r.latency_ms_mean === 10 && r.throughput_qps === 100);
 * ```
 */
export function parseTrtexec(text: string): TrtexecReport {
  const line = (label: string) => text.match(new RegExp(`\\]\\s*${label}:\\s*(.*)$`, "m"))?.[1];
  const throughput = line("Throughput")?.match(/([\d.]+)\s*qps/)?.[1];
  const latencyLine = line("Latency");
  if (!throughput || !latencyLine) {
    const last = text.trim().split("\n").slice(-3).join(" | ");
    throw new ExpectedError(`trtexec output has no performance summary (last lines: ${last})`);
  }
  const lat = fields(latencyLine);
  const gpu = fields(line("GPU Compute Time") ?? line("GPU Compute") ?? "");
  const version = text.match(/TensorRT version:\s*([\d.]+)/)?.[1] ?? versionCode(text);
  const need = (k: string) => {
    if (lat[k] === undefined) throw new ExpectedError(`trtexec latency line has no "${k}": ${latencyLine}`);
    return lat[k];
  };
  return {
    ...(version ? { tensorrt: version } : {}),
    throughput_qps: Number(throughput),
    latency_ms_mean: need("mean"),
    latency_ms_p50: need("median"),
    ...(lat["percentile(90%)"] !== undefined ? { latency_ms_p90: lat["percentile(90%)"] } : {}),
    ...(lat["percentile(99%)"] !== undefined ? { latency_ms_p99: lat["percentile(99%)"] } : {}),
    latency_ms_min: need("min"),
    latency_ms_max: need("max"),
    ...(lat.stdev !== undefined ? { latency_ms_std: lat.stdev } : {}),
    ...(gpu.mean !== undefined ? { gpu_compute_ms_mean: gpu.mean } : {}),
  };
}

/** "[TensorRT v8201]" → "8.2.1"; TensorRT 10 encodes major × 10000 ("v100300" → "10.3.0"). */
function versionCode(text: string): string | undefined {
  const m = text.match(/\[TensorRT v(\d+)\]/);
  if (!m) return undefined;
  const n = Number(m[1]), big = n >= 10000;
  const major = big ? Math.floor(n / 10000) : Math.floor(n / 1000);
  const minor = big ? Math.floor(n / 100) % 100 : Math.floor(n / 100) % 10;
  return `${major}.${minor}.${n % 100}`;
}
