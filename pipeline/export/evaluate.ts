/**
 * Classifier outputs through onnxruntime and tfjs on a data split, for parity, calibration and
 * accuracy. Images are NHWC bytes; they are scaled to [0, 1] like the training data.
 */
import * as tf from "@tensorflow/tfjs";
import type * as ort from "onnxruntime-node";
import { type DatasetSplit, toFloatBatch } from "../data/dataset.ts";
import { runBatch, toNchw } from "./ort.ts";

/** First `count` images of a split as one float batch. */
export function firstImages(split: DatasetSplit, count: number, size: number): Float32Array {
  const n = Math.min(count, split.count);
  return toFloatBatch(split.images, Array.from({ length: n }, (_, i) => i), size);
}

/** The model's first output for `n` NHWC float images, batched; NCHW models get a transposed copy. */
export async function onnxOutputs(
  session: ort.InferenceSession,
  images: Float32Array,
  n: number,
  size: number,
  layout: "NHWC" | "NCHW",
  batch = 32,
): Promise<Float32Array> {
  const per = size * size * 3, parts: Float32Array[] = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    let x = images.subarray(i * per, (i + m) * per);
    if (layout === "NCHW") x = toNchw(x, m, size, size, 3);
    const dims = layout === "NHWC" ? [m, size, size, 3] : [m, 3, size, size];
    parts.push((await runBatch(session, x, dims))[session.outputNames[0]]);
  }
  return concat(parts);
}

/** tfjs model outputs for `n` NHWC float images, batched. */
export function tfjsOutputs(
  model: tf.LayersModel,
  images: Float32Array,
  n: number,
  size: number,
  batch = 32,
) {
  const per = size * size * 3, parts: Float32Array[] = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const y = tf.tidy(() =>
      (model.predict(tf.tensor4d(images.subarray(i * per, (i + m) * per), [m, size, size, 3])) as tf.Tensor)
        .dataSync() as Float32Array
    );
    parts.push(y);
  }
  return concat(parts);
}

/** Index of the largest of each row of `classes` values. */
export function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(values.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[i * classes + c] > values[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Fraction of equal entries. */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) same += Number(a[i] === b[i]);
  return a.length ? same / a.length : 0;
}

/** Largest absolute difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
