/** Shared fake results.json and stage context for the report tests (not a test file itself). */
import type { StageContext } from "../pipeline/core/types.ts";
import type { Results, ResultsOnDisk } from "../pipeline/stages/parts.ts";
import type { EpochRecord, ModelRecord } from "../pipeline/tasks/classification_records.ts";
import type { SegModel, SegRow, SegTrack } from "../pipeline/report/segmentation_data.ts";

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

/** One track's view, of either task. */
export type AnyView = Results | SegTrack;

/** results.json as the runner writes it: the header (stages of every view), and each view as its task's track. */
export function onDisk(...views: AnyView[]): ResultsOnDisk {
  const { task: _t, stage_names: _s, models: _m, rows: _r, extra: _e, ...header } = views[0];
  const stages = Object.assign({}, ...views.map((v) => v.stages));
  const tracks = Object.fromEntries(
    views.map((
      v,
    ) => [v.task, {
      task: v.task,
      stage_names: v.stage_names,
      models: v.models,
      rows: v.rows,
      extra: v.extra,
    }]),
  );
  return { ...header, stages, tracks } as unknown as ResultsOnDisk;
}

/** Write `results` (one track's view, or several) into a fresh temp artifacts folder; returns it with a fresh out folder. */
export async function tempDirs(results?: AnyView | AnyView[]): Promise<{ artifacts: string; out: string }> {
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

/** The segmentation track's variants: technique, params (total, zero), FLOPs, test Dice, latency on local onnx-fp32 (ms). */
const SEG_VARIANTS: [string, string, number, number, number, number, number, Record<string, unknown>][] = [
  ["unet_standard", "reference", 1_925_601, 0, 1_572_864_000, 0.8123, 21.4, {}],
  ["unet_depthwise", "depthwise_separable", 380_764, 0, 344_064_000, 0.8012, 9.8, {}],
  ["unet_half", "width_0.5", 482_033, 0, 394_000_000, 0.7954, 7.2, {}],
  ["unet_shallow", "shallower", 466_529, 0, 1_180_000_000, 0.7705, 15.1, {}],
  ["unet_bilinear", "bilinear_up", 1_796_577, 0, 1_300_000_000, 0.8040, 18.9, {}],
  ["unet_lowres", "low_resolution", 1_925_601, 0, 393_000_000, 0.7421, 5.6, { input_size: 32 }],
  ["unet_small", "baseline", 120_825, 0, 99_000_000, 0.7315, 2.3, { student: "unet_small" }],
  ["unet_small_kd", "distillation", 120_825, 0, 99_000_000, 0.7489, 2.3, {
    student: "unet_small",
    alpha: 0.5,
  }],
  ["unet_standard_p50", "pruning", 482_033, 0, 394_000_000, 0.7905, 7.0, { prune_ratio: 0.5 }],
  ["unet_standard_s80", "unstructured", 1_925_601, 1_540_481, 1_572_864_000, 0.8101, 21.3, { sparsity: 0.8 }],
];

/** Latency of a format relative to onnx-fp32, and its Dice offset (export stage's, on the test split). */
const SEG_FORMATS: Record<string, { ms: number; dice: number; bytes: (p: number) => number }> = {
  "tfjs": { ms: 3, dice: 0, bytes: (p) => p * 4 + 9_000 },
  "onnx-fp32": { ms: 1, dice: -0.0001, bytes: (p) => p * 4 + 2_000 },
  "onnx-fp16": { ms: 1.1, dice: -0.0002, bytes: (p) => p * 2 + 2_000 },
  "onnx-int8": { ms: 0.6, dice: -0.015, bytes: (p) => p + 3_000 },
  "tflite-fp32": { ms: 1.2, dice: -0.0001, bytes: (p) => p * 4 + 1_500 },
};

function segModel(technique: string, params: number, dice: number, inputSize: number): SegModel {
  return {
    technique,
    spec: { filters: [32, 64, 128, 256], conv: "standard" },
    input_size: inputSize,
    params_tfjs: params,
    history: [1, 2, 3].map((epoch) => ({
      epoch,
      train_loss: 1.2 - 0.2 * epoch,
      train_dice: dice - 0.3 + 0.1 * epoch,
      val_loss: 1.9 - dice - 0.2 * epoch,
      val_dice: dice - 0.32 + 0.1 * epoch,
      val_iou: dice - 0.4 + 0.1 * epoch,
      seconds: 4 + epoch,
    })),
    best_epoch: 3,
    stopped_early: false,
    train_seconds: 14.5,
    test: { dice, iou: dice - 0.12, pixel_accuracy: 0.95, soft_dice: dice - 0.02, loss: 1.1 - dice },
    checkpoint: "x/model/model.json",
  };
}

/**
 * A segmentation track as the seg_* stages write it: 10 U-Net variants (train + compress rows and
 * models), exports in five formats, bench rows on "local" (4 formats, 1 thread) and "rpi4" (onnx-fp32 /
 * onnx-int8 at 1 and 4 threads, no Dice there), recorded masks for 3 variants, the 2,047,647 search.
 */
export function fakeSegmentationResults(): SegTrack {
  const rows: SegRow[] = SEG_VARIANTS.map(([variant, technique, params, zero, flops, dice, , extra]) => ({
    variant,
    technique,
    params_total: params,
    params_zero: zero,
    params_nonzero: params - zero,
    weight_bytes: params * 4,
    flops,
    dice,
    iou: dice - 0.12,
    pixel_accuracy: 0.95,
    soft_dice: dice - 0.02,
    loss: Number((1.1 - dice).toFixed(4)),
    train_seconds: 14.5,
    input_size: 64,
    runtime: "tfjs",
    device: "local",
    ...extra,
  }));
  const bench = (
    variant: string,
    technique: string,
    format: string,
    device: string,
    threads: number,
    ms: number,
  ) => ({
    variant,
    technique,
    format,
    runtime: format === "tfjs" ? "tfjs-wasm" : "onnxruntime-node",
    device,
    threads,
    latency_ms_mean: ms,
    latency_ms_p50: ms,
    latency_ms_p90: ms * 1.1,
    fps: 1000 / ms,
    runs: 30,
    batch: 1,
    execution_provider: "cpu",
  });
  for (const [variant, technique, , , , dice, ms] of SEG_VARIANTS) {
    for (const format of ["tfjs", "onnx-fp32", "onnx-fp16", "onnx-int8"]) {
      rows.push({
        ...bench(variant, technique, format, "local", 1, ms * SEG_FORMATS[format].ms),
        dice: dice + SEG_FORMATS[format].dice,
      });
    }
    for (const format of ["onnx-fp32", "onnx-int8"]) {
      for (const threads of [4, 1]) {
        rows.push(
          bench(variant, technique, format, "rpi4", threads, ms * SEG_FORMATS[format].ms * 6 / threads),
        );
      }
    }
  }
  const models = Object.fromEntries(
    SEG_VARIANTS.map(([v, tq, p, , , d, , e]) => [v, segModel(tq, p, d, (e.input_size as number) ?? 64)]),
  );
  const exports = Object.fromEntries(SEG_VARIANTS.map(([v, , p, , , d]) => [v, {
    formats: Object.fromEntries(
      Object.entries(SEG_FORMATS).map(([f, x]) => [f, {
        size_bytes: x.bytes(p),
        gzip_bytes: Math.round(x.bytes(p) * 0.9),
        ...(f === "tfjs" ? {} : { dice: Number((d + x.dice).toFixed(4)) }),
        // The export stage's other metrics: top-level for ONNX here, as test_metrics / test_loss for TFLite.
        ...(f.startsWith("onnx")
          ? { iou: Number((d - 0.12).toFixed(4)), loss: Number((1.1 - d).toFixed(4)) }
          : {}),
        ...(f.startsWith("tflite")
          ? {
            test_metrics: { dice: Number((d + x.dice).toFixed(4)), iou: 0.5 },
            test_loss: Number((1.2 - d).toFixed(4)),
          }
          : {}),
      }]),
    ),
  }]));
  const masks = (file: string) => ({ file: `predictions/${file}.bin`, count: 4, size: 8 });
  const done = (seconds: number) => ({ status: "done" as const, seconds, summary: {} });
  return {
    profile: "quick",
    generated_at: "2026-11-23T03:00:00.000Z",
    pipeline_file: "pipeline.yaml",
    pipeline_sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    seed: 42,
    task: "segmentation",
    stages: {
      seg_fetch: done(2.1),
      seg_train: done(61.2),
      seg_compress: done(48.9),
      seg_export: done(33.4),
      seg_bench: done(20.5),
    },
    stage_names: {
      fetch: "seg_fetch",
      train: "seg_train",
      compress: "seg_compress",
      export: "seg_export",
      bench: "seg_bench",
    },
    models,
    rows,
    extra: {
      fetch: {
        dataset: {
          source: "synthetic",
          task: "segmentation",
          size: 64,
          images: 400,
          total: { train: 280, val: 60, test: 60 },
        },
      },
      train: {
        predictions: {
          unet_standard: masks("unet_standard"),
          unet_depthwise: masks("unet_depthwise"),
          unet_half: masks("unet_half"),
        },
        param_search: {
          target: 2_047_647,
          found: [],
          nearest: [
            {
              description: "32-64-128-256, standard, 2 conv/level, BN 4/ch, transpose-2",
              params: 2_049_441,
              delta: 1_794,
            },
            {
              description: "24-48-96-192-384, standard, 2 conv/level, no BN, transpose-2",
              params: 2_043_817,
              delta: -3_830,
            },
          ],
          searched: 69_984,
          space: "first width 8/16/24/32/48/64 doubling over 2–5 levels plus a bottleneck",
        },
      },
      compress: {
        predictions: { unet_small_kd: masks("unet_small_kd") },
        comparison: {
          teacher_dice: 0.8123,
          students: {
            unet_small: { alone: 0.7315, distillation: 0.7489, delta_points: 1.74, winner: "distillation" },
          },
          points_vs_teacher: { unet_small_kd: -6.34 },
        },
      },
      export: { exports },
      bench: { machine: { cpu: "Test CPU", cores: 2 }, devices: { rpi4: { status: "ok" } } },
    },
  };
}

/**
 * Out folders of the segmentation stages for fakeSegmentationResults(): seg_fetch with `n` 8×8 test
 * images and masks (a 4×4 square), seg_train and seg_compress with the recorded masks (the square
 * shifted by one pixel per variant). Keyed by stage name, as the runner passes them to the report.
 */
export async function fakeSegmentationDirs(n = 4): Promise<Record<string, string>> {
  const size = 8, per = size * size;
  const dir = async (name: string) => {
    const d = await Deno.makeTempDir({ prefix: `edgeslim-report-${name}-` });
    created.push(d);
    return d;
  };
  const square = (shift: number) =>
    Uint8Array.from({ length: n * per }, (_, i) => {
      const x = i % size, y = Math.floor(i / size) % size;
      return x >= 2 + shift && x < 6 + shift && y >= 2 && y < 6 ? 1 : 0;
    });
  const fetch = await dir("seg-fetch");
  const test = { file: "test.u8", count: n, labels: [], masks: "test_masks.bin" };
  await Deno.writeTextFile(
    `${fetch}/dataset.json`,
    JSON.stringify({ task: "segmentation", classes: ["background", "foreground"], size, splits: { test } }),
  );
  await Deno.writeFile(
    `${fetch}/test.u8`,
    Uint8Array.from({ length: n * per * 3 }, (_, i) => (i * 29) % 200),
  );
  await Deno.writeFile(`${fetch}/test_masks.bin`, square(0));
  const out: Record<string, string> = { seg_fetch: fetch };
  const stages: [string, string[]][] = [
    ["seg_train", ["unet_standard", "unet_depthwise", "unet_half"]],
    ["seg_compress", ["unet_small_kd"]],
  ];
  let shift = 0;
  for (const [stage, variants] of stages) {
    const d = await dir(stage);
    await Deno.mkdir(`${d}/predictions`);
    for (const v of variants) {
      const s = Math.min(2, shift++);
      await Deno.writeFile(`${d}/predictions/${v}.bin`, square(s).map((b) => b * 255));
    }
    out[stage] = d;
  }
  return out;
}
