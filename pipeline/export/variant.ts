/**
 * Export one tfjs model to every requested format, check fp32 parity against tfjs, calibrate and
 * pick the int8 model, and measure accuracy through onnxruntime.
 */
import * as tf from "@tensorflow/tfjs";
import { gzipSync } from "fflate";
import { join } from "node:path";
import type { Dataset } from "../data/dataset.ts";
import { agreement, argmaxRows, firstImages, maxAbsDiff, onnxOutputs, tfjsOutputs } from "./evaluate.ts";
import { tfjsToOnnx } from "./onnx_graph.ts";
import { encodeModel, type OnnxGraph } from "./onnx_model.ts";
import { createSession, toNchw } from "./ort.ts";
import { activationTargets, calibrate, type CalibrationMethod, quantizeQdq, toFloat16 } from "./quantize.ts";
import { INT16_MAX, pairBound } from "./int8_reference.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { exportTflite, runLiteRt, TFLITE_FORMATS } from "./tflite/mod.ts";

export const FORMATS = ["tfjs", "onnx-fp32", "onnx-fp16", "onnx-int8", ...TFLITE_FORMATS] as const;
export type Format = typeof FORMATS[number];

/** One written file (or folder for tfjs), paths relative to the export stage's out folder. */
export interface FormatRecord {
  path: string;
  size_bytes: number;
  /** Size after gzip (fflate, level 9): what a download or an OTA update moves. */
  gzip_bytes: number;
  /** Test-split accuracy through onnxruntime (ONNX formats; classifier with matching input). */
  accuracy?: number;
  /** Max |onnxruntime − tfjs| over the parity images' first output. */
  max_abs_diff_vs_tfjs?: number;
  /** Top-1 agreement with the fp32 ONNX model on the test split. */
  agreement_vs_fp32?: number;
  /** int8 only: calibration method of this file. */
  calibration?: CalibrationMethod;
}

export interface Int8Candidate extends FormatRecord {
  /** Val-split accuracy through onnxruntime's int8 kernels on this machine (informative only). */
  val_accuracy?: number;
  /**
   * Val-split accuracy of the same QDQ graph run by float kernels (onnxruntime, optimizations
   * off): the int8 arithmetic without any int8 kernel, the same on every CPU. The pick uses it.
   */
  fake_quant_val_accuracy?: number;
  /** Largest int16 pair sum any input can produce (≤ 32767: no x86 u8s8 saturation possible). */
  int16_pair_bound?: number;
}

export interface VariantExport {
  formats: Partial<Record<Format, FormatRecord>>;
  /** Every int8 calibration written; `formats["onnx-int8"]` is the one picked. */
  int8_candidates: Partial<Record<CalibrationMethod, Int8Candidate>>;
  /** The calibration picked as "onnx-int8" and why (CPU-independent criteria only). */
  int8_pick?: { method: CalibrationMethod; reason: string };
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
  /** Data set for parity, calibration and accuracy; random images when absent or of another size. */
  data?: Dataset;
  parityImages: number;
  /** Largest allowed fp32 |onnxruntime − tfjs|; a larger one throws. */
  tolerance: number;
  calibration: {
    images: number;
    methods: CalibrationMethod[];
    percentile: number;
    activations: "uint8" | "int8";
    /** Weight bits of every int8 layer but the first (7: onnxruntime's reduce_range). */
    weight_bits: 7 | 8;
    /** Bits of the image input's codes (7 lets the first conv keep 8-bit weights). */
    input_bits: 7 | 8;
  };
  /**
   * Which calibration becomes "onnx-int8": a method, or "auto": among the candidates that cannot
   * saturate (`int16_pair_bound` ≤ 32767), the best `fake_quant_val_accuracy`.
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
  const [h, w, c] = (model.inputs[0].shape as number[]).slice(1);
  const size = h;
  const matching = o.data && o.data.size === h && h === w && c === 3;
  const classes = (model.outputs[0].shape as number[]).length === 2 ? model.outputs[0].shape[1] as number : 0;
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
  // Images: the test split (parity, accuracy), the train split (calibration), val (int8 pick).
  const rand = (n: number, seed: number) =>
    tf.tidy(() => tf.randomUniform([n, h, w, c], 0, 1, "float32", seed).dataSync() as Float32Array);
  const parityN = matching ? Math.min(o.parityImages, o.data!.splits.test.count) : o.parityImages;
  const parityX = matching ? firstImages(o.data!.splits.test, parityN, size) : rand(parityN, o.seed);
  const reference = tfjsOutputs(model, parityX, parityN, size);
  const testN = matching && classes ? o.data!.splits.test.count : 0;
  const testX = testN ? firstImages(o.data!.splits.test, testN, size) : new Float32Array(0);
  const valN = matching && classes ? o.data!.splits.val.count : 0;
  const valX = valN ? firstImages(o.data!.splits.val, valN, size) : new Float32Array(0);

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
    let predicted: Int32Array | undefined;
    if (testN) {
      predicted = argmaxRows(await onnxOutputs(session, testX, testN, size, layout), classes);
      record.accuracy = agreement(predicted, o.data!.splits.test.labels);
    }
    if (valN && format === "onnx-int8") {
      const valPred = argmaxRows(await onnxOutputs(session, valX, valN, size, layout), classes);
      record.val_accuracy = agreement(valPred, o.data!.splits.val.labels);
      const fake = await createSession(bytes, { optimization: "disabled" });
      const fakePred = argmaxRows(await onnxOutputs(fake, valX, valN, size, layout), classes);
      record.fake_quant_val_accuracy = agreement(fakePred, o.data!.splits.val.labels);
      await fake.release();
    }
    if (format === "onnx-int8") {
      record.int16_pair_bound = Math.max(
        0,
        ...pairBound(g).map((b) => b.anyPairing),
      );
    }
    await session.release();
    return { record, predicted };
  };

  const fp32 = await write(graph, "model.fp32.onnx", "onnx-fp32");
  const diff = fp32.record.max_abs_diff_vs_tfjs!;
  if (!(diff <= o.tolerance)) {
    throw new Error(`export "${o.name}": onnxruntime fp32 differs from tfjs by ${diff} (> ${o.tolerance})`);
  }
  if (o.formats.includes("onnx-fp32")) result.formats["onnx-fp32"] = fp32.record;
  const vsFp32 = (p?: Int32Array) => p && fp32.predicted ? agreement(p, fp32.predicted) : undefined;

  if (o.formats.includes("onnx-fp16")) {
    const fp16 = await write(toFloat16(graph), "model.fp16.onnx", "onnx-fp16");
    result.formats["onnx-fp16"] = { ...fp16.record, agreement_vs_fp32: vsFp32(fp16.predicted) };
  }

  if (o.formats.includes("onnx-int8")) {
    const calN = matching ? Math.min(o.calibration.images, o.data!.splits.train.count) : o.calibration.images;
    const calX = matching
      ? firstImages(o.data!.splits.train, calN, size) // the train split is already shuffled by fetch
      : rand(calN, o.seed + 1);
    const targets = activationTargets(graph);
    const dims = o.layout === "nhwc" ? [h, w, c] : [c, h, w];
    const calInput = layout === "NCHW" ? toNchw(calX, calN, h, w, c) : calX;
    for (const method of o.calibration.methods) {
      const ranges = await calibrate(graph, targets, calInput, calN, dims, {
        method,
        percentile: o.calibration.percentile,
      });
      const q = quantizeQdq(graph, ranges, {
        activations: o.calibration.activations,
        weightBits: o.calibration.weight_bits,
        inputBits: o.calibration.input_bits,
      });
      q.metadata.calibration = `${method}${
        method === "percentile" ? ` ${o.calibration.percentile}` : ""
      } on ${calN} ${matching ? "training" : "random"} images`;
      const int8 = await write(q, `model.int8-${method}.onnx`, "onnx-int8");
      result.int8_candidates[method] = {
        ...int8.record,
        calibration: method,
        agreement_vs_fp32: vsFp32(int8.predicted),
      };
    }
    const methods = Object.keys(result.int8_candidates) as CalibrationMethod[];
    result.int8_pick = o.int8Pick !== "auto" && methods.includes(o.int8Pick)
      ? { method: o.int8Pick, reason: "set by int8_pick" }
      : pickInt8(result.int8_candidates, methods);
    const pick = result.int8_pick?.method;
    if (pick) result.formats["onnx-int8"] = result.int8_candidates[pick];
  }

  // TFLite (for tflite-runtime / LiteRT on a Raspberry Pi): run here with LiteRT.js, one image at a time.
  for (const format of TFLITE_FORMATS.filter((f) => o.formats.includes(f))) {
    const calN = matching ? Math.min(o.calibration.images, o.data!.splits.train.count) : o.calibration.images;
    const calibration = format === "tflite-int8"
      ? {
        images: matching ? firstImages(o.data!.splits.train, calN, size) : rand(calN, o.seed + 1),
        count: calN,
      }
      : undefined;
    const { bytes } = exportTflite(model, format, { probs: o.probs, metadata: o.metadata, calibration });
    const file = `model.${format.slice("tflite-".length)}.tflite`;
    await writeFileAtomic(join(dir, file), bytes);
    const record: FormatRecord = {
      path: join(o.name, file),
      size_bytes: bytes.length,
      gzip_bytes: gzipSync(bytes, { level: 9 }).length,
      max_abs_diff_vs_tfjs: maxAbsDiff((await runLiteRt(bytes, parityX, parityN))[0], reference),
    };
    if (format === "tflite-fp32" && !(record.max_abs_diff_vs_tfjs! <= o.tolerance)) {
      throw new Error(
        `export "${o.name}": LiteRT fp32 differs from tfjs by ${record.max_abs_diff_vs_tfjs} (> ${o.tolerance})`,
      );
    }
    if (testN) {
      const predicted = argmaxRows((await runLiteRt(bytes, testX, testN))[0], classes);
      record.accuracy = agreement(predicted, o.data!.splits.test.labels);
      record.agreement_vs_fp32 = vsFp32(predicted);
    }
    result.formats[format] = record;
  }
  return result;
}

/**
 * The "auto" int8 pick, on criteria that hold on every CPU: candidates whose int16 pair bound
 * rules out x86 u8s8 saturation first, then the best fake-quant val accuracy (float kernels);
 * ties (or no labels) go to the later method in the list. onnxruntime's own int8 accuracy on
 * this machine is not used: it depends on the CPU (VNNI or not).
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
 * ```
 */
export function pickInt8(
  candidates: Partial<Record<CalibrationMethod, Int8Candidate>>,
  methods: CalibrationMethod[],
): { method: CalibrationMethod; reason: string } | undefined {
  if (methods.length === 0) return undefined;
  const safe = methods.filter((m) => (candidates[m]!.int16_pair_bound ?? Infinity) <= INT16_MAX);
  const pool = safe.length ? safe : methods;
  const acc = (m: CalibrationMethod) => candidates[m]!.fake_quant_val_accuracy ?? 0;
  const method = pool.reduce((best, m) => acc(m) >= acc(best) ? m : best);
  const others = methods.filter((m) => m !== method)
    .map((m) => `${m} ${candidates[m]!.fake_quant_val_accuracy?.toFixed(4) ?? "n/a"}`).join(", ");
  const bound = candidates[method]!.int16_pair_bound;
  const reason = `${
    safe.length ? `int16 pair bound ${bound} ≤ ${INT16_MAX}` : `every candidate may saturate (bound ${bound})`
  }, fake-quant val accuracy ${candidates[method]!.fake_quant_val_accuracy?.toFixed(4) ?? "n/a"}${
    others ? ` vs ${others}` : ""
  }`;
  return { method, reason };
}
