/**
 * Run a float32 TFLite graph (as built by `tfjsToTflite`) with tfjs ops, op by op. It checks the
 * graph itself against the tfjs model before any byte is written, and gives int8 calibration the
 * value of every activation tensor (including the ones tfjs keeps inside a layer, such as the
 * depthwise half of a separable conv).
 */
import * as tf from "@tensorflow/tfjs";
import type { OpName, TfliteGraph, TfliteOp } from "./graph.ts";

/** Float semantics of op K: inputs arrive as tensors (constants too), batch `n`. */
type Run<K extends OpName> = (op: TfliteOp & { op: K }, x: tf.Tensor[], n: number) => tf.Tensor;

const pad = (p: string) => p.toLowerCase() as "same" | "valid";
const act = (y: tf.Tensor, a: string) => a === "RELU" ? tf.relu(y) : a === "RELU6" ? tf.relu6(y) : y;
const pair = (v: number[]) => [v[0], v[1]] as [number, number];

/** One entry per op: its float semantics in tfjs ops. Inputs arrive as tensors (constants too). */
const RUN: { [K in OpName]?: Run<K> } = {
  CONV_2D: (o, [x, w, b]) => {
    const y = tf.conv2d(
      x as tf.Tensor4D,
      tf.transpose(w, [1, 2, 3, 0]) as tf.Tensor4D,
      pair(o.stride),
      pad(o.padding),
      "NHWC",
      pair(o.dilation),
    );
    return act(tf.add(y, b), o.activation);
  },
  DEPTHWISE_CONV_2D: (o, [x, w, b]) => {
    const [, kh, kw, cm] = w.shape;
    const filter = tf.reshape(w, [kh, kw, cm / o.multiplier, o.multiplier]) as tf.Tensor4D;
    const y = tf.depthwiseConv2d(
      x as tf.Tensor4D,
      filter,
      pair(o.stride),
      pad(o.padding),
      "NHWC",
      pair(o.dilation),
    );
    return act(tf.add(y, b), o.activation);
  },
  TRANSPOSE_CONV: (o, [shape, w, x], n) => {
    const [, h, wd, c] = shape.dataSync();
    const filter = tf.transpose(w, [1, 2, 0, 3]) as tf.Tensor4D; // OHWI → [kh, kw, O, I]
    return tf.conv2dTranspose(x as tf.Tensor4D, filter, [n, h, wd, c], pair(o.stride), pad(o.padding));
  },
  MAX_POOL_2D: (o, [x]) => {
    return tf.maxPool(x as tf.Tensor4D, pair(o.filter), pair(o.stride), pad(o.padding));
  },
  AVERAGE_POOL_2D: (o, [x]) => {
    return tf.avgPool(x as tf.Tensor4D, pair(o.filter), pair(o.stride), pad(o.padding));
  },
  FULLY_CONNECTED: (o, [x, w, b]) => {
    return act(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true), b), o.activation);
  },
  ADD: (o, [a, b]) => act(tf.add(a, b), o.activation),
  MUL: (o, [a, b]) => act(tf.mul(a, b), o.activation),
  CONCATENATION: (o, xs) => tf.concat(xs, o.axis),
  MEAN: (o, [x, axes]) => tf.mean(x, Array.from(axes.dataSync()), o.keepDims),
  RESHAPE: (o, [x], n) => tf.reshape(x, [n, ...o.newShape.slice(1)]),
  RESIZE_BILINEAR: (o, [x, size]) => {
    const [h, w] = size.dataSync();
    return tf.image.resizeBilinear(x as tf.Tensor4D, [h, w], o.alignCorners, o.halfPixelCenters);
  },
  RESIZE_NEAREST_NEIGHBOR: (o, [x, size]) => {
    const [h, w] = size.dataSync();
    return tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [h, w], o.alignCorners, o.halfPixelCenters);
  },
  SOFTMAX: (o, [x]) => tf.softmax(o.beta !== 1 ? tf.mul(x, o.beta) : x),
  LOGISTIC: (_o, [x]) => tf.sigmoid(x),
  TANH: (_o, [x]) => tf.tanh(x),
  RELU: (_o, [x]) => tf.relu(x),
  RELU6: (_o, [x]) => tf.relu6(x),
};

/**
 * Values of every tensor for `n` NHWC images (the graph's batch-1 shapes with batch `n`); the
 * callback sees each activation as it is computed (then it is disposed). Returns the outputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToTflite } from "./graph.ts";
 * import { runReference } from "./reference.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
 * const [logits] = runReference(tfjsToTflite(model), new Float32Array([1, 2, 3]), 1);
 * const want = (model.predict(tf.tensor2d([[1, 2, 3]])) as tf.Tensor).dataSync();
 * assert(Math.abs(logits[0] - want[0]) < 1e-6);
 * ```
 */
export function runReference(
  graph: TfliteGraph,
  images: Float32Array,
  n: number,
  onTensor?: (id: number, values: Float32Array) => void,
): Float32Array[] {
  return tf.tidy(() => {
    const values = new Map<number, tf.Tensor>();
    const inShape = graph.tensors[graph.inputs[0]].shape;
    values.set(graph.inputs[0], tf.tensor(images, [n, ...inShape.slice(1)]));
    const uses = new Map<number, number>();
    for (const o of graph.ops) for (const i of o.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
    const get = (id: number) => {
      const have = values.get(id);
      if (have) return have;
      const t = graph.tensors[id];
      if (!t.data || t.type === "float16" || t.type === "int8") {
        throw new Error(`TFLite reference: tensor "${t.name}" has no float value (is the graph float32?)`);
      }
      return tf.tensor(
        t.data as Float32Array | Int32Array,
        t.shape,
        t.type === "int32" ? "int32" : "float32",
      );
    };
    for (const op of graph.ops) {
      const run = RUN[op.op] as Run<OpName> | undefined;
      if (!run) throw new Error(`TFLite reference: op ${op.op} is not supported`);
      const y = tf.tidy(() => run(op as never, op.inputs.map(get), n));
      values.set(op.outputs[0], y);
      onTensor?.(op.outputs[0], y.dataSync() as Float32Array);
      for (const i of op.inputs) {
        const left = (uses.get(i) ?? 1) - 1;
        uses.set(i, left);
        if (left === 0 && !graph.outputs.includes(i) && values.has(i)) {
          values.get(i)!.dispose();
          values.delete(i);
        }
      }
    }
    return graph.outputs.map((id) => values.get(id)!.dataSync() as Float32Array);
  });
}
