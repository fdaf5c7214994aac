/**
 * The layer-kind → TFLite ops table used by `tfjsToTflite` (graph.ts): one emitter per tfjs
 * layer kind, and the builder through which emitters add tensors and ops. A new layer kind is one
 * entry here (and, for a new op, one entry in reference.ts and write.ts).
 */
import type * as tf from "@tensorflow/tfjs";
import { batchNormParams } from "../batch_norm_params.ts";
import { transpose } from "../onnx_graph.ts";
import type { Activation, NewOp, Padding, TensorType, TfliteOp, TfliteTensor } from "./graph.ts";

type Layer = tf.layers.Layer;
type Sym = tf.SymbolicTensor;
type Config = Record<string, unknown>;

/** What an emitter gets: the layer, its input tensor ids, and the graph under construction. */
export interface Emit {
  layer: Layer;
  cfg: Config;
  ins: number[];
  /** The layer's output shape, batch 1. */
  shape: number[];
  /** Batch norm folded into this conv, if any. */
  bn?: Layer;
  g: GraphBuilder;
}

/** Emit the layer's ops; return the id of the tensor that stands for its output. */
export type Emitter = (e: Emit) => number;

/**
 * The layer's last op, named after the layer, with its activation fused where TFLite can and as
 * a separate op after it where it cannot (e.g. sigmoid).
 */
function finalOp(e: Emit, name: string, make: (fused: Activation) => NewOp): number {
  const act = fusedActivation(e.cfg);
  const y = e.g.op(make(act.fused), act.rest ? `${name}/linear` : name, e.shape);
  return act.rest ? e.g.activation(act.rest, y, name, e.shape) : y;
}

export const CONV_KINDS = new Set(["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"]);

export const EMITTERS: Record<string, Emitter> = {
  Conv2D: (e) => {
    const [kernel, bias] = weightsOf(e.layer);
    const [kh, kw, cin, cout] = kernel.shape;
    const w = transpose(kernel.data, kernel.shape, [3, 0, 1, 2]);
    const b = bias?.data.slice() ?? new Float32Array(cout);
    if (e.bn) foldBatchNorm(w, b, e.bn);
    return finalOp(e, e.layer.name, (fused) => (
      {
        op: "CONV_2D",
        inputs: [
          e.ins[0],
          e.g.constant(`${e.layer.name}/weights`, [cout, kh, kw, cin], w),
          e.g.bias(e.layer, b),
        ],
        padding: padding(e.cfg),
        stride: pair(e.cfg.strides ?? 1),
        dilation: pair(e.cfg.dilationRate ?? 1),
        activation: fused,
      }
    ));
  },
  DepthwiseConv2D: (e) => {
    const [kernel, bias] = weightsOf(e.layer);
    const [kh, kw, cin, mult] = kernel.shape;
    const w = kernel.data.slice(); // [kh, kw, C, M] is [1, kh, kw, C·M] in memory
    const b = bias?.data.slice() ?? new Float32Array(cin * mult);
    if (e.bn) foldBatchNorm(w, b, e.bn, true);
    return finalOp(e, e.layer.name, (fused) => (
      depthwise(
        e,
        e.ins[0],
        e.g.constant(`${e.layer.name}/weights`, [1, kh, kw, cin * mult], w),
        b,
        fused,
      )
    ));
  },
  SeparableConv2D: (e) => {
    const [dwKernel, pwKernel, bias] = weightsOf(e.layer);
    const [kh, kw, cin, mult] = dwKernel.shape;
    const cout = pwKernel.shape[3];
    const dwShape = [...e.shape.slice(0, 3), cin * mult];
    const dwW = e.g.constant(`${e.layer.name}/depthwise_weights`, [1, kh, kw, cin * mult], dwKernel.data);
    const dw = e.g.op(
      depthwise(e, e.ins[0], dwW, new Float32Array(cin * mult), "NONE", `${e.layer.name}/depthwise`),
      `${e.layer.name}/depthwise`,
      dwShape,
    );
    const w = transpose(pwKernel.data, pwKernel.shape, [3, 0, 1, 2]);
    const b = bias?.data.slice() ?? new Float32Array(cout);
    if (e.bn) foldBatchNorm(w, b, e.bn);
    return finalOp(e, e.layer.name, (fused) => (
      {
        op: "CONV_2D",
        inputs: [
          dw,
          e.g.constant(`${e.layer.name}/weights`, [cout, 1, 1, cin * mult], w),
          e.g.bias(e.layer, b),
        ],
        padding: "VALID",
        stride: [1, 1],
        dilation: [1, 1],
        activation: fused,
      }
    ));
  },
  Conv2DTranspose: (e) => {
    const [kernel, bias] = weightsOf(e.layer);
    const [kh, kw, cout, cin] = kernel.shape;
    const w = transpose(kernel.data, kernel.shape, [2, 0, 1, 3]);
    const b = bias?.data.slice() ?? new Float32Array(cout);
    if (e.bn) foldBatchNorm(w, b, e.bn);
    const name = e.layer.name;
    const outShape = e.g.constant(`${name}/output_shape`, [4], new Int32Array(e.shape), "int32");
    const y = e.g.op(
      {
        op: "TRANSPOSE_CONV",
        inputs: [outShape, e.g.constant(`${name}/weights`, [cout, kh, kw, cin], w), e.ins[0]],
        padding: padding(e.cfg),
        stride: pair(e.cfg.strides ?? 1),
      },
      `${name}/no_bias`,
      e.shape,
    );
    return finalOp(e, name, (fused) => (
      { op: "ADD", inputs: [y, e.g.constant(`${name}/bias`, [cout], b)], activation: fused }
    ));
  },
  Dense: (e) => {
    if (e.g.tensors[e.ins[0]].shape.length !== 2) {
      throw new Error(`TFLite export: Dense layer "${e.layer.name}" on a rank>2 input is not supported`);
    }
    const [kernel, bias] = weightsOf(e.layer);
    const [nIn, nOut] = kernel.shape;
    const w = transpose(kernel.data, kernel.shape, [1, 0]);
    return finalOp(e, e.layer.name, (fused) => (
      {
        op: "FULLY_CONNECTED",
        inputs: [
          e.ins[0],
          e.g.constant(`${e.layer.name}/weights`, [nOut, nIn], w),
          e.g.bias(e.layer, bias?.data.slice() ?? new Float32Array(nOut)),
        ],
        activation: fused,
      }
    ));
  },
  BatchNormalization: (e) => {
    const axis = Number(e.cfg.axis ?? -1);
    if (axis !== -1 && axis !== e.shape.length - 1) {
      throw new Error(`TFLite export: BatchNormalization "${e.layer.name}" on axis ${axis} is not supported`);
    }
    const bn = batchNormParams(e.layer);
    const c = bn.mean.length, scale = new Float32Array(c), shift = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      scale[i] = bn.gamma[i] / Math.sqrt(bn.variance[i] + bn.epsilon);
      shift[i] = bn.beta[i] - bn.mean[i] * scale[i];
    }
    const name = e.layer.name;
    const scaled = e.g.op(
      { op: "MUL", inputs: [e.ins[0], e.g.constant(`${name}/scale`, [c], scale)], activation: "NONE" },
      `${name}/scaled`,
      e.shape,
    );
    return e.g.op(
      { op: "ADD", inputs: [scaled, e.g.constant(`${name}/shift`, [c], shift)], activation: "NONE" },
      name,
      e.shape,
    );
  },
  ReLU: (e) => {
    const max = e.cfg.maxValue == null ? undefined : Number(e.cfg.maxValue);
    if (max !== undefined && max !== 6) {
      throw new Error(`TFLite export: ReLU "${e.layer.name}" with maxValue ${max} is not supported (only 6)`);
    }
    return e.g.activation(max === 6 ? "relu6" : "relu", e.ins[0], e.layer.name, e.shape);
  },
  Activation: (e) => {
    const kind = activationName(e.cfg);
    return kind === "linear" ? e.ins[0] : e.g.activation(kind, e.ins[0], e.layer.name, e.shape);
  },
  Softmax: (e) => e.g.activation("softmax", e.ins[0], e.layer.name, e.shape),
  MaxPooling2D: (e) => pool(e, "MAX_POOL_2D"),
  AveragePooling2D: (e) => pool(e, "AVERAGE_POOL_2D"),
  GlobalAveragePooling2D: (e) => {
    const axes = e.g.constant(`${e.layer.name}/axes`, [2], new Int32Array([1, 2]), "int32");
    return e.g.op({ op: "MEAN", inputs: [e.ins[0], axes], keepDims: false }, e.layer.name, e.shape);
  },
  Flatten: (e) => e.g.op({ op: "RESHAPE", inputs: [e.ins[0]], newShape: e.shape }, e.layer.name, e.shape),
  UpSampling2D: (e) => {
    if ((e.cfg.dataFormat ?? "channelsLast") !== "channelsLast") {
      throw new Error(`TFLite export: UpSampling2D "${e.layer.name}" must be channelsLast`);
    }
    const op = e.cfg.interpolation === "bilinear" ? "RESIZE_BILINEAR" : "RESIZE_NEAREST_NEIGHBOR";
    const size = e.g.constant(`${e.layer.name}/size`, [2], new Int32Array(e.shape.slice(1, 3)), "int32");
    return e.g.op(
      { op, inputs: [e.ins[0], size], alignCorners: false, halfPixelCenters: false },
      e.layer.name,
      e.shape,
    );
  },
  Dropout: (e) => e.ins[0],
  SpatialDropout2D: (e) => e.ins[0],
  GaussianNoise: (e) => e.ins[0],
  Concatenate: (e) => {
    const axis = Number(e.cfg.axis ?? -1);
    return e.g.op(
      { op: "CONCATENATION", inputs: e.ins, axis: axis < 0 ? e.shape.length + axis : axis },
      e.layer.name,
      e.shape,
    );
  },
  Add: (e) => {
    let acc = e.ins[0];
    e.ins.slice(1).forEach((b, i) => {
      const name = i === e.ins.length - 2 ? e.layer.name : `${e.layer.name}/${i}`;
      acc = e.g.op({ op: "ADD", inputs: [acc, b], activation: "NONE" }, name, e.shape);
    });
    return acc;
  },
};

/** Appends tensors and ops; the emitters' only way to change the graph. */
export class GraphBuilder {
  tensors: TfliteTensor[] = [];
  ops: TfliteOp[] = [];

  tensor(t: TfliteTensor): number {
    return this.tensors.push(t) - 1;
  }

  constant(
    name: string,
    shape: number[],
    data: Float32Array | Int32Array,
    type: TensorType = "float32",
  ): number {
    return this.tensor({ name, shape, type, data });
  }

  bias(layer: Layer, b: Float32Array): number {
    return this.constant(`${layer.name}/bias`, [b.length], b);
  }

  /** Add `op` with one new output tensor `name` of `shape`; return that tensor's id. */
  op(op: NewOp, name: string, shape: number[]): number {
    const out = this.tensor({ name, shape, type: "float32" });
    this.ops.push({ ...op, outputs: [out] } as TfliteOp);
    return out;
  }

  /** A standalone activation op (tfjs name: relu, relu6, sigmoid, tanh, softmax). */
  activation(kind: string, x: number, name: string, shape: number[]): number {
    const ops: Record<string, NewOp> = {
      relu: { op: "RELU", inputs: [x] },
      relu6: { op: "RELU6", inputs: [x] },
      sigmoid: { op: "LOGISTIC", inputs: [x] },
      tanh: { op: "TANH", inputs: [x] },
      softmax: { op: "SOFTMAX", inputs: [x], beta: 1 },
    };
    if (!ops[kind]) throw new Error(`TFLite export: activation "${kind}" of "${name}" is not supported`);
    if (kind === "softmax" && shape.length !== 2) {
      throw new Error(`TFLite export: softmax "${name}" on a rank-${shape.length} tensor is not supported`);
    }
    return this.op(ops[kind], name, shape);
  }
}

function depthwise(
  e: Emit,
  x: number,
  weights: number,
  bias: Float32Array,
  activation: Activation,
  biasName = e.layer.name,
): NewOp {
  const mult = Number(e.cfg.depthMultiplier ?? 1);
  return {
    op: "DEPTHWISE_CONV_2D",
    inputs: [x, weights, e.g.constant(`${biasName}/bias`, [bias.length], bias)],
    padding: padding(e.cfg),
    stride: pair(e.cfg.strides ?? 1),
    dilation: pair(e.cfg.dilationRate ?? 1),
    multiplier: mult,
    activation,
  };
}

function pool(e: Emit, op: "MAX_POOL_2D" | "AVERAGE_POOL_2D"): number {
  const filter = pair(e.cfg.poolSize);
  return e.g.op(
    {
      op,
      inputs: [e.ins[0]],
      padding: padding(e.cfg),
      stride: pair(e.cfg.strides ?? e.cfg.poolSize),
      filter,
    },
    e.layer.name,
    e.shape,
  );
}

interface Weight {
  data: Float32Array;
  shape: number[];
}

function weightsOf(layer: Layer): Weight[] {
  return layer.getWeights().map((w) => ({ data: w.dataSync() as Float32Array, shape: w.shape as number[] }));
}

/**
 * Fold y = γ·(conv(x) − μ)/√(σ² + ε) + β into weights and bias (in place). The output channel is
 * the first axis (OHWI), or the last for depthwise weights ([1, kh, kw, C·M]).
 */
function foldBatchNorm(w: Float32Array, b: Float32Array, bnLayer: Layer, lastAxis = false): void {
  const bn = batchNormParams(bnLayer);
  const c = b.length, scale = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = bn.gamma[i] / Math.sqrt(bn.variance[i] + bn.epsilon); // double: no error beyond rounding
    b[i] = (b[i] - bn.mean[i]) * scale[i] + bn.beta[i];
  }
  const inner = w.length / c;
  for (let j = 0; j < w.length; j++) w[j] *= scale[lastAxis ? j % c : Math.floor(j / inner)];
}

/** A conv's own activation: fused into the op (relu, relu6), or a separate op after it. */
function fusedActivation(cfg: Config): { fused: Activation; rest?: string } {
  const a = activationName(cfg);
  if (a === "linear") return { fused: "NONE" };
  if (a === "relu") return { fused: "RELU" };
  if (a === "relu6") return { fused: "RELU6" };
  return { fused: "NONE", rest: a };
}

export function activationName(cfg: Config): string {
  const a = cfg.activation ?? "linear";
  return typeof a === "string" ? a : String((a as { className?: string }).className ?? a);
}

function padding(cfg: Config): Padding {
  const p = String(cfg.padding ?? "valid");
  if (p !== "same" && p !== "valid") throw new Error(`TFLite export: padding "${p}" is not supported`);
  return p === "same" ? "SAME" : "VALID";
}

function pair(v: unknown): number[] {
  return Array.isArray(v) ? v.map(Number) : [Number(v), Number(v)];
}

export function batch1(shape: unknown): number[] {
  return (shape as (number | null)[]).map((d, i) => i === 0 ? 1 : Number(d));
}
