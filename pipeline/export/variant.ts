/**
 * Export one tfjs model to every requested format, check fp32 parity against tfjs, calibrate and
 * pick the int8 model, and score every format on the test split through its runtime and the task
 * (classification: accuracy; segmentation: Dice, IoU, pixel accuracy, soft Dice and the combined
 * loss, at the data set's side).
 */
import * as tf from "@tensorflow/tfjs";
import { gzipSync } from "fflate";
import { join } from "node:path";
import type { Dataset } from "../data/dataset.ts";
import { maxAbsDiff, onnxOutputs, tfjsOutputs } from "./evaluate.ts";
import { tfjsToOnnx } from "./onnx_graph.ts";
import { encodeModel, type OnnxGraph } from "./onnx_model.ts";
import { createSession, type ort, toNchw } from "./ort.ts";
import {
  activationTargets,
  calibrate,
  type CalibrationMethod,
  quantizeQdq,
  type Range,
  toFloat16,
} from "./quantize.ts";
import { INT16_MAX, pairBound } from "./int8_reference.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { exportTflite, runLiteRt, TFLITE_FORMATS } from "./tflite/mod.ts";
import {
  type AnyTask,
  type MetricInfo,
  type PrimaryFields,
  primaryFields,
  type Scored,
  taskByName,
} from "../tasks/mod.ts";
import { type ModelShapes, primaryValue, splitImages, splitScorer } from "./task_eval.ts";

export const FORMATS = ["tfjs", "onnx-fp32", "onnx-fp16", "onnx-int8", ...TFLITE_FORMATS] as const;
export type Format = typeof FORMATS[number];

/**
 * One written file (or folder for tfjs), paths relative to the export stage's out folder. The
 * task's primary metric on the test split through this format's runtime is the field named after
 * it (`accuracy`, `dice`: read it with `primaryOf`).
 */
export interface FormatRecord extends PrimaryFields {
  path: string;
  size_bytes: number;
  /** Size after gzip (fflate, level 9): what a download or an OTA update moves. */
  gzip_bytes: number;
  /** Max |onnxruntime − tfjs| over the parity images' first output. */
  max_abs_diff_vs_tfjs?: number;
  /**
   * Agreement with the fp32 ONNX model on the test split: the task's primary metric against its
   * hard predictions (classification: top-1 agreement; segmentation: Dice of the two masks).
   */
  agreement_vs_fp32?: number;
  /** Tasks other than classification: every metric of the task on the test split (at the data set's side). */
  test_metrics?: Record<string, number>;
  /** Tasks other than classification: the task's test-split loss (segmentation: BCE + 1 − soft Dice). */
  test_loss?: number;
  /** Set when the scores cover only the first `test_images` test images (TFLite with `litertImages`). */
  test_images?: number;
  /** int8 only: the calibration candidate of this file (`minmax`, `percentile`, `percentile-99.9`). */
  calibration?: string;
}

/** An int8 candidate's val-split fields, named after the task's primary metric (`val_accuracy`, `val_dice`). */
type ValFields =
  & { [K in keyof PrimaryFields as `val_${K}`]?: number }
  & { [K in keyof PrimaryFields as `fake_quant_val_${K}`]?: number };

/**
 * `val_<primary>`: the task's primary metric on the val split through onnxruntime's int8 kernels
 * on this machine (informative only). `fake_quant_val_<primary>`: the same for the QDQ graph run
 * by float kernels (onnxruntime, optimizations off): the int8 arithmetic without any int8 kernel,
 * the same on every CPU. The pick uses it.
 */
export interface Int8Candidate extends FormatRecord, ValFields {
  /** Set when the val scores cover only the first `val_images` val images (`pick_images`). */
  val_images?: number;
  /** Largest int16 pair sum any input can produce (≤ 32767: no x86 u8s8 saturation possible). */
  int16_pair_bound?: number;
}

export interface VariantExport {
  formats: Partial<Record<Format, FormatRecord>>;
  /** Every int8 calibration written, by candidate name; `formats["onnx-int8"]` is the one picked. */
  int8_candidates: Record<string, Int8Candidate>;
  /** The candidate picked as "onnx-int8" and why (CPU-independent criteria only). */
  int8_pick?: { method: string; reason: string };
}

export interface ExportOptions {
  /** Folder of the saved tfjs model (model.json + weights.bin), copied as the tfjs format. */
  checkpointDir: string;
  /** Stage out folder; files go to `<outDir>/<name>/`. */
  outDir: string;
  name: string;
  formats: readonly Format[];
  layout: "nhwc" | "nchw";
  probs: boolean;
  /** The task that scores the outputs. @default classification */
  task?: AnyTask;
  /** Data set for parity, calibration and scores; random images when absent or not fitting the model. */
  data?: Dataset;
  parityImages: number;
  /** At most this many test images scored per TFLite file (LiteRT.js, one at a time). @default all */
  litertImages?: number;
  /** Largest allowed fp32 |onnxruntime − tfjs|; a larger one throws. */
  tolerance: number;
  calibration: {
    images: number;
    methods: CalibrationMethod[];
    /** One value, or several: a percentile candidate each. */
    percentile: number | number[];
    activations: "uint8" | "int8";
    /** Weight bits of every int8 layer but the first (7: onnxruntime's reduce_range). */
    weight_bits: 7 | 8;
    /** Bits of the image input's codes (7 lets the first conv keep 8-bit weights). */
    input_bits: 7 | 8;
    /** At most this many val images score each int8 candidate (default: the whole val split). */
    pick_images?: number;
  };
  /**
   * Which calibration becomes "onnx-int8": a method, or "auto": among the candidates that cannot
   * saturate (`int16_pair_bound` ≤ 32767), the best `fake_quant_val_<primary metric>`.
   */
  int8Pick: CalibrationMethod | "auto";
  metadata: Record<string, string>;
  /** Seed for the random images used when there is no matching data set. */
  seed: number;
}

/**
 * Export `model` (already loaded, weights as in `checkpointDir`) to the requested formats.
 */
export async function exportVariant(model: tf.LayersModel, o: ExportOptions): Promise<VariantExport> {
  const dir = join(o.outDir, o.name);
  await Deno.mkdir(dir, { recursive: true });
  const result: VariantExport = { formats: {}, int8_candidates: {} };
  const task = o.task ?? taskByName("classification");
  const [h, w, c] = (model.inputs[0].shape as number[]).slice(1);
  const size = h;
  const shapes: ModelShapes = {
    input: [h, w, c],
    output: (model.outputs[0].shape as number[]).slice(1),
  };
  const layout = o.layout === "nhwc" ? "NHWC" : "NCHW";

  if (o.formats.includes("tfjs")) {
    await Deno.mkdir(join(dir, "tfjs"), { recursive: true });
    let raw = 0, gz = 0;
    for (const f of ["model.json", "weights.bin"]) {
      const bytes = await Deno.readFile(join(o.checkpointDir, f));
      await writeFileAtomic(join(dir, "tfjs", f), bytes);
      raw += bytes.length;
      gz += gzipSync(bytes, { level: 9 }).length;
    }
    result.formats.tfjs = { path: join(o.name, "tfjs"), size_bytes: raw, gzip_bytes: gz };
  }
  if (!o.formats.some((f) => f !== "tfjs")) return result;

  const graph = tfjsToOnnx(model, {
    layout: o.layout,
    probs: o.probs,
    metadata: { ...o.metadata, input_size: `${h}x${w}x${c}` },
  });
  // Images: the test split (parity, scores), the train split (calibration), val (int8 pick).
  const rand = (n: number, seed: number) =>
    tf.tidy(() => tf.randomUniform([n, h, w, c], 0, 1, "float32", seed).dataSync() as Float32Array);
  const images = (split: "train" | "val" | "test", n: number) => splitImages(task, o.data, split, n, shapes);
  const fits = images("test", 1) !== undefined;
  const parityN = fits ? Math.min(o.parityImages, o.data!.splits.test.count) : o.parityImages;
  const parityX = images("test", parityN) ?? rand(parityN, o.seed);
  const reference = tfjsOutputs(model, parityX, parityN, size);
  const test = splitScorer(task, o.data, "test", Infinity, shapes);
  const testX = test ? images("test", test.count)! : new Float32Array(0);
  const val = splitScorer(task, o.data, "val", o.calibration.pick_images ?? Infinity, shapes);
  const valX = val ? images("val", val.count)! : new Float32Array(0);
  const calN = fits ? Math.min(o.calibration.images, o.data!.splits.train.count) : o.calibration.images;
  // The train split is already shuffled by fetch: its first images are a fair calibration set.
  const calX = () => images("train", calN) ?? rand(calN, o.seed + 1);

  /** Write one ONNX graph and measure it. */
  const write = async (g: OnnxGraph, file: string, format: Format) => {
    const bytes = encodeModel({ ...g, metadata: { ...g.metadata, format } });
    await writeFileAtomic(join(dir, file), bytes);
    const session = await createSession(bytes);
    const record: Int8Candidate = {
      path: join(o.name, file),
      size_bytes: bytes.length,
      gzip_bytes: gzipSync(bytes, { level: 9 }).length,
      max_abs_diff_vs_tfjs: maxAbsDiff(await onnxOutputs(session, parityX, parityN, size, layout), reference),
    };
    let outputs: Float32Array | undefined;
    if (test) {
      outputs = await onnxOutputs(session, testX, test.count, size, layout);
      Object.assign(record, testFields(task, test.score(outputs)));
    }
    if (val && format === "onnx-int8") {
      const valScore = (s: ort.InferenceSession) => onnxOutputs(s, valX, val.count, size, layout);
      const fake = await createSession(bytes, { optimization: "disabled" });
      Object.assign(record, {
        [`val_${task.primary.name}`]: primaryValue(task, val.score(await valScore(session))),
        [`fake_quant_val_${task.primary.name}`]: primaryValue(task, val.score(await valScore(fake))),
        ...(val.count < o.data!.splits.val.count ? { val_images: val.count } : {}),
      });
      await fake.release();
    }
    if (format === "onnx-int8") {
      record.int16_pair_bound = Math.max(
        0,
        ...pairBound(g).map((b) => b.anyPairing),
      );
    }
    await session.release();
    return { record, outputs };
  };

  const fp32 = await write(graph, "model.fp32.onnx", "onnx-fp32");
  const diff = fp32.record.max_abs_diff_vs_tfjs!;
  if (!(diff <= o.tolerance)) {
    throw new Error(`export "${o.name}": onnxruntime fp32 differs from tfjs by ${diff} (> ${o.tolerance})`);
  }
  if (o.formats.includes("onnx-fp32")) result.formats["onnx-fp32"] = fp32.record;
  const vsFp32 = (y?: Float32Array) =>
    y && fp32.outputs && test ? test.agreement(y, fp32.outputs) : undefined;

  if (o.formats.includes("onnx-fp16")) {
    const fp16 = await write(toFloat16(graph), "model.fp16.onnx", "onnx-fp16");
    result.formats["onnx-fp16"] = { ...fp16.record, agreement_vs_fp32: vsFp32(fp16.outputs) };
  }

  if (o.formats.includes("onnx-int8")) {
    const targets = activationTargets(graph);
    const dims = o.layout === "nhwc" ? [h, w, c] : [c, h, w];
    const calImages = calX();
    const calInput = layout === "NCHW" ? toNchw(calImages, calN, h, w, c) : calImages;
    // The percentile method's first pass is the minmax calibration: run it once for all.
    let minmax: Map<string, Range> | undefined;
    for (const { name, method, percentile } of calibrationCandidates(o.calibration)) {
      minmax ??= await calibrate(graph, targets, calInput, calN, dims, { method: "minmax" });
      const ranges = method === "minmax"
        ? minmax
        : await calibrate(graph, targets, calInput, calN, dims, { method, percentile, minmax });
      const q = quantizeQdq(graph, ranges, {
        activations: o.calibration.activations,
        weightBits: o.calibration.weight_bits,
        inputBits: o.calibration.input_bits,
      });
      q.metadata.calibration = `${method}${percentile ? ` ${percentile}` : ""} on ${calN} ${
        fits ? "training" : "random"
      } images`;
      const int8 = await write(q, `model.int8-${name}.onnx`, "onnx-int8");
      result.int8_candidates[name] = {
        ...int8.record,
        calibration: name,
        agreement_vs_fp32: vsFp32(int8.outputs),
      };
    }
    const names = Object.keys(result.int8_candidates);
    const chosen = o.int8Pick === "auto" ? undefined : names.find((n) => n.split("-")[0] === o.int8Pick);
    result.int8_pick = chosen
      ? { method: chosen, reason: "set by int8_pick" }
      : pickInt8(result.int8_candidates, names, task.primary);
    const pick = result.int8_pick?.method;
    if (pick) result.formats["onnx-int8"] = result.int8_candidates[pick];
  }

  // TFLite (for tflite-runtime / LiteRT on a Raspberry Pi): run here with LiteRT.js, one image at a time.
  // It scores the first `litertImages` test images (all by default), against fp32's outputs on those.
  const liteTest = test && o.litertImages !== undefined && o.litertImages < test.count
    ? splitScorer(task, o.data, "test", o.litertImages, shapes)
    : test;
  const first = (a: Float32Array, n: number) => a.subarray(0, a.length / test!.count * n);
  // Parity and test images go through one LiteRT.js call: it compiles the file once.
  const liteN = liteTest?.count ?? 0,
    liteX = new Float32Array(parityX.length + (liteN ? first(testX, liteN).length : 0));
  liteX.set(parityX);
  if (liteN) liteX.set(first(testX, liteN), parityX.length);
  for (const format of TFLITE_FORMATS.filter((f) => o.formats.includes(f))) {
    // int8: the clipping of the ONNX int8 pick, or the first percentile when that is min/max: in
    // TFLite's full-integer graph min/max ranges let outliers take the codes (the quick depthwise
    // U-Net: test Dice 0.4111 with min/max, 0.5263 at 99.99, where ONNX min/max gave 0.5336).
    const candidates = calibrationCandidates(o.calibration);
    const percentile = candidates.find((c) => c.name === result.int8_pick?.method)?.percentile ??
      candidates.find((c) => c.percentile !== undefined)?.percentile;
    const calibration = format === "tflite-int8" ? { images: calX(), count: calN, percentile } : undefined;
    const { bytes } = exportTflite(model, format, { probs: o.probs, metadata: o.metadata, calibration });
    const file = `model.${format.slice("tflite-".length)}.tflite`;
    await writeFileAtomic(join(dir, file), bytes);
    const y = (await runLiteRt(bytes, liteX, parityN + liteN))[0];
    const atParity = y.length / (parityN + liteN) * parityN;
    const record: FormatRecord = {
      path: join(o.name, file),
      size_bytes: bytes.length,
      gzip_bytes: gzipSync(bytes, { level: 9 }).length,
      max_abs_diff_vs_tfjs: maxAbsDiff(y.subarray(0, atParity), reference),
      ...(calibration
        ? { calibration: candidates.find((c) => c.percentile === percentile)?.name ?? "minmax" }
        : {}),
    };
    if (format === "tflite-fp32" && !(record.max_abs_diff_vs_tfjs! <= o.tolerance)) {
      throw new Error(
        `export "${o.name}": LiteRT fp32 differs from tfjs by ${record.max_abs_diff_vs_tfjs} (> ${o.tolerance})`,
      );
    }
    if (liteTest) {
      const outputs = y.slice(atParity);
      Object.assign(record, testFields(task, liteTest.score(outputs)));
      record.agreement_vs_fp32 = liteTest.agreement(outputs, first(fp32.outputs!, liteN));
      if (liteTest !== test) record.test_images = liteN;
    }
    result.formats[format] = record;
  }
  return result;
}

/**
 * The int8 candidates of a calibration setting, in order: each method, the percentile method once
 * per percentile (named `percentile-<p>` when there are several).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { calibrationCandidates } from "./variant.ts";
 * const names = calibrationCandidates({ methods: ["minmax", "percentile"], percentile: [99.99, 99.9] })
 *   .map((c) => c.name);
 * assert.deepEqual(names, ["minmax", "percentile-99.99", "percentile-99.9"]);
 * ```
 */
export function calibrationCandidates(
  c: { methods: CalibrationMethod[]; percentile: number | number[] },
): { name: string; method: CalibrationMethod; percentile?: number }[] {
  const levels = Array.isArray(c.percentile) ? c.percentile : [c.percentile];
  type Candidate = { name: string; method: CalibrationMethod; percentile?: number };
  return c.methods.flatMap((method): Candidate[] =>
    method === "minmax" ? [{ name: method, method }] : levels.map((percentile) => ({
      name: levels.length > 1 ? `${method}-${percentile}` : method,
      method,
      percentile,
    }))
  );
}

/**
 * A format's test-split fields: the task's primary metric under its own name; tasks other than
 * classification (whose records predate the task contract and keep their shape) also record
 * every metric and the loss.
 */
function testFields(task: AnyTask, s: Scored): FormatRecord | PrimaryFields {
  const primary = primaryFields(task, primaryValue(task, s));
  return task.name === "classification"
    ? primary
    : { ...primary, test_metrics: s.metrics, test_loss: s.loss };
}

/**
 * The "auto" int8 pick, on criteria that hold on every CPU: candidates whose int16 pair bound
 * rules out x86 u8s8 saturation first, then the best fake-quant val score on the task's primary
 * metric (float kernels; `fake_quant_val_accuracy`, `fake_quant_val_dice`); ties (or no labels) go
 * to the later method in the list. onnxruntime's own int8 score on this machine is not used: it
 * depends on the CPU (VNNI or not).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pickInt8 } from "./variant.ts";
 * const base = { path: "", size_bytes: 0, gzip_bytes: 0 };
 * const pick = pickInt8({
 *   minmax: { ...base, int16_pair_bound: 32640, fake_quant_val_accuracy: 0.97 },
 *   percentile: { ...base, int16_pair_bound: 64770, fake_quant_val_accuracy: 0.99 },
 * }, ["minmax", "percentile"]);
 * assert(pick?.method === "minmax"); // the other could saturate on an AVX2 CPU
 * const dice = { name: "dice", higherIsBetter: true };
 * const seg = pickInt8({
 *   minmax: { ...base, int16_pair_bound: 32640, fake_quant_val_dice: 0.81 },
 *   percentile: { ...base, int16_pair_bound: 32640, fake_quant_val_dice: 0.84 },
 * }, ["minmax", "percentile"], dice);
 * assert(seg?.method === "percentile" && seg.reason.includes("fake-quant val dice 0.8400 vs minmax 0.8100"));
 * ```
 */
export function pickInt8(
  candidates: Record<string, Int8Candidate>,
  methods: string[],
  primary: MetricInfo = { name: "accuracy", higherIsBetter: true },
): { method: string; reason: string } | undefined {
  if (methods.length === 0) return undefined;
  const safe = methods.filter((m) => (candidates[m]!.int16_pair_bound ?? Infinity) <= INT16_MAX);
  const pool = safe.length ? safe : methods;
  const key = `fake_quant_val_${primary.name}` as keyof ValFields;
  const value = (m: string) => candidates[m]![key];
  // A candidate without a score ranks last (0 for a higher-is-better metric, as before).
  const score = (m: string) => value(m) ?? (primary.higherIsBetter ? 0 : Infinity);
  const method = pool.reduce((best, m) =>
    (primary.higherIsBetter ? score(m) >= score(best) : score(m) <= score(best)) ? m : best
  );
  const others = methods.filter((m) => m !== method)
    .map((m) => `${m} ${value(m)?.toFixed(4) ?? "n/a"}`).join(", ");
  const bound = candidates[method]!.int16_pair_bound;
  const reason = `${
    safe.length ? `int16 pair bound ${bound} ≤ ${INT16_MAX}` : `every candidate may saturate (bound ${bound})`
  }, fake-quant val ${primary.name} ${value(method)?.toFixed(4) ?? "n/a"}${others ? ` vs ${others}` : ""}`;
  return { method, reason };
}
