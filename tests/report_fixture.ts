/** Shared fake results.json and stage context for the report tests (not a test file itself). */
import type { StageContext } from "../pipeline/core/types.ts";
import type { Results, ResultsOnDisk } from "../pipeline/stages/parts.ts";
import type { EpochRecord, ModelRecord } from "../pipeline/tasks/classification_records.ts";

function history(base: number): EpochRecord[] {
  return [1, 2, 3].map((epoch) => ({
    epoch,
    train_loss: 0.7 - 0.15 * epoch * base,
    train_acc: 0.6 + 0.1 * epoch * base,
    val_loss: 0.72 - 0.14 * epoch * base,
    val_acc: 0.58 + 0.11 * epoch * base,
    seconds: 10 + epoch,
  }));
}

function model(technique: string, params: [number, number], acc: number, base: number): ModelRecord {
  return {
    technique,
    spec: { channels: [8, 16, 32] },
    params_torch: params[0],
    params_tfjs: params[1],
    history: history(base),
    best_epoch: 3,
    stopped_early: false,
    train_seconds: 125.4,
    test: {
      accuracy: acc,
      precision: 0.96,
      recall: 0.98,
      f1: 0.9699,
      confusion: [[195, 5], [4, 196]],
      classes: ["with_mask", "without_mask"],
      positive_class: "with_mask",
    },
    checkpoint: "models/x/model.json",
  };
}

/** The shape the fetch stage writes as `dataset` in its results part. */
function dataset() {
  return {
    source: "synthetic",
    root: "data/cache/synthetic",
    classes: ["with_mask", "without_mask"],
    size: 64,
    fit: "fill",
    images: 2785,
    total: { train: 1948, val: 417, test: 419 },
    counts: {
      train: { with_mask: 964, without_mask: 984 },
      val: { with_mask: 206, without_mask: 211 },
      test: { with_mask: 207, without_mask: 212 },
    },
    skipped: [{ path: "with_mask/broken.png", reason: "truncated PNG" }],
  };
}

/** A results.json with two trained models, fetch done, compress not implemented, export/bench absent. */
export function fakeResults(): Results {
  return {
    profile: "quick",
    generated_at: "2026-11-23T03:00:00.000Z",
    pipeline_file: "pipeline.yaml",
    pipeline_sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    seed: 42,
    task: "classification",
    stages: {
      fetch: {
        status: "done",
        seconds: 3.2,
        summary: { ...dataset(), decoded: 2784, from_cache: 0, skipped: 1, skipped_files: dataset().skipped },
      },
      train: { status: "done", seconds: 250.8, summary: { models: 2 } },
      compress: { status: "not_implemented" },
    },
    models: {
      teacher: model("baseline", [93954, 94402], 0.975, 1),
      small: model("distillation", [6210, 6322], 0.9625, 0.8),
    },
    rows: [],
    extra: { fetch: { dataset: dataset() } },
  };
}

/** Log lines a test context collected. */
export interface Collected {
  info: string[];
  warn: string[];
}

/** A stage context over temp folders, with a collecting logger and a no-op progress. */
export function makeContext<P>(params: P, artifactsDir: string, outDir: string): {
  ctx: StageContext<P>;
  logs: Collected;
} {
  const logs: Collected = { info: [], warn: [] };
  const ctx: StageContext<P> = {
    name: "report",
    profile: "quick",
    params,
    seed: 42,
    root: Deno.cwd(),
    outDir,
    depDirs: {},
    artifactsDir,
    cacheDir: artifactsDir,
    log: { info: (m) => logs.info.push(m), warn: (m) => logs.warn.push(m) },
    progress: () => ({ tick() {}, done() {} }),
  };
  return { ctx, logs };
}

const created: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of created) Deno.removeSync(dir, { recursive: true });
});

/** results.json as the runner writes it: the header, and each view as its task's track. */
export function onDisk(...views: Results[]): ResultsOnDisk {
  const { task: _t, stage_names: _s, models: _m, rows: _r, extra: _e, ...header } = views[0];
  const tracks = Object.fromEntries(
    views.map((v) => [v.task, { task: v.task, stage_names: v.stage_names, models: v.models, rows: v.rows, extra: v.extra }]),
  );
  return { ...header, tracks };
}

/** Write `results` (one track's view, or several) into a fresh temp artifacts folder; returns it with a fresh out folder. */
export async function tempDirs(results?: Results | Results[]): Promise<{ artifacts: string; out: string }> {
  const artifacts = await Deno.makeTempDir({ prefix: "edgeslim-report-art-" });
  const out = await Deno.makeTempDir({ prefix: "edgeslim-report-out-" });
  created.push(artifacts, out);
  if (results) {
    const file = onDisk(...(Array.isArray(results) ? results : [results]));
    await Deno.writeTextFile(`${artifacts}/results.json`, JSON.stringify(file, null, 2));
  }
  return { artifacts, out };
}

/** One compress-stage row (facts, no latency). */
function factRow(
  variant: string,
  technique: string,
  params: number,
  zero: number,
  flops: number,
  acc: number,
  extra = {},
) {
  return {
    variant,
    technique,
    params_total: params,
    params_zero: zero,
    params_nonzero: params - zero,
    flops,
    size_bytes: params * 4 + 7000,
    accuracy: acc,
    ...extra,
    runtime: "tfjs-wasm",
    format: "tfjs",
    device: "local",
  };
}

/** One bench row of `variant` in `format` with mean latency `ms`. */
function benchRow(
  variant: string,
  technique: string,
  format: string,
  ms: number,
  acc: number,
  flops: number,
) {
  return {
    variant,
    technique,
    params_total: 1000,
    flops,
    size_bytes: 50_000,
    accuracy: acc,
    latency_ms_mean: ms,
    latency_ms_p50: ms,
    fps: 1000 / ms,
    runtime: format === "tfjs" ? "tfjs-wasm" : "onnxruntime-node",
    format,
    device: "local",
    threads: 1,
    runs: 30,
    predicted_speedup: 80e6 / flops,
    measured_speedup: 1.2 / ms,
  };
}

/** fakeResults() with every stage done: compress variants, exports and bench rows on one device. */
export function fullResults(): Results {
  const r = fakeResults();
  r.stages.compress = { status: "done", seconds: 100, summary: {} };
  r.stages.export = { status: "done", seconds: 10, summary: {} };
  r.stages.bench = { status: "done", seconds: 20, summary: {} };
  r.models = {
    teacher: model("baseline", [93954, 94402], 0.975, 1),
    small_alone: model("baseline", [6210, 6322], 0.94, 0.8),
    small_kd: model("distillation", [6210, 6322], 0.9625, 0.8),
    teacher_p50: model("pruning", [23938, 24100], 0.955, 0.9),
    teacher_s80: model("unstructured", [93954, 94402], 0.97, 0.9),
  };
  const variants: [string, string, number, number, number, number, Record<string, unknown>][] = [
    ["teacher", "baseline", 93954, 0, 80e6, 0.975, {}],
    ["small_alone", "baseline", 6210, 0, 6e6, 0.94, { student: "small" }],
    ["small_kd", "distillation", 6210, 0, 6e6, 0.9625, { student: "small", temperature: 4, alpha: 0.7 }],
    ["teacher_p50", "pruning", 23938, 0, 20e6, 0.955, {
      prune_ratio: 0.5,
      channels: [16, 32, 64],
      accuracy_pruned: 0.79,
      accuracy_recalibrated: 0.8125,
      test_only_teacher_right: 3,
      test_only_variant_right: 1,
      mcnemar_p: 0.625,
    }],
    ["teacher_s80", "unstructured", 93954, 75163, 80e6, 0.97, { sparsity: 0.8 }],
  ];
  const latency: Record<string, number> = {
    teacher: 1.2,
    small_alone: 0.15,
    small_kd: 0.15,
    teacher_p50: 0.4,
    teacher_s80: 1.19,
  };
  r.rows = [
    ...variants.map(([v, tq, p, z, f, a, e]) => factRow(v, tq, p, z, f, a, e)),
    ...variants.flatMap(([v, tq, , , f, a]) =>
      ["onnx-fp32", "onnx-int8"].map((fmt, i) =>
        benchRow(v, tq, fmt, latency[v] * (1 - 0.3 * i), a - 0.01 * i, f)
      )
    ),
  ];
  r.extra = {
    ...r.extra,
    export: {
      exports: Object.fromEntries(variants.map(([v]) => [v, {
        formats: {
          "onnx-fp32": { size_bytes: 380_000, max_abs_diff_vs_tfjs: 2e-6 },
          "onnx-int8": { size_bytes: 110_000 },
        },
      }])),
    },
    compress: { comparison: { test_images: 400, points_per_image: 0.25 } },
    bench: { machine: { cpu: "Test CPU", cores: 2, ram_bytes: 2 ** 34, os: "Linux", deno: "2.9.6" } },
  };
  return r;
}

/** A fetch out folder with `n` 4×4 test images (dataset.json + test.u8). */
export async function fakeFetchDir(n = 4): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "edgeslim-report-fetch-" });
  created.push(dir);
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const split = { file: "test.u8", count: n, labels };
  await Deno.writeTextFile(
    `${dir}/dataset.json`,
    JSON.stringify({ classes: ["with_mask", "without_mask"], size: 4, splits: { test: split } }),
  );
  await Deno.writeFile(`${dir}/test.u8`, Uint8Array.from({ length: n * 48 }, (_, i) => (i * 37) % 256));
  return dir;
}
