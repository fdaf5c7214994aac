/**
 * Post-training transforms of an fp32 ONNX graph:
 *
 * - `toFloat16`: float16 initializers, each followed by Cast(to float); inputs, outputs and
 *   compute stay float32 (onnxruntime folds the Casts at load time, so this format is about size).
 * - `quantizeQdq`: static int8 quantization in QDQ form. Conv and Gemm weights become per-channel
 *   (axis 0) symmetric int8 + DequantizeLinear; biases int32 with scale = x_scale·w_scale; the
 *   activations feeding and leaving each Conv/Gemm (after its Relu, if any) get a
 *   QuantizeLinear → DequantizeLinear pair with a calibrated scale/zero point (uint8 or int8,
 *   asymmetric). Graph outputs stay float; ConvTranspose stays float (weights and all).
 *   onnxruntime fuses DQ → Conv → (Relu) → Q into QLinearConv.
 * - `calibrate`: activation ranges from N images through onnxruntime, MinMax or percentile.
 */
import { cloneGraph, encodeModel, type Initializer, type OnnxGraph, type OnnxNode } from "./onnx_model.ts";
import { createSession, runBatch } from "./ort.ts";

// One scratch word for the bit casts (a new array per value made fp16 exports of U-Nets take seconds).
const F32 = new Float32Array(1), U32 = new Uint32Array(F32.buffer);

/** IEEE 754 float32 → float16 bit pattern, round to nearest even (overflow → ±inf). */
export function f32ToF16(value: number): number {
  F32[0] = value;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++; // may carry into the exponent: correct
  return sign | half;
}

/**
 * Store every float initializer as float16 and Cast it back to float32 in the graph.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toFloat16 } from "./quantize.ts";
 * const g = toFloat16({ name: "g", metadata: {}, inputs: [], outputs: [], nodes: [],
 *   initializers: [{ name: "w", dtype: "float", dims: [2], data: new Float32Array([1, 0.5]) }] });
 * assert(g.nodes[0].op === "Cast" && g.initializers[0].dtype === "float16");
 * ```
 */
export function toFloat16(graph: OnnxGraph): OnnxGraph {
  const g = cloneGraph(graph);
  const casts: OnnxNode[] = [];
  g.initializers = g.initializers.map((t) => {
    if (t.dtype !== "float") return t;
    const half = new Uint16Array(t.data.length);
    for (let i = 0; i < half.length; i++) half[i] = f32ToF16((t.data as Float32Array)[i]);
    casts.push({
      op: "Cast",
      name: `${t.name}/cast`,
      inputs: [`${t.name}.fp16`],
      outputs: [t.name],
      attrs: { to: { int: 1 } },
    });
    return { name: `${t.name}.fp16`, dtype: "float16", dims: t.dims, data: half };
  });
  g.nodes = [...casts, ...g.nodes];
  g.metadata.weights_dtype = "float16";
  return g;
}

/** An activation range. */
export interface Range {
  min: number;
  max: number;
}

export type CalibrationMethod = "minmax" | "percentile";

export interface CalibrateOptions {
  method: CalibrationMethod;
  /** Percentile kept for `percentile`, e.g. 99.99 (the lower end uses 100 − p). @default 99.99 */
  percentile?: number;
  /** Images per onnxruntime call. @default 16 */
  batch?: number;
  /**
   * The minmax ranges of the same targets on the same images, when already calibrated: the
   * percentile method then skips its first pass (its result is the same).
   */
  minmax?: Map<string, Range>;
}

/** Ops `quantizeQdq` can run in int8. */
export type QuantOp = "Conv" | "Gemm";

/** The activations `quantizeQdq` quantizes: inputs of `ops`, outputs (after Relu) of `ops`. */
export function activationTargets(graph: OnnxGraph, ops: readonly QuantOp[] = ["Conv"]): string[] {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const inits = new Set(graph.initializers.map((t) => t.name));
  const consumers = (v: string) => graph.nodes.filter((n) => n.inputs.includes(v));
  const targets = new Set<string>();
  for (const n of graph.nodes) {
    if (!(ops as readonly string[]).includes(n.op)) continue;
    if (!inits.has(n.inputs[0])) targets.add(n.inputs[0]);
    let y = n.outputs[0];
    const next = consumers(y);
    if (next.length === 1 && next[0].op === "Relu") y = next[0].outputs[0];
    targets.add(y);
  }
  return [...targets].filter((t) => !outputs.has(t));
}

/**
 * Calibrate activation ranges of `targets` on `images` (a float batch of `count` images with
 * per-image dims `dims`, e.g. [64, 64, 3]) with onnxruntime.
 */
export async function calibrate(
  graph: OnnxGraph,
  targets: string[],
  images: Float32Array,
  count: number,
  dims: number[],
  options: CalibrateOptions,
): Promise<Map<string, Range>> {
  const g = cloneGraph(graph);
  g.outputs = targets.map((name) => ({ name }));
  const session = await createSession(encodeModel(g));
  const per = dims.reduce((a, b) => a * b, 1), batch = options.batch ?? 16;
  const pass = async (visit: (name: string, values: Float32Array) => void) => {
    for (let i = 0; i < count; i += batch) {
      const n = Math.min(batch, count - i);
      const out = await runBatch(session, images.subarray(i * per, (i + n) * per), [n, ...dims]);
      for (const t of targets) visit(t, out[t]);
    }
  };
  const known = options.minmax;
  const ranges = new Map<string, Range>(
    targets.map((t) => [t, known?.has(t) ? { ...known.get(t)! } : { min: Infinity, max: -Infinity }]),
  );
  // Indexed loops over locals: `for…of` over millions of activations was most of the time.
  if (!known || targets.some((t) => !known.has(t))) {
    await pass((t, v) => {
      const r = ranges.get(t)!;
      let min = r.min, max = r.max;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x < min) min = x;
        if (x > max) max = x;
      }
      r.min = min;
      r.max = max;
    });
  }
  if (options.method === "percentile") {
    // Second pass: a histogram over [min, max] per tensor, then the percentile from its CDF.
    const hists = new Map(targets.map((t) => [t, new Float64Array(HISTOGRAM_BINS)]));
    await pass((t, v) => histogramAdd(hists.get(t)!, ranges.get(t)!, v));
    for (const t of targets) {
      ranges.set(t, percentileRange(hists.get(t)!, ranges.get(t)!, options.percentile ?? 99.99));
    }
  }
  await session.release();
  return ranges;
}

/** Bins of the percentile method's histograms (over each tensor's min…max). */
export const HISTOGRAM_BINS = 4096;

/** Count `values` into `hist`, HISTOGRAM_BINS bins over `range` (the values' min…max). */
export function histogramAdd(hist: Float64Array, range: Range, values: ArrayLike<number>): void {
  const w = (range.max - range.min) / HISTOGRAM_BINS || 1, min = range.min;
  for (let i = 0; i < values.length; i++) {
    hist[Math.min(HISTOGRAM_BINS - 1, Math.floor((values[i] - min) / w))]++;
  }
}

/**
 * The range keeping `percentile` % of a histogram's values at the top and 100 − percentile % at
 * the bottom (the ends stay where the lowest bin is the first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HISTOGRAM_BINS, histogramAdd, percentileRange } from "./quantize.ts";
 * const values = Array.from({ length: 10000 }, (_, i) => i === 0 ? 1000 : i % 10);
 * const range = { min: 0, max: 1000 }, hist = new Float64Array(HISTOGRAM_BINS);
 * histogramAdd(hist, range, values);
 * assert(percentileRange(hist, range, 99.9).max < 10); // the one outlier is clipped
 * ```
 */
export function percentileRange(hist: Float64Array, range: Range, percentile: number): Range {
  const w = (range.max - range.min) / HISTOGRAM_BINS, p = percentile / 100;
  const total = hist.reduce((a, b) => a + b, 0);
  let acc = 0, lo = 0, hi = HISTOGRAM_BINS - 1;
  for (let b = 0; b < HISTOGRAM_BINS; b++) {
    acc += hist[b];
    if (acc < total * (1 - p)) lo = b + 1;
    if (acc >= total * p) {
      hi = b;
      break;
    }
  }
  return { min: lo === 0 ? range.min : range.min + lo * w, max: range.min + (hi + 1) * w };
}

export interface QdqOptions {
  /** Activation type. uint8 (U8S8) is what onnxruntime's x86 kernels are fastest with. @default "uint8" */
  activations?: "uint8" | "int8";
  /**
   * Weight codes: 7 = [−64, 64] (onnxruntime's `reduce_range`), 8 = [−127, 127]. With 7, no
   * u8 × s8 pair sum can exceed int16 (255·64·2 = 32640), so x86 CPUs without VNNI, whose
   * kernels saturate those sums, compute the same result as every other CPU. @default 7
   */
  weightBits?: 7 | 8;
  /**
   * Ops run in int8; the others keep float weights and float inputs. The classifier's Gemm
   * (128 → 2) gains nothing in int8 and its Q/DQ cost time. @default ["Conv"]
   */
  ops?: readonly QuantOp[];
  /**
   * Bits of the image input's codes. 7 (codes 0…127 over [0, 1]) lets the first conv keep 8-bit
   * weights within the int16 pair bound (127·127·2 = 32258). @default 7
   */
  inputBits?: 7 | 8;
  /**
   * Conv / Gemm nodes kept in float (weights, input and output; the tensor after their Relu and
   * MaxPool is the first quantized one). The conv on the 3-channel image runs 2–3× slower as a
   * QLinearConv (im2col + QGEMM with K = 27) than onnxruntime's fp32 NCHWc kernel, and holds
   * nearly all of the pair sums that saturate on x86 without VNNI. @default imageConvs(graph)
   */
  keepFloat?: readonly string[];
}

/** Convs that read the image (graph input or its Transpose) with at most 4 channels. */
export function imageConvs(graph: OnnxGraph): string[] {
  const image = imageTensors(graph);
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  return graph.nodes.filter((n) =>
    n.op === "Conv" && image.has(n.inputs[0]) && (inits.get(n.inputs[1])?.dims[1] ?? 0) <= 4
  )
    .map((n) => n.name);
}

/** Channels of `t` (NCHW axis 1): the output channels of the Conv it comes from through Relu / MaxPool. */
function channelsOf(graph: OnnxGraph, t: string): number | undefined {
  const inits = new Map(graph.initializers.map((i) => [i.name, i]));
  for (let name = t, hops = 0; hops < 8; hops++) {
    const n = graph.nodes.find((x) => x.outputs[0] === name);
    if (!n) return undefined;
    if (n.op === "Conv") return inits.get(n.inputs[1])?.dims[0] ?? inits.get(n.inputs[2] ?? "")?.dims[0];
    if (n.op !== "Relu" && n.op !== "MaxPool") return undefined;
    name = n.inputs[0];
  }
  return undefined;
}

/** The graph inputs and tensors made from them by a Transpose (the image in either layout). */
export function imageTensors(graph: OnnxGraph): Set<string> {
  const out = new Set(graph.inputs.map((i) => i.name));
  for (const n of graph.nodes) if (n.op === "Transpose" && out.has(n.inputs[0])) out.add(n.outputs[0]);
  return out;
}

/** Largest weight code for `bits` (symmetric, zero point 0). */
export function weightQmax(bits: 7 | 8): number {
  return bits === 7 ? 64 : 127;
}

/**
 * Per-tensor affine parameters for `range` in `type` (range widened to include 0), spread over
 * 2^bits − 1 steps from the type's lowest code (7 bits: uint8 codes 0…127).
 */
export function activationParams(
  range: Range,
  type: "uint8" | "int8",
  bits: 7 | 8 = 8,
): { scale: number; zeroPoint: number } {
  const lo = Math.min(range.min, 0), hi = Math.max(range.max, 0), steps = 2 ** bits - 1;
  const qmin = type === "uint8" ? 0 : -128, qmax = qmin + 255;
  const scale = hi > lo ? (hi - lo) / steps : 1;
  const zeroPoint = Math.max(qmin, Math.min(qmax, Math.round(qmin - lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Insert QDQ pairs on calibrated activations and quantize Conv/Gemm weights per channel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { activationParams } from "./quantize.ts";
 * const { zeroPoint } = activationParams({ min: 0, max: 6 }, "uint8");
 * assert(zeroPoint === 0); // post-ReLU ranges map 0 to the lowest code
 * ```
 */
export function quantizeQdq(
  graph: OnnxGraph,
  ranges: Map<string, Range>,
  options: QdqOptions = {},
): OnnxGraph {
  const type = options.activations ?? "uint8", qmax = weightQmax(options.weightBits ?? 7);
  const ops: readonly string[] = options.ops ?? ["Conv"];
  const g = cloneGraph(graph);
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const params = new Map<string, { scale: number; zeroPoint: number }>();
  const keep = new Set(options.keepFloat ?? imageConvs(graph));
  const targets = new Set(activationTargets(graph, ops as QuantOp[]));
  // A float-kept node's input (when it has no int8 reader) and output (after its Relu) get no QDQ.
  for (const n of graph.nodes) {
    if (!keep.has(n.name)) continue;
    const readers = graph.nodes.filter((r) => r.inputs.includes(n.inputs[0]));
    if (readers.every((r) => keep.has(r.name))) targets.delete(n.inputs[0]);
    const next = graph.nodes.filter((r) => r.inputs.includes(n.outputs[0]));
    targets.delete(next.length === 1 && next[0].op === "Relu" ? next[0].outputs[0] : n.outputs[0]);
  }
  // The image (the graph input, or its transpose) is in [0, 1] by the ONNX contract: with 7-bit
  // codes over exactly that range, its pairs stay in int16 with full 8-bit weights.
  const inputBits = options.inputBits ?? 7;
  const image = imageTensors(graph);
  for (const [t, r] of ranges) {
    if (!targets.has(t)) continue;
    params.set(
      t,
      image.has(t) && inputBits === 7
        ? activationParams({ min: Math.min(0, r.min), max: Math.max(1, r.max) }, type, 7)
        : activationParams(r, type),
    );
  }
  // MaxPool between two quantized tensors keeps its input's parameters, so onnxruntime can drop
  // the QDQ around it and pool in uint8.
  for (const n of g.nodes) {
    if (n.op === "MaxPool" && params.has(n.inputs[0]) && params.has(n.outputs[0])) {
      params.set(n.outputs[0], params.get(n.inputs[0])!);
    }
  }
  const added: Initializer[] = [];
  const pre: OnnxNode[] = [];
  const replaced = new Set<string>();
  const zp = (v: number) => type === "uint8" ? new Uint8Array([v]) : new Int8Array([v]);

  // Activations: t → Q → DQ → every consumer of t.
  const qdq = new Map<string, string>();
  // A float MaxPool's output is quantized with its scale repeated per channel (axis 1): the same
  // codes, but onnxruntime then cannot move the Q above the pool (it moves only per-tensor Qs),
  // so the pool stays fused with the float conv (NCHWc) instead of running as an NCHW uint8 pool.
  const perChannel = new Map<string, number>();
  for (const n of g.nodes) {
    if (n.op !== "MaxPool" || !params.has(n.outputs[0]) || params.has(n.inputs[0])) continue;
    const channels = channelsOf(g, n.inputs[0]);
    if (channels) perChannel.set(n.outputs[0], channels);
  }
  for (const [t, { scale, zeroPoint }] of params) {
    added.push({ name: `${t}.scale`, dtype: "float", dims: [], data: new Float32Array([scale]) });
    added.push({ name: `${t}.zero_point`, dtype: type, dims: [], data: zp(zeroPoint) });
    const c = perChannel.get(t);
    if (c) {
      added.push({ name: `${t}.scale_c`, dtype: "float", dims: [c], data: new Float32Array(c).fill(scale) });
      const z = type === "uint8" ? new Uint8Array(c).fill(zeroPoint) : new Int8Array(c).fill(zeroPoint);
      added.push({ name: `${t}.zero_point_c`, dtype: type, dims: [c], data: z });
    }
    qdq.set(t, `${t}/dq`);
  }
  const nodes: OnnxNode[] = [];
  for (const n of g.nodes) {
    nodes.push({ ...n, inputs: n.inputs.map((v) => qdq.get(v) ?? v) });
    for (const y of n.outputs) if (qdq.has(y)) nodes.push(...qdqPair(y));
  }
  for (const input of g.inputs) if (qdq.has(input.name)) pre.push(...qdqPair(input.name));

  // Weights and biases of Conv / Gemm.
  for (const n of nodes) {
    if (!ops.includes(n.op) || keep.has(n.name)) continue;
    const w = inits.get(n.inputs[1]);
    if (!w || w.dtype !== "float") continue;
    const xName = n.inputs[0].endsWith("/dq") ? n.inputs[0].slice(0, -3) : "";
    const wScale = quantizeWeight(w, image.has(xName) && inputBits === 7 ? 127 : qmax, added, pre, replaced);
    const b = inits.get(n.inputs[2] ?? "");
    if (b && params.has(xName)) quantizeBias(b, params.get(xName)!.scale, wScale, added, pre, replaced);
  }
  g.initializers = [...g.initializers.filter((t) => !replaced.has(t.name)), ...added];
  g.nodes = [...pre, ...nodes];
  g.metadata.quantization =
    `QDQ int8 weights (per-channel, axis 0, codes in [−${qmax}, ${qmax}]), ${type} activations`;
  return g;

  function qdqPair(t: string): OnnxNode[] {
    const io = [`${t}.scale`, `${t}.zero_point`];
    const q: OnnxNode = perChannel.has(t)
      ? {
        op: "QuantizeLinear",
        name: `${t}/quantize`,
        inputs: [t, `${t}.scale_c`, `${t}.zero_point_c`],
        outputs: [`${t}/q`],
        attrs: { axis: { int: 1 } },
      }
      : { op: "QuantizeLinear", name: `${t}/quantize`, inputs: [t, ...io], outputs: [`${t}/q`] };
    return [
      q,
      { op: "DequantizeLinear", name: `${t}/dequantize`, inputs: [`${t}/q`, ...io], outputs: [`${t}/dq`] },
    ];
  }
}

/** Symmetric per-output-channel int8 weights in [−qmax, qmax] + DequantizeLinear(axis 0) producing the old name. */
function quantizeWeight(
  w: Initializer,
  qmax: number,
  added: Initializer[],
  pre: OnnxNode[],
  replaced: Set<string>,
): Float32Array {
  const data = w.data as Float32Array, channels = w.dims[0], per = data.length / channels;
  const q = new Int8Array(data.length), scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let max = 0;
    for (let j = 0; j < per; j++) max = Math.max(max, Math.abs(data[c * per + j]));
    const s = max > 0 ? max / qmax : 1;
    scales[c] = s;
    for (let j = 0; j < per; j++) {
      q[c * per + j] = Math.max(-qmax, Math.min(qmax, Math.round(data[c * per + j] / s)));
    }
  }
  added.push({ name: `${w.name}.int8`, dtype: "int8", dims: w.dims, data: q });
  added.push({ name: `${w.name}.scale`, dtype: "float", dims: [channels], data: scales });
  added.push({
    name: `${w.name}.zero_point`,
    dtype: "int8",
    dims: [channels],
    data: new Int8Array(channels),
  });
  pre.push({
    op: "DequantizeLinear",
    name: `${w.name}/dequantize`,
    inputs: [`${w.name}.int8`, `${w.name}.scale`, `${w.name}.zero_point`],
    outputs: [w.name],
    attrs: { axis: { int: 0 } },
  });
  replaced.add(w.name);
  return scales;
}

/** int32 bias with scale x_scale·w_scale[c] and zero point 0, as QLinearConv expects. */
function quantizeBias(
  b: Initializer,
  xScale: number,
  wScale: Float32Array,
  added: Initializer[],
  pre: OnnxNode[],
  replaced: Set<string>,
): void {
  const data = b.data as Float32Array;
  const scales = wScale.map((s) => s * xScale);
  const q = new Int32Array(data.length);
  for (let c = 0; c < data.length; c++) q[c] = Math.round(data[c] / scales[c]);
  added.push({ name: `${b.name}.int32`, dtype: "int32", dims: b.dims, data: q });
  added.push({ name: `${b.name}.scale`, dtype: "float", dims: b.dims, data: scales });
  added.push({
    name: `${b.name}.zero_point`,
    dtype: "int32",
    dims: b.dims,
    data: new Int32Array(data.length),
  });
  pre.push({
    op: "DequantizeLinear",
    name: `${b.name}/dequantize`,
    inputs: [`${b.name}.int32`, `${b.name}.scale`, `${b.name}.zero_point`],
    outputs: [b.name],
    attrs: { axis: { int: 0 } },
  });
  replaced.add(b.name);
}
