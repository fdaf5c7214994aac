/**
 * Stage "bench" (both tracks; `seg_bench` in the pipeline file is this module on the U-Nets), local:
 * for every exported variant × format × thread count, warm up, time `runs` batch-1 predictions
 * (mean, p50, p90, std, FPS) and score the test split through the same runtime and session with
 * the task (classification: accuracy; segmentation: Dice at the data set's side, a low-resolution
 * U-Net's probabilities resized back up first), recorded under the task's primary metric's name.
 * tfjs runs on the wasm backend, which is single-threaded in Deno, so
 * tfjs rows are measured once with threads = 1. Adds `predicted_speedup` (FLOPs ratio vs the
 * reference variant) and `measured_speedup` (latency ratio vs the reference in the same
 * format/runtime/threads), and the machine in results.part.json `machine`.
 *
 * Devices over SSH (`devices`, empty by default): each gets a bundle (its ONNX / TFLite formats, test
 * images, runner.mjs), benched there in parallel with the local run; rows have `device` = its
 * name, and results.part.json `devices[name]` holds its CPU/RAM/OS/runtime or its error. When a
 * device fails the stage fails (after caching the devices that succeeded), so the pipeline
 * records no lock entry and the next `deno task pipeline` reruns bench, reusing the cached
 * devices and retrying only the failed one; `fail_on_device_error: false` records the failure
 * and succeeds instead (a later retry then needs `--force`). `--force` re-measures every device
 * instead of reusing its cached result; the log says which (`jetson: cached (measured …;
 * --force re-measures)`, `jetson: re-measured (--force)`).
 */
import { join } from "node:path";
import { z } from "zod";
import { ExpectedError } from "../core/errors.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import { type Dataset, loadDataset } from "../data/dataset.ts";
import { initEngine } from "../engine/mod.ts";
import { primaryValue, splitImages, type SplitScorer, splitScorer } from "../export/task_eval.ts";
/** Formats this stage times locally (TFLite files are timed on devices, through their python3: see the README). */
const FORMATS = ["tfjs", "onnx-fp32", "onnx-fp16", "onnx-int8"] as const;
import type { ExportPart, ExportRecord } from "./export.ts";
import { type MachineInfo, machineInfo } from "../bench/machine.ts";
import { onnxRunner, type Runner, tfjsRunner, timeRuns } from "../bench/runners.ts";
import { latencyStats } from "../bench/stats.ts";
import { buildBundle } from "../bench/bundle.ts";
import { benchDevice, type DeviceConfig, type DeviceOutcome, deviceSchema } from "../bench/devices.ts";
import { parseTrtexec } from "../bench/trtexec.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { type AnyTask, type PrimaryFields, primaryFields, taskByName, type TaskName } from "../tasks/mod.ts";
import type { RowBase } from "./parts.ts";

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
  /** Bench on this machine too (false: devices only). */
  local: z.boolean().default(true),
  /** Devices benched over SSH, in parallel (see pipeline/bench/devices.ts). */
  devices: z.array(deviceSchema).default([]).refine(
    (d) => new Set(d.map((x) => x.name)).size === d.length && d.every((x) => x.name !== "local"),
    { message: 'device names must be unique and not "local"' },
  ),
  /** Per device: connect + copy + bench must finish within this many seconds. */
  timeout_s: z.number().positive().default(1800),
  /** Test images bundled for on-device scores (raw float32 at each model's input size, so keep it modest). */
  images: z.int().min(1).default(200),
  /** Fail the stage when a device fails (so a rerun retries it); false records it and succeeds. */
  fail_on_device_error: z.boolean().default(true),
});

export type BenchParams = z.infer<typeof paramsSchema>;

/** What bench adds to a row: the timing, how it was run, and the speed-ups vs the reference. */
export interface BenchMeasures {
  latency_ms_mean: number;
  latency_ms_p50: number;
  latency_ms_p90?: number;
  latency_ms_std?: number;
  fps: number;
  size_gzip_bytes?: number;
  execution_provider: string;
  batch: number;
  runs?: number;
  warmup?: number;
  /** int8 formats: the calibration method of the file. */
  calibration?: string;
  /** Reference FLOPs / FLOPs. */
  predicted_speedup?: number;
  /** Reference latency / latency (same format, runtime, threads and device). */
  measured_speedup?: number;
  /** trtexec rows: its throughput (queries per second). */
  throughput_qps?: number;
  /** trtexec rows: the format the engine was built from. */
  source_format?: string;
}

/** A row the bench stage writes: one variant × format × threads × device. */
export interface BenchRow extends RowBase, PrimaryFields, BenchMeasures {}

/** One device's record in results.part.json `devices`: its machine, or its error. */
export type DeviceRecord = Record<string, unknown> & { status: string; seconds?: number };

/** The bench stage's results.part.json. */
export interface BenchPart {
  task: TaskName;
  rows: BenchRow[];
  machine: MachineInfo;
  devices: Record<string, DeviceRecord>;
}

/** Benchmark every exported model locally and on the configured devices. */
export async function run(ctx: StageContext<BenchParams>): Promise<StageResult> {
  const p = ctx.params;
  const exportDir = ctx.depDirs.export;
  if (!exportDir) {
    throw new ExpectedError(`bench: stage "export" must be a dep of "bench" in the pipeline file (deps)`);
  }
  const part = JSON.parse(await Deno.readTextFile(join(exportDir, "results.part.json"))) as Partial<
    ExportPart
  >;
  const exports = part.exports ?? {};
  const layout = part.layout ?? "NHWC";
  // Export parts written before the task was recorded are classification.
  const task = taskByName(part.task ?? "classification");
  const data: Dataset | undefined = ctx.depDirs.fetch ? await loadDataset(ctx.depDirs.fetch) : undefined;
  await initEngine();
  const bundleRoot = await Deno.makeTempDir({ prefix: "edgeslim-bundles-" });
  try {
    // Devices wait on ssh, so they run while the local bench uses the CPU.
    const remote = Promise.all(p.devices.map(async (device) => {
      const bundle = await buildBundle(bundleRoot, {
        exportDir,
        exports,
        task,
        formats: device.formats,
        python: device.python,
        tfliteRuntime: device.tflite_runtime,
        threads: device.threads,
        warmup: p.warmup,
        runs: p.runs,
        layout,
        data,
        images: p.images,
        trtexec: device.trtexec,
      });
      const outcome = await benchDevice(device, bundle, {
        cacheDir: ctx.cacheDir,
        timeoutS: p.timeout_s,
        force: ctx.force,
        log: (line) => ctx.log.info(line),
      });
      ctx.log.info(`${device.name}: ${outcomeNote(outcome, ctx.force === true)}`);
      if (outcome.status !== "failed") {
        for (const e of outcome.output.errors ?? []) {
          ctx.log.warn(`${device.name}: ${e.variant} ${e.format} ×${e.threads} not run: ${e.error}`);
        }
      }
      return outcome;
    }));
    const rows = p.local ? await benchLocal(ctx, exports, layout, data, task) : [];
    const outcomes = await remote;
    for (const [i, outcome] of outcomes.entries()) {
      rows.push(...deviceRows(p.devices[i], outcome, exports, p, task));
    }
    const failed = outcomes.filter((o) => o.status === "failed");
    if (failed.length && p.fail_on_device_error) {
      throw new ExpectedError(
        `bench: ${failed.length} of ${outcomes.length} device(s) failed; fix the cause and rerun ` +
          "`deno task pipeline`: it retries only these (the others' results are cached; " +
          "`fail_on_device_error: false` records the failure and goes on):\n" +
          failed.map((o) => `  ${o.error}`).join("\n"),
      );
    }
    return await finish(ctx, rows, outcomes, task);
  } finally {
    await Deno.remove(bundleRoot, { recursive: true });
  }
}

/** The log line of a device: its error, or whether it was measured now or reused from the cache. */
function outcomeNote(o: DeviceOutcome, forced: boolean): string {
  if (o.status === "failed") return o.error;
  const when = `${o.measured_at.slice(0, 16).replace("T", " ")} UTC`;
  if (o.status === "cached") return `cached (measured ${when}; --force re-measures)`;
  return forced ? "re-measured (--force)" : "measured";
}

/** Every exported variant × format × threads on this machine. */
async function benchLocal(
  ctx: StageContext<BenchParams>,
  exports: Record<string, ExportRecord>,
  layout: "NHWC" | "NCHW",
  data: Dataset | undefined,
  task: AnyTask,
): Promise<BenchRow[]> {
  const p = ctx.params, exportDir = ctx.depDirs.export!;
  const jobs: { variant: string; format: typeof FORMATS[number]; threads: number }[] = [];
  for (const [variant, e] of Object.entries(exports)) {
    for (const format of p.formats) {
      if (!e.formats[format]) continue;
      for (const threads of format === "tfjs" ? [1] : p.threads) jobs.push({ variant, format, threads });
    }
  }
  const rows: BenchRow[] = [];
  const bar = ctx.progress("bench", jobs.length, "models");
  for (const { variant, format, threads } of jobs) {
    const e = exports[variant], file = e.formats[format]!;
    const [size] = e.input;
    const runner: Runner = format === "tfjs"
      ? await tfjsRunner(join(exportDir, file.path), size)
      : await onnxRunner(join(exportDir, file.path), size, threads, layout);
    // The task's primary metric on the test split through this runtime.
    const shapes = { input: e.input };
    const scorer = splitScorer(task, data, "test", Infinity, shapes);
    const score = scorer
      ? await testScore(runner, task, scorer, splitImages(task, data, "test", Infinity, shapes)!)
      : undefined;
    const image = splitImages(task, data, "test", 1, shapes) ?? new Float32Array(size * size * 3).fill(0.5);
    const stats = latencyStats(await timeRuns(runner, image, p.warmup, p.runs));
    await runner.dispose();
    rows.push({
      ...variantFields(variant, e),
      size_bytes: file.size_bytes,
      size_gzip_bytes: file.gzip_bytes,
      ...primaryFields(task, score),
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
  return rows;
}

/** Speedups, results.part.json (rows, machine, devices) and the summary. */
async function finish(
  ctx: StageContext<BenchParams>,
  rows: BenchRow[],
  outcomes: DeviceOutcome[],
  task: AnyTask,
): Promise<StageResult> {
  const p = ctx.params;
  addSpeedups(rows, p.reference);
  const machine = await machineInfo();
  const devices: Record<string, DeviceRecord> = Object.fromEntries(outcomes.map((o) => [
    o.name,
    o.status === "failed" ? { status: o.status, kind: o.kind, error: o.error, seconds: o.seconds } : {
      status: o.status,
      seconds: o.seconds,
      ...o.output.device,
      trtexec_errors: trtexecErrors(o),
      ...(o.output.errors?.length ? { model_errors: o.output.errors } : {}),
    },
  ]));
  await writeFileAtomic(
    join(ctx.outDir, "results.part.json"),
    JSON.stringify({ task: task.name, rows, machine, devices } satisfies BenchPart, null, 1),
  );
  const ref = rows.find((r) =>
    r.variant === p.reference && r.format === "onnx-fp32" && r.threads === 1 && r.device === "local"
  );
  if (ref) {
    ctx.log.info(`${p.reference} onnx-fp32 batch 1, 1 thread: ${ref.latency_ms_mean!.toFixed(3)} ms mean`);
  }
  return {
    summary: {
      rows: rows.length,
      machine: `${machine.cpu}, ${machine.cores} cores`,
      devices: Object.fromEntries(outcomes.map((o) => [o.name, o.status])),
      fastest: rows.reduce((a, b) => a.latency_ms_p50! <= b.latency_ms_p50! ? a : b, rows[0])?.variant,
    },
  };
}

/** The task's primary metric on the test split through `runner` (batches of 32: same session and threads). */
async function testScore(
  runner: Runner,
  task: AnyTask,
  scorer: SplitScorer,
  images: Float32Array,
): Promise<number> {
  const per = images.length / scorer.count, parts: Float32Array[] = [];
  for (let i = 0; i < scorer.count; i += 32) {
    const n = Math.min(32, scorer.count - i);
    parts.push((await runner.predict(images.slice(i * per, (i + n) * per), n)).slice());
  }
  const outputs = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (outputs.set(p, at), at + p.length), 0);
  return primaryValue(task, scorer.score(outputs));
}

/** predicted_speedup = reference FLOPs / FLOPs; measured_speedup = reference latency / latency. */
export function addSpeedups(rows: BenchRow[], reference: string): void {
  for (const row of rows) {
    const ref = rows.find((r) =>
      r.variant === reference && r.format === row.format && r.runtime === row.runtime &&
      r.threads === row.threads && r.device === row.device
    );
    if (!ref) continue;
    if (ref.flops && row.flops) row.predicted_speedup = ref.flops / row.flops;
    row.measured_speedup = ref.latency_ms_mean / row.latency_ms_mean;
  }
}

/** The fields every row of a variant shares, whatever runtime or device timed it. */
function variantFields(variant: string, e: ExportRecord) {
  return {
    variant,
    technique: e.technique,
    params_total: e.params_total,
    params_zero: e.params_zero,
    params_nonzero: e.params_nonzero,
    params_tfjs: e.params_tfjs,
    flops: e.flops,
  };
}

/** Rows of one device's outcome: one per model × threads, plus trtexec rows (no accuracy). */
export function deviceRows(
  device: DeviceConfig,
  outcome: DeviceOutcome,
  exports: Record<string, ExportRecord>,
  p: Pick<BenchParams, "warmup" | "runs">,
  task: AnyTask = taskByName("classification"),
): BenchRow[] {
  if (outcome.status === "failed") return [];
  const info = outcome.output.device;
  const base = (variant: string) => variantFields(variant, exports[variant]);
  const rows: BenchRow[] = outcome.output.results.map((r) => {
    const file = exports[r.variant].formats[r.format as keyof ExportRecord["formats"]];
    return {
      ...base(r.variant),
      size_bytes: file?.size_bytes,
      size_gzip_bytes: file?.gzip_bytes,
      // The runner scores the bundled test images with the task's metrics (none without images).
      ...primaryFields(task, r.metrics?.[task.primary.name] ?? undefined),
      latency_ms_mean: r.latency_ms_mean,
      latency_ms_p50: r.latency_ms_p50,
      latency_ms_p90: r.latency_ms_p90,
      latency_ms_std: r.latency_ms_std,
      fps: r.fps,
      runtime: r.runtime ?? `onnxruntime-node ${info.onnxruntime_node} (${info.runtime})`,
      execution_provider: r.backend ?? "cpu",
      format: r.format,
      device: device.name,
      threads: r.threads,
      batch: 1,
      runs: p.runs,
      warmup: p.warmup,
      ...(file?.calibration ? { calibration: file.calibration } : {}),
    };
  });
  for (const t of outcome.output.trtexec ?? []) {
    if (!t.output || t.error) continue;
    const r = parseTrtexec(t.output);
    rows.push({
      ...base(t.variant),
      latency_ms_mean: r.latency_ms_mean,
      latency_ms_p50: r.latency_ms_p50,
      ...(r.latency_ms_p90 !== undefined ? { latency_ms_p90: r.latency_ms_p90 } : {}),
      ...(r.latency_ms_std !== undefined ? { latency_ms_std: r.latency_ms_std } : {}),
      fps: 1000 / r.latency_ms_mean,
      throughput_qps: r.throughput_qps,
      runtime: `TensorRT ${r.tensorrt ?? "?"} (trtexec)`,
      execution_provider: "tensorrt-gpu",
      format: "tensorrt-fp16",
      source_format: "onnx-fp32",
      device: device.name,
      threads: 1,
      batch: 1,
    });
  }
  return rows;
}

/** trtexec failures of a device (e.g. not installed), by variant. */
function trtexecErrors(o: DeviceOutcome): Record<string, string> | undefined {
  if (o.status === "failed") return undefined;
  const errors = (o.output.trtexec ?? []).filter((t) => t.error);
  return errors.length ? Object.fromEntries(errors.map((t) => [t.variant, t.error!])) : undefined;
}
