/**
 * tfjs-layers model (NHWC) → ONNX graph (NCHW inside), layer by layer.
 *
 * - Batch norm that directly follows a convolution (linear activation, single consumer) is
 *   folded into the convolution's weights and bias; any other batch norm becomes ONNX
 *   BatchNormalization.
 * - Layout: 4-D tensors are NCHW inside the graph. With `layout: "nhwc"` (default) the graph
 *   input is NHWC, like tfjs and the data set, and a Transpose feeds the first conv; 4-D outputs
 *   are transposed back to NHWC. With `layout: "nchw"` the input is NCHW (no Transpose).
 * - Outputs: a rank-2 linear output is named `logits`, and `probs` = Softmax(logits) is added as a
 *   second output when `probs` is true (default). Other outputs are named `output` (`output_i`).
 *
 * Mapped layers: InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, Dense,
 * BatchNormalization, ReLU, Activation (relu, relu6, sigmoid, tanh, softmax, linear), MaxPooling2D,
 * AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, UpSampling2D (nearest, bilinear),
 * Dropout (identity), Concatenate, Add, Multiply: the `EMITTERS` table. Anything else throws, naming the layer.
 */
import type * as tf from "@tensorflow/tfjs";
import { batchNormParams } from "./batch_norm_params.ts";
import type { Initializer, OnnxGraph, OnnxNode } from "./onnx_model.ts";

export interface ConvertOptions {
  /** Input layout of the ONNX graph. @default "nhwc" */
  layout?: "nhwc" | "nchw";
  /** Add `probs` = Softmax(logits) for a rank-2 linear output. @default true */
  probs?: boolean;
  /** Extra metadata_props (preprocessing, classes, variant name, ...). */
  metadata?: Record<string, string>;
}

type Layer = tf.layers.Layer;
type Sym = tf.SymbolicTensor;
type Config = Record<string, unknown>;

const CONV_KINDS = new Set(["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"]);

/** A conv's weights in ONNX layout; `outAxis` is the output-channel axis of `weight`. */
interface ConvWeights {
  weight: Float32Array;
  dims: number[];
  outAxis: number;
  bias: Float32Array;
}

/**
 * Convert a tfjs-layers model with a single NHWC image input to an ONNX graph.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToOnnx } from "./onnx_graph.ts";
 * import { encodeModel } from "./onnx_model.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * const graph = tfjsToOnnx(model);
 * assert(graph.outputs.map((o) => o.name).join() === "logits,probs");
 * assert(encodeModel(graph).length > 0);
 * ```
 */
export function tfjsToOnnx(model: tf.LayersModel, options: ConvertOptions = {}): OnnxGraph {
  const layout = options.layout ?? "nhwc";
  if (model.inputs.length !== 1) {
    throw new Error(`ONNX export: expected one model input, got ${model.inputs.length}`);
  }
  const nodes: OnnxNode[] = [];
  const initializers: Initializer[] = [];
  const names = new Map<Sym, string>();
  const ranks = new Map<string, number>();
  const input = model.inputs[0];
  const inShape = input.shape.slice(1) as number[];
  const add = (op: string, name: string, inputs: string[], outputs: string[], attrs?: OnnxNode["attrs"]) =>
    nodes.push({ op, name, inputs, outputs, ...(attrs ? { attrs } : {}) });
  const init = (name: string, dims: number[], data: Float32Array) => {
    initializers.push({ name, dtype: "float", dims, data });
    return name;
  };

  // Graph input, then (NHWC) a Transpose to the NCHW used inside.
  let inputName = "input";
  if (inShape.length === 3 && layout === "nhwc") {
    add("Transpose", "input_to_nchw", ["input"], ["input_nchw"], { perm: { ints: [0, 3, 1, 2] } });
    inputName = "input_nchw";
  }
  names.set(input, inputName);
  ranks.set(inputName, input.shape.length);
  const graphInputShape = inShape.length === 3 && layout === "nchw"
    ? [-1, inShape[2], inShape[0], inShape[1]]
    : [-1, ...inShape];

  // Which batch norms fold into the conv before them.
  const consumers = countConsumers(model);
  const foldBn = new Map<string, Layer>();
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const src = (layer.input as Sym).sourceLayer;
    const cfg = src.getConfig() as Config;
    const single = consumers.get(layer.input as Sym) === 1 && !model.outputs.includes(layer.input as Sym);
    if (CONV_KINDS.has(src.getClassName()) && (cfg.activation ?? "linear") === "linear" && single) {
      foldBn.set(src.name, layer);
    }
  }

  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === "InputLayer") continue;
    if (layer.inboundNodes.length !== 1) {
      throw new Error(
        `ONNX export: layer "${layer.name}" is called ${layer.inboundNodes.length} times (shared layers are not supported)`,
      );
    }
    const ins = (Array.isArray(layer.input) ? layer.input : [layer.input]).map((s) => {
      const n = names.get(s);
      if (n === undefined) throw new Error(`ONNX export: input of layer "${layer.name}" is not produced yet`);
      return n;
    });
    const emit = EMITTERS[kind];
    if (!emit) throw new Error(`ONNX export: layer "${layer.name}" of kind ${kind} is not supported`);
    const result = emit({
      layer,
      kind,
      cfg: layer.getConfig() as Config,
      ins,
      x: ins[0],
      rank: ranks.get(ins[0]) ?? 4,
      out: layer.name,
      add,
      init,
      weights: () => layer.getWeights().map((w) => w.dataSync() as Float32Array),
      foldBn,
      setRank: (name, r) => ranks.set(name, r),
    });
    names.set(layer.output as Sym, result);
    if (!ranks.has(result)) ranks.set(result, ((layer.output as Sym).shape as number[]).length);
  }

  // Outputs: rename the last values, transpose 4-D ones back to NHWC, add `probs`.
  const outputs: OnnxGraph["outputs"] = [];
  model.outputs.forEach((sym, i) => {
    const value = names.get(sym)!;
    const shape = (sym.shape as number[]).slice(1);
    const last = sym.sourceLayer.getConfig() as Config;
    const linear2d = shape.length === 1 && activationName(last) === "linear";
    const name = linear2d ? "logits" : model.outputs.length === 1 ? "output" : `output_${i}`;
    if (shape.length === 3 && layout === "nhwc") {
      add("Transpose", `${name}_to_nhwc`, [value], [name], { perm: { ints: [0, 2, 3, 1] } });
      outputs.push({ name, shape: [-1, ...shape] });
    } else {
      renameValue(nodes, value, name);
      const dims = shape.length === 3 ? [shape[2], shape[0], shape[1]] : shape;
      outputs.push({ name, shape: [-1, ...dims] });
    }
    if (linear2d && (options.probs ?? true)) {
      add("Softmax", "probs", [name], ["probs"], { axis: { int: 1 } });
      outputs.push({ name: "probs", shape: [-1, ...shape] });
    }
  });

  const metadata: Record<string, string> = {
    input_name: "input",
    input_layout: layout.toUpperCase(),
    input_shape: JSON.stringify(graphInputShape.map((d) => d < 0 ? "N" : d)),
    outputs: outputs.map((o) => o.name).join(","),
    batchnorm_folded: String(foldBn.size),
    ...options.metadata,
  };
  return {
    name: model.name,
    inputs: [{ name: "input", shape: graphInputShape }],
    outputs,
    nodes,
    initializers,
    metadata,
  };
}

/** What an emitter sees of one layer: its config, its inputs' value names, and the graph builders. */
interface EmitContext {
  layer: Layer;
  kind: string;
  cfg: Config;
  /** Value names of the layer's inputs; `x` is the first, of rank `rank`. */
  ins: string[];
  x: string;
  rank: number;
  /** The layer's name, which names its output value. */
  out: string;
  add: (op: string, name: string, inputs: string[], outputs: string[], attrs?: OnnxNode["attrs"]) => void;
  init: (name: string, dims: number[], data: Float32Array) => string;
  weights: () => Float32Array[];
  /** Batch norms folded into the conv before them, by conv name. */
  foldBn: Map<string, Layer>;
  setRank: (name: string, rank: number) => void;
}

/** Emits the nodes of one layer; returns the value that holds its output (`out`, or an input it passes on). */
type Emitter = (c: EmitContext) => string;

function emitConv({ layer, kind, cfg, x, out, add, init, weights, foldBn }: EmitContext): string {
  const conv = convWeights(layer, kind, cfg, weights());
  const bn = foldBn.get(layer.name);
  if (bn) foldBatchNorm(conv, bn);
  const pre = activationName(cfg) === "linear" ? out : `${out}/pre_act`;
  const k = pair(cfg.kernelSize), s = pair(cfg.strides ?? 1), d = pair(cfg.dilationRate ?? 1);
  const inHW = ((layer.input as Sym).shape as number[]).slice(1, 3);
  // Initializers in the order the nodes use them (the weight after a separable conv's depthwise one).
  const weightAndBias = () => [
    init(`${out}.weight`, conv.dims, conv.weight),
    init(`${out}.bias`, [conv.bias.length], conv.bias),
  ];
  if (kind === "Conv2DTranspose") {
    const outHW = (layer.outputShape as number[]).slice(1, 3);
    const { pads, outputPadding } = transposePads(inHW, outHW, k, s, String(cfg.padding));
    add("ConvTranspose", out, [x, ...weightAndBias()], [pre], {
      kernel_shape: { ints: k },
      strides: { ints: s },
      pads: { ints: pads },
      ...(outputPadding.some((v) => v) ? { output_padding: { ints: outputPadding } } : {}),
    });
  } else {
    const pads = samePads(inHW, k, s, d, String(cfg.padding));
    const attrs = {
      kernel_shape: { ints: k },
      strides: { ints: s },
      dilations: { ints: d },
      pads: { ints: pads },
    };
    const channels = (layer.input as Sym).shape[3] as number;
    if (kind === "SeparableConv2D") {
      const dw = separableDepthwise(layer);
      add(
        "Conv",
        `${out}/depthwise`,
        [x, init(`${out}.depthwise_weight`, dw.dims, dw.weight)],
        [`${out}/dw`],
        {
          ...attrs,
          group: { int: channels },
        },
      );
      add("Conv", out, [`${out}/dw`, ...weightAndBias()], [pre], { kernel_shape: { ints: [1, 1] } });
    } else {
      add("Conv", out, [x, ...weightAndBias()], [pre], {
        ...attrs,
        group: { int: kind === "DepthwiseConv2D" ? channels : 1 },
      });
    }
  }
  if (pre !== out) activation(add, init, activationName(cfg), `${out}/act`, pre, out, 4);
  return out;
}

function emitDense({ layer, cfg, x, rank, out, add, init, weights }: EmitContext): string {
  if (rank !== 2) {
    throw new Error(`ONNX export: Dense layer "${layer.name}" on a rank-${rank} input is not supported`);
  }
  const [kernel, bias] = weights();
  const [nIn, nOut] = layer.getWeights()[0].shape as number[];
  const wT = transpose(kernel, [nIn, nOut], [1, 0]);
  const b = bias ?? new Float32Array(nOut);
  const pre = activationName(cfg) === "linear" ? out : `${out}/pre_act`;
  add("Gemm", out, [x, init(`${out}.weight`, [nOut, nIn], wT), init(`${out}.bias`, [nOut], b)], [pre], {
    transB: { int: 1 },
  });
  if (pre !== out) activation(add, init, activationName(cfg), `${out}/act`, pre, out, 2);
  return out;
}

function emitBatchNorm({ layer, cfg, x, rank, out, add, init, foldBn }: EmitContext): string {
  if (foldBn.get((layer.input as Sym).sourceLayer.name) === layer) return x; // folded into the conv before it
  const axis = Number(cfg.axis ?? -1);
  if (axis !== -1 && axis !== rank - 1) {
    throw new Error(`ONNX export: BatchNormalization "${layer.name}" on axis ${axis} is not supported`);
  }
  const bn = batchNormParams(layer);
  const c = bn.mean.length;
  add(
    "BatchNormalization",
    out,
    [
      x,
      init(`${out}.scale`, [c], bn.gamma),
      init(`${out}.bias`, [c], bn.beta),
      init(`${out}.mean`, [c], bn.mean),
      init(`${out}.var`, [c], bn.variance),
    ],
    [out],
    { epsilon: { float: bn.epsilon } },
  );
  return out;
}

function emitPool({ layer, kind, cfg, x, out, add }: EmitContext): string {
  const k = pair(cfg.poolSize), s = pair(cfg.strides ?? cfg.poolSize);
  const inHW = ((layer.input as Sym).shape as number[]).slice(1, 3);
  const pads = samePads(inHW, k, s, [1, 1], String(cfg.padding));
  // count_include_pad=0 (the default) matches TF's "same" average pooling.
  add(kind === "MaxPooling2D" ? "MaxPool" : "AveragePool", out, [x], [out], {
    kernel_shape: { ints: k },
    strides: { ints: s },
    pads: { ints: pads },
  });
  return out;
}

function emitGlobalPool({ kind, x, out, add, setRank }: EmitContext): string {
  add(kind === "GlobalAveragePooling2D" ? "GlobalAveragePool" : "GlobalMaxPool", out, [x], [`${out}/4d`]);
  add("Flatten", `${out}/flatten`, [`${out}/4d`], [out], { axis: { int: 1 } });
  setRank(out, 2);
  return out;
}

function emitFlatten({ x, rank, out, add, setRank }: EmitContext): string {
  if (rank === 4) {
    // Back to NHWC first so the flattened order matches tfjs (and the Dense weights after it).
    add("Transpose", `${out}/to_nhwc`, [x], [`${out}/nhwc`], { perm: { ints: [0, 2, 3, 1] } });
    add("Flatten", out, [`${out}/nhwc`], [out], { axis: { int: 1 } });
  } else add("Flatten", out, [x], [out], { axis: { int: 1 } });
  setRank(out, 2);
  return out;
}

function emitElementwise({ kind, ins, out, add }: EmitContext): string {
  const op = kind === "Add" ? "Add" : "Mul";
  let acc = ins[0];
  ins.slice(1).forEach((b, i) => {
    const o = i === ins.length - 2 ? out : `${out}/${i}`;
    add(op, `${out}/${op}${i}`, [acc, b], [o]);
    acc = o;
  });
  return out;
}

/** UpSampling2D: Resize with tfjs' source = out · in/out ("asymmetric"; nearest rounds down). */
function emitUpSampling({ layer, cfg, x, out, add, init }: EmitContext): string {
  const [sh, sw] = pair(cfg.size ?? 2);
  const linear = cfg.interpolation === "bilinear";
  if ((cfg.dataFormat ?? "channelsLast") !== "channelsLast") {
    throw new Error(`ONNX export: UpSampling2D "${layer.name}" must be channelsLast`);
  }
  add("Resize", out, [x, "", init(`${out}.scales`, [4], Float32Array.of(1, 1, sh, sw))], [out], {
    mode: { string: linear ? "linear" : "nearest" },
    coordinate_transformation_mode: { string: "asymmetric" },
    ...(linear ? {} : { nearest_mode: { string: "floor" } }),
  });
  return out;
}

const identity: Emitter = ({ x }) => x;

/** Layer kind → emitter: a new layer kind is one function and one entry here. */
const EMITTERS: Record<string, Emitter> = {
  Conv2D: emitConv,
  DepthwiseConv2D: emitConv,
  SeparableConv2D: emitConv,
  Conv2DTranspose: emitConv,
  Dense: emitDense,
  BatchNormalization: emitBatchNorm,
  ReLU: ({ cfg, x, rank, out, add, init }) => {
    if (cfg.maxValue != null) activation(add, init, `clip:${cfg.maxValue}`, out, x, out, rank);
    else add("Relu", out, [x], [out]);
    return out;
  },
  Activation: ({ cfg, x, rank, out, add, init }) => {
    if (activationName(cfg) === "linear") return x;
    activation(add, init, activationName(cfg), out, x, out, rank);
    return out;
  },
  Softmax: ({ x, rank, out, add }) => {
    add("Softmax", out, [x], [out], { axis: { int: rank === 4 ? 1 : -1 } });
    return out;
  },
  MaxPooling2D: emitPool,
  AveragePooling2D: emitPool,
  GlobalAveragePooling2D: emitGlobalPool,
  GlobalMaxPooling2D: emitGlobalPool,
  Flatten: emitFlatten,
  UpSampling2D: emitUpSampling,
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  Concatenate: ({ cfg, ins, rank, out, add }) => {
    const axis = Number(cfg.axis ?? -1);
    const a = axis < 0 ? rank + axis : axis;
    add("Concat", out, ins, [out], { axis: { int: rank === 4 ? [0, 2, 3, 1][a] : a } });
    return out;
  },
  Add: emitElementwise,
  Multiply: emitElementwise,
};

function countConsumers(model: tf.LayersModel): Map<Sym, number> {
  const counts = new Map<Sym, number>();
  for (const layer of model.layers) {
    if (layer.getClassName() === "InputLayer") continue;
    for (const s of Array.isArray(layer.input) ? layer.input : [layer.input]) {
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
  }
  return counts;
}

function activationName(cfg: Config): string {
  const a = cfg.activation ?? "linear";
  return typeof a === "string" ? a : String((a as { className?: string }).className ?? a);
}

/** Emit an activation `kind` from value `x` to `out`. */
function activation(
  add: (op: string, name: string, inputs: string[], outputs: string[], attrs?: OnnxNode["attrs"]) => void,
  init: (name: string, dims: number[], data: Float32Array) => string,
  kind: string,
  name: string,
  x: string,
  out: string,
  rank: number,
): void {
  if (kind === "relu") add("Relu", name, [x], [out]);
  else if (kind === "sigmoid") add("Sigmoid", name, [x], [out]);
  else if (kind === "tanh") add("Tanh", name, [x], [out]);
  else if (kind === "softmax") add("Softmax", name, [x], [out], { axis: { int: rank === 4 ? 1 : -1 } });
  else if (kind === "relu6" || kind.startsWith("clip:")) {
    const max = kind === "relu6" ? 6 : Number(kind.slice(5));
    const lo = init(`${name}.min`, [], new Float32Array([0]));
    const hi = init(`${name}.max`, [], new Float32Array([max]));
    add("Clip", name, [x, lo, hi], [out]);
  } else throw new Error(`ONNX export: activation "${kind}" of "${name}" is not supported`);
}

/** The convolution's (last) weights in ONNX layout; for SeparableConv2D the pointwise part. */
function convWeights(layer: Layer, kind: string, cfg: Config, w: Float32Array[]): ConvWeights {
  const shapes = layer.getWeights().map((t) => t.shape as number[]);
  const useBias = cfg.useBias !== false;
  if (kind === "Conv2D") {
    const [kh, kw, cin, cout] = shapes[0];
    return {
      weight: transpose(w[0], shapes[0], [3, 2, 0, 1]),
      dims: [cout, cin, kh, kw],
      outAxis: 0,
      bias: useBias ? w[1].slice() : new Float32Array(cout),
    };
  }
  if (kind === "DepthwiseConv2D") {
    const [kh, kw, cin, mult] = shapes[0];
    // Output channel c·mult + m, as tfjs orders it.
    return {
      weight: transpose(w[0], shapes[0], [2, 3, 0, 1]),
      dims: [cin * mult, 1, kh, kw],
      outAxis: 0,
      bias: useBias ? w[1].slice() : new Float32Array(cin * mult),
    };
  }
  if (kind === "Conv2DTranspose") {
    const [kh, kw, cout, cin] = shapes[0];
    return {
      weight: transpose(w[0], shapes[0], [3, 2, 0, 1]),
      dims: [cin, cout, kh, kw],
      outAxis: 1,
      bias: useBias ? w[1].slice() : new Float32Array(cout),
    };
  }
  // SeparableConv2D: [depthwise, pointwise, bias?]; the pointwise conv carries the bias.
  const [, , cmid, cout] = shapes[1];
  return {
    weight: transpose(w[1], shapes[1], [3, 2, 0, 1]),
    dims: [cout, cmid, 1, 1],
    outAxis: 0,
    bias: useBias ? w[2].slice() : new Float32Array(cout),
  };
}

/** The depthwise half of a SeparableConv2D, as a grouped ONNX Conv weight. */
function separableDepthwise(layer: Layer): { weight: Float32Array; dims: number[] } {
  const t = layer.getWeights();
  const shape = t[0].shape as number[];
  const [kh, kw, cin, mult] = shape;
  return {
    weight: transpose(t[0].dataSync() as Float32Array, shape, [2, 3, 0, 1]),
    dims: [cin * mult, 1, kh, kw],
  };
}

/** Fold y = γ·(conv(x) − μ)/√(σ² + ε) + β into the conv's weights and bias (in place). */
function foldBatchNorm(conv: ConvWeights, bnLayer: Layer): void {
  const bn = batchNormParams(bnLayer);
  const c = bn.mean.length;
  const scale = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    // Double precision for the fold so it adds no error beyond float32 rounding.
    const s = bn.gamma[i] / Math.sqrt(bn.variance[i] + bn.epsilon);
    scale[i] = s;
    conv.bias[i] = (conv.bias[i] - bn.mean[i]) * s + bn.beta[i];
  }
  const inner = conv.dims.slice(conv.outAxis + 1).reduce((a, b) => a * b, 1);
  for (let j = 0; j < conv.weight.length; j++) conv.weight[j] *= scale[Math.floor(j / inner) % c];
}

/** Transpose a dense row-major array with `dims` by `perm`. */
export function transpose(data: Float32Array, dims: number[], perm: number[]): Float32Array {
  const outDims = perm.map((p) => dims[p]);
  const inStrides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < perm.length; a++) src += idx[a] * inStrides[perm[a]];
    out[o] = data[src];
    for (let a = outDims.length - 1; a >= 0; a--) {
      if (++idx[a] < outDims[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

function pair(v: unknown): number[] {
  return Array.isArray(v) ? v.map(Number) : [Number(v), Number(v)];
}

/** ONNX pads [top, left, bottom, right] for TF's "same" (extra pad at the end) or "valid". */
function samePads(inHW: number[], k: number[], s: number[], d: number[], padding: string): number[] {
  if (padding !== "same") return [0, 0, 0, 0];
  const before: number[] = [], after: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(inHW[i] / s[i]);
    const total = Math.max((out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - inHW[i], 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return [...before, ...after];
}

/** Pads and output_padding of ConvTranspose so its output has tfjs's size `outHW`. */
function transposePads(inHW: number[], outHW: number[], k: number[], s: number[], padding: string) {
  const pads = padding === "same" ? samePads(outHW, k, s, [1, 1], "same") : [0, 0, 0, 0];
  const outputPadding = [0, 1].map((i) => outHW[i] - ((inHW[i] - 1) * s[i] + k[i] - pads[i] - pads[i + 2]));
  return { pads, outputPadding };
}

function renameValue(nodes: OnnxNode[], from: string, to: string): void {
  for (const n of nodes) {
    n.inputs = n.inputs.map((v) => v === from ? to : v);
    n.outputs = n.outputs.map((v) => v === from ? to : v);
  }
}
