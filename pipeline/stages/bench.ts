/**
 * Stage "bench" (local): for every exported variant × format × thread count, warm up, time
 * `runs` batch-1 predictions (mean, p50, p90, std, FPS) and measure test accuracy through the
 * same runtime and session. tfjs runs on the wasm backend, which is single-threaded in Deno, so
 * tfjs rows are measured once with threads = 1. Adds `predicted_speedup` (FLOPs ratio vs the
 * reference variant) and `measured_speedup` (latency ratio vs the reference in the same
 * format/runtime/threads), and the machine in results.part.json `machine`.
 */
import { join } from "node:path";
import { z } from "zod";
import type { ResultRow, ResultsPart, StageContext, StageResult } from "../core/types.ts";
import { type Dataset, loadDataset, toFloatBatch } from "../data/dataset.ts";
import { initEngine } from "../engine/mod.ts";
import { argmaxRows } from "../export/evaluate.ts";
import { FORMATS } from "../export/variant.ts";
import type { ExportRecord } from "./export.ts";
import { machineInfo } from "../bench/machine.ts";
import { onnxRunner, type Runner, tfjsRunner, timeRuns } from "../bench/runners.ts";
import { latencyStats } from "../bench/stats.ts";
import { writeAtomic } from "../models/io.ts";

/** Params of the bench stage. */
export const paramsSchema = z.strictObject({
  /** Untimed runs before measuring. */
  warmup: z.int().min(0).default(10),
  /** Timed runs per model. */
  runs: z.int().min(1).default(100),
  /** onnxruntime intra-op thread counts to measure (tfjs-wasm is always 1 thread). */
  threads: z.array(z.int().min(1)).min(1).default([1, 2]),
  /** Formats to measure, among those exported. */
  formats: z.array(z.enum(FORMATS)).min(1).default([...FORMATS]),
  /** Variant the speedups are relative to. */
  reference: z.string().default("teacher"),
});

export type BenchParams = z.infer<typeof paramsSchema>;

/** Benchmark every exported model locally. */
export async function run(ctx: StageContext<BenchParams>): Promise<StageResult> {
  const p = ctx.params;
  const exportDir = ctx.depDirs.export;
  if (!exportDir) throw new Error(`bench: stage "export" must be a dep of "bench" in the pipeline file`);
  const part = JSON.parse(await Deno.readTextFile(join(exportDir, "results.part.json"))) as ResultsPart;
  const exports = (part.exports ?? {}) as Record<string, ExportRecord>;
  const layout = (part.layout as "NHWC" | "NCHW" | undefined) ?? "NHWC";
  const data: Dataset | undefined = ctx.depDirs.fetch ? await loadDataset(ctx.depDirs.fetch) : undefined;
  await initEngine();

  const jobs: { variant: string; format: typeof FORMATS[number]; threads: number }[] = [];
  for (const [variant, e] of Object.entries(exports)) {
    for (const format of p.formats) {
      if (!e.formats[format]) continue;
      for (const threads of format === "tfjs" ? [1] : p.threads) jobs.push({ variant, format, threads });
    }
  }
  const rows: ResultRow[] = [];
  const bar = ctx.progress("bench", jobs.length, "models");
  for (const { variant, format, threads } of jobs) {
    const e = exports[variant], file = e.formats[format]!;
    const [size] = e.input;
    const runner: Runner = format === "tfjs"
      ? await tfjsRunner(join(exportDir, file.path), size)
      : await onnxRunner(join(exportDir, file.path), size, threads, layout);
    const matching = data && data.size === size;
    const accuracy = matching ? await testAccuracy(runner, data, size) : undefined;
    const image = matching
      ? toFloatBatch(data.splits.test.images, [0], size)
      : new Float32Array(size * size * 3).fill(0.5);
    const stats = latencyStats(await timeRuns(runner, image, p.warmup, p.runs));
    await runner.dispose();
    rows.push({
      variant,
      technique: e.technique,
      params_total: e.params_total,
      params_zero: e.params_zero,
      params_nonzero: e.params_nonzero,
      params_tfjs: e.params_tfjs,
      flops: e.flops,
      size_bytes: file.size_bytes,
      size_gzip_bytes: file.gzip_bytes,
      ...(accuracy !== undefined ? { accuracy } : {}),
      ...stats,
      runtime: runner.runtime,
      execution_provider: runner.provider,
      format,
      device: "local",
      threads,
      batch: 1,
      runs: p.runs,
      warmup: p.warmup,
      ...(file.calibration ? { calibration: file.calibration } : {}),
    });
    bar.tick(1, { model: `${variant} ${format} ×${threads}`, p50_ms: stats.latency_ms_p50.toFixed(2) });
  }
  bar.done();
  addSpeedups(rows, p.reference);
  const machine = await machineInfo();
  await writeAtomic(
    join(ctx.outDir, "results.part.json"),
    JSON.stringify({ rows, machine } as ResultsPart, null, 1),
  );
  const ref = rows.find((r) => r.variant === p.reference && r.format === "onnx-fp32" && r.threads === 1);
  if (ref) {
    ctx.log.info(`${p.reference} onnx-fp32 batch 1, 1 thread: ${ref.latency_ms_mean!.toFixed(3)} ms mean`);
  }
  return {
    summary: {
      rows: rows.length,
      machine: `${machine.cpu}, ${machine.cores} cores`,
      fastest: rows.reduce((a, b) => a.latency_ms_p50! <= b.latency_ms_p50! ? a : b, rows[0])?.variant,
    },
  };
}

/** Test-split accuracy through `runner` (batches of 32: same runtime, session and threads). */
async function testAccuracy(runner: Runner, data: Dataset, size: number): Promise<number> {
  const test = data.splits.test;
  let correct = 0;
  for (let i = 0; i < test.count; i += 32) {
    const idx = Array.from({ length: Math.min(32, test.count - i) }, (_, k) => i + k);
    const y = await runner.predict(toFloatBatch(test.images, idx, size), idx.length);
    const pred = argmaxRows(y, y.length / idx.length);
    idx.forEach((j, k) => correct += Number(pred[k] === test.labels[j]));
  }
  return correct / test.count;
}

/** predicted_speedup = reference FLOPs / FLOPs; measured_speedup = reference latency / latency. */
export function addSpeedups(rows: ResultRow[], reference: string): void {
  for (const row of rows) {
    const ref = rows.find((r) =>
      r.variant === reference && r.format === row.format && r.runtime === row.runtime &&
      r.threads === row.threads
    );
    if (!ref) continue;
    if (ref.flops && row.flops) row.predicted_speedup = ref.flops / row.flops;
    row.measured_speedup = ref.latency_ms_mean! / row.latency_ms_mean!;
  }
}
