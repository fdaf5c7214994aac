/**
 * Post-training transforms of a float32 TFLite graph, TFLite's own conventions:
 *
 * - `toFloat16Weights` ("fp16 weights"): every float constant stored as float16 and turned back
 *   into float32 by a DEQUANTIZE op at the start; compute, input and output stay float32.
 * - `calibrate`: per-tensor activation ranges (min/max) from real images through the graph's
 *   float reference (tfjs ops), including tensors tfjs keeps inside a layer.
 * - `quantizeInt8` (full-integer): conv, depthwise, transposed-conv and dense weights int8 per
 *   output channel (zero point 0, scale = max|w|/127, values in [−127, 127]); biases int32 with
 *   scale = input scale · weight scale; every activation int8 with a per-tensor scale and zero
 *   point from its range. Ops TFLite's int8 kernels constrain share parameters (max pool,
 *   reshape, resize, and all inputs and the output of a concatenation) or use fixed ones (LOGISTIC and
 *   SOFTMAX output 1/256 with zero point −128). With `io: "float"` (default) the file keeps a
 *   float32 input and outputs, via QUANTIZE / DEQUANTIZE at the ends, so it is fed like the fp32
 *   file; `io: "int8"` makes the input and outputs int8 (their scale/zero point in the file).
 */
import { f32ToF16, HISTOGRAM_BINS, histogramAdd, percentileRange } from "../quantize.ts";
import { compact, type OpName, type Quantization, type TfliteGraph, type TfliteTensor } from "./graph.ts";
import { runReference } from "./reference.ts";

/** An activation range. */
export interface Range {
  min: number;
  max: number;
}

/**
 * Store float constants as float16, each DEQUANTIZEd to float32 before use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToTflite } from "./graph.ts";
 * import { toFloat16Weights } from "./quantize.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * const g = toFloat16Weights(tfjsToTflite(model));
 * assert.deepEqual(g.ops.map((o) => o.op), ["DEQUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED", "SOFTMAX"]);
 * ```
 */
export function toFloat16Weights(graph: TfliteGraph): TfliteGraph {
  const g = cloneGraph(graph);
  const dequantize: TfliteGraph["ops"] = [];
  g.tensors.forEach((t, id) => {
    if (!t.data || t.type !== "float32") return;
    const half = new Uint16Array(t.data.length);
    for (let i = 0; i < half.length; i++) half[i] = f32ToF16(t.data[i]);
    const src = g.tensors.push({ name: `${t.name}/fp16`, shape: t.shape, type: "float16", data: half }) - 1;
    g.tensors[id] = { name: t.name, shape: t.shape, type: "float32" };
    dequantize.push({ op: "DEQUANTIZE", inputs: [src], outputs: [id] });
  });
  g.ops = [...dequantize, ...g.ops];
  g.metadata.weights_dtype = "float16";
  return g;
}

/**
 * Ranges of every activation tensor (the input too) over `n` NHWC float images: min/max, or with
 * `percentile` the range keeping that share of each tensor's values (a second pass through a
 * histogram, as the ONNX calibration's percentile method).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToTflite } from "./graph.ts";
 * import { calibrate } from "./quantize.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
 * const ranges = calibrate(tfjsToTflite(model, { probs: false }), new Float32Array([0, 1, -2, 3]), 2);
 * assert.deepEqual(ranges.get(0), { min: -2, max: 3 });
 * ```
 */
export function calibrate(
  graph: TfliteGraph,
  images: Float32Array,
  n: number,
  options: { percentile?: number; batch?: number } = {},
): Map<number, Range> {
  const batch = options.batch ?? 8, per = images.length / n;
  const pass = (see: (id: number, v: ArrayLike<number>) => void) => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      const x = images.subarray(i * per, (i + m) * per);
      see(graph.inputs[0], x);
      runReference(graph, x, m, see);
    }
  };
  const ranges = new Map<number, Range>();
  pass((id, v) => {
    const r = ranges.get(id) ?? { min: Infinity, max: -Infinity };
    for (let i = 0; i < v.length; i++) {
      if (v[i] < r.min) r.min = v[i];
      if (v[i] > r.max) r.max = v[i];
    }
    ranges.set(id, r);
  });
  const percentile = options.percentile;
  if (percentile === undefined) return ranges;
  const hists = new Map([...ranges.keys()].map((id) => [id, new Float64Array(HISTOGRAM_BINS)]));
  pass((id, v) => histogramAdd(hists.get(id)!, ranges.get(id)!, v));
  // The image input keeps its full range: it is [0, 1] by the contract.
  return new Map([...ranges].map(([id, r]) => [
    id,
    id === graph.inputs[0] ? r : percentileRange(hists.get(id)!, r, percentile),
  ]));
}

export interface Int8Options {
  /** Input/output type: float32 with QUANTIZE/DEQUANTIZE at the ends, or int8. @default "float" */
  io?: "float" | "int8";
}

/** Ops whose int8 kernels need the output quantized exactly like the input(s). */
const SAME_PARAMS = new Set<OpName>([
  "MAX_POOL_2D",
  "AVERAGE_POOL_2D",
  "RESHAPE",
  "CONCATENATION",
  "RESIZE_BILINEAR",
  "RESIZE_NEAREST_NEIGHBOR",
]);
/** Ops whose int8 output has fixed parameters in TFLite. */
const FIXED_OUTPUT: Partial<Record<OpName, { scale: number; zeroPoint: number }>> = {
  LOGISTIC: { scale: 1 / 256, zeroPoint: -128 },
  SOFTMAX: { scale: 1 / 256, zeroPoint: -128 },
  TANH: { scale: 1 / 128, zeroPoint: 0 },
};
/**
 * Weighted ops: index of the weights input, its output-channel axis (none: one scale for the
 * tensor), index of the bias input. Dense weights are per tensor, as TFLite's converter writes
 * them by default and as Arm NN 20.08's FullyConnected requires (it rejects per-axis weights).
 */
const WEIGHTS: Partial<Record<OpName, { w: number; axis?: number; bias?: number }>> = {
  CONV_2D: { w: 1, axis: 0, bias: 2 },
  DEPTHWISE_CONV_2D: { w: 1, axis: 3, bias: 2 },
  FULLY_CONNECTED: { w: 1, bias: 2 },
  TRANSPOSE_CONV: { w: 1, axis: 0 },
};

/**
 * Full-integer int8 version of a float32 graph, given activation ranges from `calibrate`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToTflite } from "./graph.ts";
 * import { calibrate, quantizeInt8 } from "./quantize.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
 * const g = tfjsToTflite(model);
 * const q = quantizeInt8(g, calibrate(g, new Float32Array([0, 1, -2, 3]), 2));
 * const ops = q.ops.map((o) => o.op);
 * assert.deepEqual(ops, ["QUANTIZE", "FULLY_CONNECTED", "SOFTMAX", "DEQUANTIZE", "DEQUANTIZE"]);
 * assert.equal(q.tensors[q.ops[1].inputs[2]].type, "int32");
 * ```
 */
export function quantizeInt8(
  graph: TfliteGraph,
  ranges: Map<number, Range>,
  options: Int8Options = {},
): TfliteGraph {
  const g = cloneGraph(graph);
  const io = options.io ?? "float";
  const isActivation = (id: number) => !g.tensors[id].data;

  // Activation parameters: groups that must share them, each from the union of its ranges.
  const group = new UnionFind();
  for (const op of g.ops) {
    if (!SAME_PARAMS.has(op.op)) continue;
    for (const i of op.inputs) if (isActivation(i)) group.union(i, op.outputs[0]);
  }
  const groupRange = new Map<number, Range>();
  g.tensors.forEach((t, id) => {
    if (t.data) return;
    const r = ranges.get(id);
    if (!r) throw new Error(`TFLite int8: no calibration range for tensor "${t.name}"`);
    const root = group.find(id), have = groupRange.get(root);
    groupRange.set(
      root,
      have ? { min: Math.min(have.min, r.min), max: Math.max(have.max, r.max) } : { ...r },
    );
  });
  const fixed = new Map<number, { scale: number; zeroPoint: number }>();
  for (const op of g.ops) {
    const f = FIXED_OUTPUT[op.op];
    if (f) fixed.set(op.outputs[0], f);
  }
  g.tensors.forEach((t, id) => {
    if (t.data) return;
    const p = fixed.get(id) ?? activationParams(groupRange.get(group.find(id))!);
    t.type = "int8";
    t.quant = { scale: [p.scale], zeroPoint: [p.zeroPoint], axis: 0 };
  });

  // Weights per output channel, biases int32 at input scale · weight scale.
  const done = new Set<number>();
  for (const op of g.ops) {
    const spec = WEIGHTS[op.op];
    if (!spec) continue;
    const wId = op.inputs[spec.w];
    if (done.has(wId)) throw new Error(`TFLite int8: weights "${g.tensors[wId].name}" are shared`);
    done.add(wId);
    const wScale = quantizeWeights(g.tensors[wId], spec.axis);
    if (spec.bias === undefined) continue;
    const x = g.tensors[op.op === "TRANSPOSE_CONV" ? op.inputs[2] : op.inputs[0]];
    const bias = g.tensors[op.inputs[spec.bias]];
    const perChannel = wScale.length === 1 ? new Array(bias.shape[0]).fill(wScale[0]) : wScale;
    quantizeBias(bias, perChannel.map((s) => s * x.quant!.scale[0]), wScale.length > 1);
    done.add(op.inputs[spec.bias]);
  }
  // Other float constants (ADD/MUL operands): int8 per tensor from their own range. An all-zero one
  // (a transposed conv's bias before training) takes its consumer's output scale: with scale 1 the
  // ADD's input/output scale ratio leaves XNNPACK's range and LiteRT aborts the whole process.
  g.tensors.forEach((t, id) => {
    if (!t.data || t.type !== "float32" || done.has(id)) return;
    const data = t.data as Float32Array;
    const range = data.reduce((r, v) => ({ min: Math.min(r.min, v), max: Math.max(r.max, v) }), {
      min: 0,
      max: 0,
    });
    const consumer = g.ops.find((op) => op.inputs.includes(id));
    const p = range.min === range.max && consumer
      ? { scale: g.tensors[consumer.outputs[0]].quant!.scale[0], zeroPoint: 0 }
      : activationParams(range);
    t.data = Int8Array.from(data, (v) => clamp(Math.round(v / p.scale) + p.zeroPoint, -128, 127));
    t.type = "int8";
    t.quant = { scale: [p.scale], zeroPoint: [p.zeroPoint], axis: 0 };
  });

  if (io === "float") {
    const x = g.inputs[0], xt = g.tensors[x];
    const fx = g.tensors.push({ name: xt.name, shape: xt.shape, type: "float32" }) - 1;
    xt.name = `${xt.name}/int8`;
    g.ops.unshift({ op: "QUANTIZE", inputs: [fx], outputs: [x] });
    g.inputs = [fx];
    g.outputs = g.outputs.map((y) => {
      const yt = g.tensors[y];
      const fy = g.tensors.push({ name: yt.name, shape: yt.shape, type: "float32" }) - 1;
      yt.name = `${yt.name}/int8`;
      g.ops.push({ op: "DEQUANTIZE", inputs: [y], outputs: [fy] });
      return fy;
    });
  }
  compact(g);
  g.metadata.quantization = `int8 full-integer, per-channel weights, ${io} input/output`;
  return g;
}

/** Asymmetric int8 parameters covering `r` and 0. */
export function activationParams(r: Range): { scale: number; zeroPoint: number } {
  const min = Math.min(r.min, 0), max = Math.max(r.max, 0);
  const scale = max > min ? (max - min) / 255 : 1;
  return { scale, zeroPoint: clamp(Math.round(-128 - min / scale), -128, 127) };
}

/** Quantize weights in place, symmetric, per channel along `axis` (or per tensor); returns the scales. */
function quantizeWeights(t: TfliteTensor, axis: number | undefined): number[] {
  const data = t.data as Float32Array;
  const c = axis === undefined ? 1 : t.shape[axis];
  const inner = axis === undefined ? data.length : t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channel = (j: number) => Math.floor(j / inner) % c;
  const maxAbs = new Array(c).fill(0);
  for (let j = 0; j < data.length; j++) maxAbs[channel(j)] = Math.max(maxAbs[channel(j)], Math.abs(data[j]));
  // An all-zero channel (pruned) still needs a positive scale; 1/127 keeps its bias precise.
  const scale = maxAbs.map((m) => m > 0 ? m / 127 : 1 / 127);
  t.data = Int8Array.from(data, (v, j) => clamp(Math.round(v / scale[channel(j)]), -127, 127));
  t.type = "int8";
  t.quant = { scale, zeroPoint: new Array(c).fill(0), axis: axis ?? 0 } satisfies Quantization;
  return scale;
}

/** int32 bias at `scale` per channel; stored per tensor when the weights are (all scales equal). */
function quantizeBias(t: TfliteTensor, scale: number[], perChannel: boolean): void {
  const data = t.data as Float32Array;
  t.data = Int32Array.from(data, (v, i) => clamp(Math.round(v / scale[i]), -(2 ** 31) + 1, 2 ** 31 - 1));
  t.type = "int32";
  const s = perChannel ? scale : [scale[0]];
  t.quant = { scale: s, zeroPoint: new Array(s.length).fill(0), axis: 0 };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function cloneGraph(g: TfliteGraph): TfliteGraph {
  return {
    name: g.name,
    tensors: g.tensors.map((t) => ({ ...t, shape: [...t.shape], data: t.data?.slice() })),
    ops: g.ops.map((o) => ({ ...o, inputs: [...o.inputs], outputs: [...o.outputs] })),
    inputs: [...g.inputs],
    outputs: [...g.outputs],
    metadata: { ...g.metadata },
  };
}

class UnionFind {
  #parent = new Map<number, number>();
  find(x: number): number {
    const p = this.#parent.get(x);
    if (p === undefined || p === x) return x;
    const root = this.find(p);
    this.#parent.set(x, root);
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.#parent.set(ra, rb);
  }
}
