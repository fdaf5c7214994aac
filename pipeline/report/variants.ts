/**
 * Views of results.json `rows` the report's tables and figures share: one row per variant,
 * the measured rows of a device, and the Pareto front of the task's primary metric against latency.
 * Nothing here invents a value: a field no row has stays undefined.
 */
import type { ResultRow, Results } from "../stages/parts.ts";
import type { MetricInfo } from "../tasks/mod.ts";

/** Formats in the order the report prefers one of them as a variant's headline measurement. */
export const FORMAT_PREFERENCE = ["onnx-fp32", "tfjs", "onnx-fp16", "onnx-int8"] as const;

/** A finite number, or undefined. */
export function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Rows with a measured latency. */
export function measuredRows(results: Results): ResultRow[] {
  return (results.rows ?? []).filter((r) => num(r.latency_ms_mean) !== undefined);
}

/** Devices with measured rows, in order of appearance. */
export function devicesOf(results: Results): string[] {
  return [...new Set(measuredRows(results).map((r) => String(r.device ?? "local")))];
}

/** Variant names in order of first appearance in the rows, then models without rows. */
export function variantNames(results: Results): string[] {
  return [...new Set([...(results.rows ?? []).map((r) => r.variant), ...Object.keys(results.models ?? {})])];
}

/**
 * The headline measured row of each variant on `device`: the preferred format
 * (FORMAT_PREFERENCE) at its fewest threads.
 */
export function headlineRows(results: Results, device: string): Map<string, ResultRow> {
  const out = new Map<string, ResultRow>();
  const rank = (r: ResultRow) => {
    const f = FORMAT_PREFERENCE.indexOf(r.format as typeof FORMAT_PREFERENCE[number]);
    return (f < 0 ? FORMAT_PREFERENCE.length : f) * 1000 + (num(r.threads) ?? 0);
  };
  for (const r of measuredRows(results).filter((r) => String(r.device ?? "local") === device)) {
    const best = out.get(r.variant);
    if (!best || rank(r) < rank(best)) out.set(r.variant, r);
  }
  return out;
}

/** One variant as the summary tables show it. */
export interface VariantSummary {
  variant: string;
  technique: string;
  /** First row of the variant (training/compression facts: params, FLOPs, primary metric, params used). */
  facts: ResultRow;
  /** Headline measured row on the first device, when the bench ran. */
  measured?: ResultRow;
}

/** One summary per variant: facts from its first row, the headline measurement of `device`. */
export function variantSummaries(results: Results, device?: string): VariantSummary[] {
  const rows = results.rows ?? [];
  const measured = device ? headlineRows(results, device) : new Map<string, ResultRow>();
  const out: VariantSummary[] = [];
  for (const name of variantNames(results)) {
    const own = rows.filter((r) => r.variant === name);
    const facts = own.find((r) => num(r.latency_ms_mean) === undefined) ?? own[0];
    if (!facts) continue;
    out.push({ variant: name, technique: facts.technique, facts, measured: measured.get(name) });
  }
  return out;
}

/** The first of `rows` that has `key` as a finite number. */
export function pick(rows: (ResultRow | undefined)[], key: keyof ResultRow): number | undefined {
  for (const r of rows) {
    const v = num(r?.[key]);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Indices of the points on the Pareto front of `score` (the task's primary metric, better as
 * `primary` says) against latency: no other point is at least as fast and at least as good while
 * strictly better in one of the two.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paretoFront } from "./variants.ts";
 * const front = paretoFront([{ latency: 1, score: 0.9 }, { latency: 2, score: 0.8 }, { latency: 3, score: 0.95 }]);
 * assert(front.join() === "0,2");
 * ```
 */
export function paretoFront(
  points: { latency: number; score: number }[],
  primary: Pick<MetricInfo, "higherIsBetter"> = { higherIsBetter: true },
): number[] {
  const sign = primary.higherIsBetter ? 1 : -1;
  return points.flatMap((p, i) =>
    points.some((q) =>
        q.latency <= p.latency && sign * q.score >= sign * p.score &&
        (q.latency < p.latency || sign * q.score > sign * p.score)
      )
      ? []
      : [i]
  );
}

/** Techniques present in the rows or models, in order of appearance, baseline excluded. */
export function techniquesOf(results: Results): string[] {
  const all = [
    ...(results.rows ?? []).map((r) => r.technique),
    ...Object.values(results.models ?? {}).map((m) => m.technique),
  ];
  return [...new Set(all.filter((t) => typeof t === "string" && t !== "baseline"))];
}
