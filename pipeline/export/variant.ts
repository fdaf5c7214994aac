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
import { writeFileAtomic } from "../core/atomic_write.ts";

export const FORMATS = ["tfjs", "onnx-fp32", "onnx-fp16", "onnx-int8"] as const;
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
  val_accuracy?: number;
}

export interface VariantExport {
  formats: Partial<Record<Format, FormatRecord>>;
  /** Every int8 calibration written; `formats["onnx-int8"]` is the one picked. */
  int8_candidates: Partial<Record<CalibrationMethod, Int8Candidate>>;
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
  };
  /** Which calibration becomes "onnx-int8": a method, or "auto" = best validation accuracy. */
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
  if (!o.formats.some((f) => f.startsWith("onnx"))) return result;

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
      const q = quantizeQdq(graph, ranges, { activations: o.calibration.activations });
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
    const pick = o.int8Pick !== "auto" && methods.includes(o.int8Pick)
      ? o.int8Pick
      // Best validation accuracy; ties (or no labels) go to the later method in the list.
      : methods.reduce((best, m) =>
        (result.int8_candidates[m]!.val_accuracy ?? 0) >= (result.int8_candidates[best]!.val_accuracy ?? 0)
          ? m
          : best
      );
    if (pick) result.formats["onnx-int8"] = result.int8_candidates[pick];
  }
  return result;
}
