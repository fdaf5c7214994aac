/**
 * tfjs-layers model (NHWC) → a TFLite graph in memory (float32, batch 1), layer by layer through
 * the emitter table in emitters.ts: one entry per layer kind, so a new layer is one entry.
 *
 * TFLite is NHWC like tfjs, so no layout transposes are needed; only weights change layout:
 * conv HWIO → OHWI, depthwise [kh, kw, C, M] → [1, kh, kw, C·M] (same memory order), transposed
 * conv [kh, kw, O, I] → OHWI, dense [in, out] → [out, in].
 *
 * - Batch norm right after a conv (linear activation, single consumer) is folded into it; any
 *   other becomes MUL + ADD by constants.
 * - ReLU/ReLU6 after CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED or ADD is fused into that op.
 * - Conv2DTranspose is TRANSPOSE_CONV (3 inputs: output shape, weights, x) then ADD of the bias,
 *   which every TFLite reader understands (the 4-input form with bias is newer).
 * - SeparableConv2D is DEPTHWISE_CONV_2D (zero bias) then a 1×1 CONV_2D with the bias.
 * - GlobalAveragePooling2D is MEAN over [1, 2]; Flatten is RESHAPE; Dropout is the identity.
 * - UpSampling2D is RESIZE_BILINEAR or RESIZE_NEAREST_NEIGHBOR to the output size (inputs: x and
 *   the int32 size), neither corners aligned nor half-pixel centres: tfjs' source = out · in/out.
 * - Outputs: a rank-2 linear output is `logits`, plus `probs` = SOFTMAX(logits) when `probs`
 *   (default); other outputs are `output` (`output_i`). The input is `input`, [1, H, W, C].
 *
 * Anything else throws, naming the layer.
 */
import type * as tf from "@tensorflow/tfjs";
import { activationName, batch1, CONV_KINDS, EMITTERS, GraphBuilder } from "./emitters.ts";

export type TensorType = "float32" | "float16" | "int8" | "int32";
export type Padding = "SAME" | "VALID";
export type Activation = "NONE" | "RELU" | "RELU6";

/** Quantization of a tensor: real = scale · (q − zeroPoint), per tensor or along `axis`. */
export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  axis: number;
}

export interface TfliteTensor {
  name: string;
  /** Static shape; batch is 1. */
  shape: number[];
  type: TensorType;
  /** Constant data (weights, biases, shapes); absent for activations. */
  data?: Float32Array | Uint16Array | Int8Array | Int32Array;
  quant?: Quantization;
}

interface OpBase {
  inputs: number[];
  outputs: number[];
}

/** One operator; the fields besides inputs/outputs are its builtin options. */
export type TfliteOp =
  & OpBase
  & (
    | { op: "CONV_2D"; padding: Padding; stride: number[]; dilation: number[]; activation: Activation }
    | {
      op: "DEPTHWISE_CONV_2D";
      padding: Padding;
      stride: number[];
      dilation: number[];
      multiplier: number;
      activation: Activation;
    }
    | { op: "TRANSPOSE_CONV"; padding: Padding; stride: number[] }
    | { op: "MAX_POOL_2D" | "AVERAGE_POOL_2D"; padding: Padding; stride: number[]; filter: number[] }
    | { op: "FULLY_CONNECTED" | "ADD" | "MUL"; activation: Activation }
    | { op: "CONCATENATION"; axis: number }
    | { op: "MEAN"; keepDims: boolean }
    | { op: "RESHAPE"; newShape: number[] }
    | { op: "RESIZE_BILINEAR" | "RESIZE_NEAREST_NEIGHBOR"; alignCorners: boolean; halfPixelCenters: boolean }
    | { op: "SOFTMAX"; beta: number }
    | { op: "LOGISTIC" | "TANH" | "RELU" | "RELU6" | "QUANTIZE" | "DEQUANTIZE" }
  );

export type OpName = TfliteOp["op"];

/** An op before its output tensor exists (Omit applied to each variant of the union). */
export type NewOp = TfliteOp extends infer T ? T extends unknown ? Omit<T, "outputs"> : never : never;

export interface TfliteGraph {
  name: string;
  tensors: TfliteTensor[];
  /** In execution order. */
  ops: TfliteOp[];
  inputs: number[];
  outputs: number[];
  /** Free-form strings stored in the file's metadata (as JSON). */
  metadata: Record<string, string>;
}

export interface TfliteConvertOptions {
  /** Add `probs` = SOFTMAX(logits) for a rank-2 linear output. @default true */
  probs?: boolean;
  /** Extra metadata (preprocessing, classes, variant name, ...). */
  metadata?: Record<string, string>;
}

type Layer = tf.layers.Layer;
type Sym = tf.SymbolicTensor;
type Config = Record<string, unknown>;

/**
 * Convert a tfjs-layers model with one NHWC image input to a float32 TFLite graph (batch 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToTflite } from "./graph.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * const graph = tfjsToTflite(model);
 * assert.deepEqual(graph.outputs.map((i) => graph.tensors[i].name), ["logits", "probs"]);
 * assert.deepEqual(graph.ops.map((o) => o.op), ["FULLY_CONNECTED", "SOFTMAX"]);
 * ```
 */
export function tfjsToTflite(model: tf.LayersModel, options: TfliteConvertOptions = {}): TfliteGraph {
  if (model.inputs.length !== 1) {
    throw new Error(`TFLite export: expected one model input, got ${model.inputs.length}`);
  }
  const g = new GraphBuilder();
  const ids = new Map<Sym, number>();
  const input = model.inputs[0];
  ids.set(input, g.tensor({ name: "input", shape: batch1(input.shape), type: "float32" }));
  const foldBn = foldableBatchNorms(model);

  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === "InputLayer") continue;
    if (layer.inboundNodes.length !== 1) {
      throw new Error(
        `TFLite export: layer "${layer.name}" is called ${layer.inboundNodes.length} times ` +
          "(shared layers are not supported)",
      );
    }
    const emit = EMITTERS[kind];
    if (!emit) throw new Error(`TFLite export: layer "${layer.name}" of kind ${kind} is not supported`);
    if (kind === "BatchNormalization" && foldBn.has(layer)) {
      ids.set(layer.output as Sym, ids.get(layer.input as Sym)!); // folded into the conv before it
      continue;
    }
    const ins = (Array.isArray(layer.input) ? layer.input : [layer.input]).map((s) => {
      const id = ids.get(s);
      if (id === undefined) {
        throw new Error(`TFLite export: input of layer "${layer.name}" is not produced yet`);
      }
      return id;
    });
    const bn = [...foldBn.entries()].find(([, conv]) => conv === layer)?.[0];
    const cfg = layer.getConfig() as Config;
    ids.set(layer.output as Sym, emit({ layer, cfg, ins, shape: batch1(layer.outputShape), bn, g }));
  }

  const outputs: number[] = [];
  model.outputs.forEach((sym, i) => {
    const id = ids.get(sym)!;
    const shape = batch1(sym.shape);
    const linear2d = shape.length === 2 && activationName(sym.sourceLayer.getConfig() as Config) === "linear";
    g.tensors[id].name = linear2d ? "logits" : model.outputs.length === 1 ? "output" : `output_${i}`;
    outputs.push(id);
    if (linear2d && (options.probs ?? true)) outputs.push(g.activation("softmax", id, "probs", shape));
  });
  const graph: TfliteGraph = {
    name: model.name,
    tensors: g.tensors,
    ops: g.ops,
    inputs: [ids.get(input)!],
    outputs,
    metadata: {
      input_name: "input",
      input_layout: "NHWC",
      input_shape: JSON.stringify(batch1(input.shape)),
      outputs: outputs.map((i) => g.tensors[i].name).join(","),
      batchnorm_folded: String(foldBn.size),
      ...options.metadata,
    },
  };
  fuseActivations(graph);
  return graph;
}

/** Fuse RELU/RELU6 into the op before it when that op has no activation and no other consumer. */
function fuseActivations(graph: TfliteGraph): void {
  const FUSES = new Set<OpName>(["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD"]);
  const uses = new Map<number, number>();
  for (const o of graph.ops) for (const i of o.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const act of [...graph.ops]) {
    if (act.op !== "RELU" && act.op !== "RELU6") continue;
    const x = act.inputs[0];
    const prev = graph.ops.find((o) => o.outputs[0] === x);
    if (!prev || !FUSES.has(prev.op) || !("activation" in prev) || prev.activation !== "NONE") continue;
    if (uses.get(x) !== 1 || graph.outputs.includes(x)) continue;
    prev.activation = act.op;
    prev.outputs = act.outputs;
    graph.ops.splice(graph.ops.indexOf(act), 1);
  }
  compact(graph);
}

/** Drop tensors no op or graph input/output refers to, renumbering the rest (in place). */
export function compact(graph: TfliteGraph): void {
  const used = new Set([
    ...graph.inputs,
    ...graph.outputs,
    ...graph.ops.flatMap((o) => [...o.inputs, ...o.outputs]),
  ]);
  const remap = new Map<number, number>();
  const kept: TfliteTensor[] = [];
  graph.tensors.forEach((t, i) => {
    if (used.has(i)) remap.set(i, kept.push(t) - 1);
  });
  const map = (ids: number[]) => ids.map((i) => i < 0 ? i : remap.get(i)!);
  graph.tensors = kept;
  graph.inputs = map(graph.inputs);
  graph.outputs = map(graph.outputs);
  for (const o of graph.ops) {
    o.inputs = map(o.inputs);
    o.outputs = map(o.outputs);
  }
}

/** Batch norms that fold into the conv before them (linear conv, single consumer), → that conv. */
function foldableBatchNorms(model: tf.LayersModel): Map<Layer, Layer> {
  const consumers = new Map<Sym, number>();
  for (const layer of model.layers) {
    if (layer.getClassName() === "InputLayer") continue;
    for (const s of Array.isArray(layer.input) ? layer.input : [layer.input]) {
      consumers.set(s, (consumers.get(s) ?? 0) + 1);
    }
  }
  const fold = new Map<Layer, Layer>();
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const x = layer.input as Sym;
    const src = x.sourceLayer;
    const single = consumers.get(x) === 1 && !model.outputs.includes(x);
    const axis = Number((layer.getConfig() as Config).axis ?? -1);
    if (
      CONV_KINDS.has(src.getClassName()) && activationName(src.getConfig() as Config) === "linear" &&
      single &&
      (axis === -1 || axis === 3)
    ) fold.set(layer, src);
  }
  return fold;
}
