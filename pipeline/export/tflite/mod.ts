/**
 * TFLite export: a tfjs-layers model → .tflite bytes, fp32, fp16 weights or full-integer int8.
 *
 * The graph is ours (`graph.ts`, an emitter per layer kind); the bytes are written with the
 * `flatbuffers` library through bindings generated from TFLite's schema (`schema.fbs`). Input
 * `input`, float32 NHWC [1, H, W, 3] in [0, 1] (pixel / 255), batch 1 as TFLite runtimes use it;
 * outputs `logits` and `probs` (classifier) or `output` (U-Net mask, sigmoid), all float32 in
 * every format (int8 quantizes and dequantizes at the ends unless `io: "int8"`).
 */
import type * as tf from "@tensorflow/tfjs";
import { tfjsToTflite, type TfliteConvertOptions, type TfliteGraph } from "./graph.ts";
import { calibrate, type Int8Options, quantizeInt8, toFloat16Weights } from "./quantize.ts";
import { encodeTflite } from "./write.ts";

export { tfjsToTflite } from "./graph.ts";
export type { TfliteGraph, TfliteOp, TfliteTensor } from "./graph.ts";
export { calibrate, quantizeInt8, toFloat16Weights } from "./quantize.ts";
export { runReference } from "./reference.ts";
export { encodeTflite } from "./write.ts";
export { runLiteRt } from "./litert.ts";
export { armnnAvailable, runArmnn } from "./armnn.ts";

export const TFLITE_FORMATS = ["tflite-fp32", "tflite-fp16", "tflite-int8"] as const;
export type TfliteFormat = typeof TFLITE_FORMATS[number];

export interface TfliteExportOptions extends TfliteConvertOptions, Int8Options {
  /**
   * int8 only: NHWC float images in [0, 1] whose activation ranges set the int8 parameters, min/max
   * or the `percentile` range of each tensor.
   */
  calibration?: { images: Float32Array; count: number; percentile?: number };
}

/**
 * Export `model` to one TFLite format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { exportTflite } from "./mod.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * const fp32 = exportTflite(model, "tflite-fp32");
 * const calibration = { images: new Float32Array(8), count: 2 };
 * const int8 = exportTflite(model, "tflite-int8", { calibration });
 * assert(int8.bytes.length < fp32.bytes.length + 1024);
 * ```
 */
export function exportTflite(
  model: tf.LayersModel,
  format: TfliteFormat,
  options: TfliteExportOptions = {},
): { bytes: Uint8Array; graph: TfliteGraph } {
  const fp32 = tfjsToTflite(model, options);
  let graph = fp32;
  if (format === "tflite-fp16") graph = toFloat16Weights(fp32);
  if (format === "tflite-int8") {
    const cal = options.calibration;
    if (!cal || cal.count < 1) throw new Error(`TFLite export: "tflite-int8" needs calibration images`);
    graph = quantizeInt8(
      fp32,
      calibrate(fp32, cal.images, cal.count, { percentile: cal.percentile }),
      options,
    );
  }
  graph.metadata.format = format;
  return { bytes: encodeTflite(graph), graph };
}
