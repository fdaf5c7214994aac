/**
 * A `TfliteGraph` → .tflite bytes, through the flatbuffers bindings generated from
 * `schema.fbs` (TFLite's schema, version 3). One subgraph; buffer 0 is the empty sentinel and
 * each constant tensor gets its own buffer, aligned to 16 bytes. The graph's metadata is stored
 * as JSON in the model metadata entry "edgeslim".
 */
import * as flatbuffers from "flatbuffers";
import type { OpName, TfliteGraph, TfliteOp, TfliteTensor } from "./graph.ts";
import * as fb from "./schema/schema_generated.ts";

type Builder = flatbuffers.Builder;

const TYPES: Record<TfliteTensor["type"], fb.TensorType> = {
  float32: fb.TensorType.FLOAT32,
  float16: fb.TensorType.FLOAT16,
  int8: fb.TensorType.INT8,
  int32: fb.TensorType.INT32,
};

const PADDING = { SAME: fb.Padding.SAME, VALID: fb.Padding.VALID };
const ACTIVATION = {
  NONE: fb.ActivationFunctionType.NONE,
  RELU: fb.ActivationFunctionType.RELU,
  RELU6: fb.ActivationFunctionType.RELU6,
};

/** An op's builtin code and how to write its options table (none: no options). */
interface OpWriter {
  code: fb.BuiltinOperator;
  options?: [fb.BuiltinOptions, (b: Builder, op: TfliteOp) => flatbuffers.Offset];
}

/** Narrow `op` to the variant named K (the table below is keyed by the same name). */
type Of<K extends OpName> = TfliteOp & { op: K };
const opt = <K extends OpName>(
  type: fb.BuiltinOptions,
  write: (b: Builder, op: Of<K>) => flatbuffers.Offset,
): [fb.BuiltinOptions, (b: Builder, op: TfliteOp) => flatbuffers.Offset] => [
  type,
  write as (b: Builder, op: TfliteOp) => flatbuffers.Offset,
];
const pool = (b: Builder, o: Of<"MAX_POOL_2D" | "AVERAGE_POOL_2D">) =>
  fb.Pool2DOptions.createPool2DOptions(
    b,
    PADDING[o.padding],
    o.stride[1],
    o.stride[0],
    o.filter[1],
    o.filter[0],
    fb.ActivationFunctionType.NONE,
  );

const WRITERS: { [K in OpName]: OpWriter } = {
  CONV_2D: {
    code: fb.BuiltinOperator.CONV_2D,
    options: opt<"CONV_2D">(fb.BuiltinOptions.Conv2DOptions, (b, o) =>
      fb.Conv2DOptions.createConv2DOptions(
        b,
        PADDING[o.padding],
        o.stride[1],
        o.stride[0],
        ACTIVATION[o.activation],
        o.dilation[1],
        o.dilation[0],
      )),
  },
  DEPTHWISE_CONV_2D: {
    code: fb.BuiltinOperator.DEPTHWISE_CONV_2D,
    options: opt<"DEPTHWISE_CONV_2D">(
      fb.BuiltinOptions.DepthwiseConv2DOptions,
      (b, o) =>
        fb.DepthwiseConv2DOptions.createDepthwiseConv2DOptions(
          b,
          PADDING[o.padding],
          o.stride[1],
          o.stride[0],
          o.multiplier,
          ACTIVATION[o.activation],
          o.dilation[1],
          o.dilation[0],
        ),
    ),
  },
  TRANSPOSE_CONV: {
    code: fb.BuiltinOperator.TRANSPOSE_CONV,
    options: opt<"TRANSPOSE_CONV">(
      fb.BuiltinOptions.TransposeConvOptions,
      (b, o) =>
        fb.TransposeConvOptions.createTransposeConvOptions(b, PADDING[o.padding], o.stride[1], o.stride[0]),
    ),
  },
  MAX_POOL_2D: { code: fb.BuiltinOperator.MAX_POOL_2D, options: opt(fb.BuiltinOptions.Pool2DOptions, pool) },
  AVERAGE_POOL_2D: {
    code: fb.BuiltinOperator.AVERAGE_POOL_2D,
    options: opt(fb.BuiltinOptions.Pool2DOptions, pool),
  },
  FULLY_CONNECTED: {
    code: fb.BuiltinOperator.FULLY_CONNECTED,
    options: opt<"FULLY_CONNECTED">(
      fb.BuiltinOptions.FullyConnectedOptions,
      (b, o) =>
        fb.FullyConnectedOptions.createFullyConnectedOptions(
          b,
          ACTIVATION[o.activation],
          fb.FullyConnectedOptionsWeightsFormat.DEFAULT,
          false,
        ),
    ),
  },
  ADD: {
    code: fb.BuiltinOperator.ADD,
    options: opt<"ADD">(
      fb.BuiltinOptions.AddOptions,
      (b, o) => fb.AddOptions.createAddOptions(b, ACTIVATION[o.activation]),
    ),
  },
  MUL: {
    code: fb.BuiltinOperator.MUL,
    options: opt<"MUL">(
      fb.BuiltinOptions.MulOptions,
      (b, o) => fb.MulOptions.createMulOptions(b, ACTIVATION[o.activation]),
    ),
  },
  CONCATENATION: {
    code: fb.BuiltinOperator.CONCATENATION,
    options: opt<"CONCATENATION">(
      fb.BuiltinOptions.ConcatenationOptions,
      (b, o) => fb.ConcatenationOptions.createConcatenationOptions(b, o.axis, fb.ActivationFunctionType.NONE),
    ),
  },
  MEAN: {
    code: fb.BuiltinOperator.MEAN,
    options: opt<"MEAN">(
      fb.BuiltinOptions.ReducerOptions,
      (b, o) => fb.ReducerOptions.createReducerOptions(b, o.keepDims),
    ),
  },
  RESHAPE: {
    code: fb.BuiltinOperator.RESHAPE,
    options: opt<"RESHAPE">(
      fb.BuiltinOptions.ReshapeOptions,
      (b, o) =>
        fb.ReshapeOptions.createReshapeOptions(b, fb.ReshapeOptions.createNewShapeVector(b, o.newShape)),
    ),
  },
  RESIZE_BILINEAR: {
    code: fb.BuiltinOperator.RESIZE_BILINEAR,
    options: opt<"RESIZE_BILINEAR">(
      fb.BuiltinOptions.ResizeBilinearOptions,
      (b, o) => fb.ResizeBilinearOptions.createResizeBilinearOptions(b, o.alignCorners, o.halfPixelCenters),
    ),
  },
  RESIZE_NEAREST_NEIGHBOR: {
    code: fb.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR,
    options: opt<"RESIZE_NEAREST_NEIGHBOR">(
      fb.BuiltinOptions.ResizeNearestNeighborOptions,
      (b, o) =>
        fb.ResizeNearestNeighborOptions.createResizeNearestNeighborOptions(
          b,
          o.alignCorners,
          o.halfPixelCenters,
        ),
    ),
  },
  SOFTMAX: {
    code: fb.BuiltinOperator.SOFTMAX,
    options: opt<"SOFTMAX">(
      fb.BuiltinOptions.SoftmaxOptions,
      (b, o) => fb.SoftmaxOptions.createSoftmaxOptions(b, o.beta),
    ),
  },
  LOGISTIC: { code: fb.BuiltinOperator.LOGISTIC },
  TANH: { code: fb.BuiltinOperator.TANH },
  RELU: { code: fb.BuiltinOperator.RELU },
  RELU6: { code: fb.BuiltinOperator.RELU6 },
  QUANTIZE: {
    code: fb.BuiltinOperator.QUANTIZE,
    options: opt(fb.BuiltinOptions.QuantizeOptions, (b) => fb.QuantizeOptions.createQuantizeOptions(b)),
  },
  DEQUANTIZE: {
    code: fb.BuiltinOperator.DEQUANTIZE,
    options: opt(fb.BuiltinOptions.DequantizeOptions, (b) => fb.DequantizeOptions.createDequantizeOptions(b)),
  },
};

/**
 * Operator version, as TFLite's converter numbers them: the version that introduced the input
 * types used (int8 kernels, float16 dequantize); a runtime picks its kernel by (code, version).
 */
function opVersion(op: TfliteOp, tensors: TfliteTensor[]): number {
  const x = tensors[op.inputs[0]]?.type;
  if (op.op === "DEQUANTIZE") return x === "float16" ? 3 : x === "int8" ? 2 : 1;
  if (op.op === "QUANTIZE") return tensors[op.outputs[0]].type === "int8" ? 2 : 1;
  if (x !== "int8" && !(op.op === "TRANSPOSE_CONV" && tensors[op.inputs[2]].type === "int8")) return 1;
  const int8: Partial<Record<OpName, number>> = { CONV_2D: 3, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 4 };
  return int8[op.op] ?? 2;
}

/**
 * Serialize `graph` to the bytes of a .tflite file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToTflite } from "./graph.ts";
 * import { encodeTflite } from "./write.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * const bytes = encodeTflite(tfjsToTflite(model));
 * assert.equal(new TextDecoder().decode(bytes.subarray(4, 8)), "TFL3");
 * ```
 */
export function encodeTflite(graph: TfliteGraph): Uint8Array {
  const b = new flatbuffers.Builder(1024 + graph.tensors.reduce((n, t) => n + (t.data?.byteLength ?? 0), 0));
  const buffers: flatbuffers.Offset[] = [fb.Buffer.createBuffer(b, 0)];
  const dataBuffer = (bytes: Uint8Array) => {
    b.prep(16, bytes.length); // force_align: 16 on Buffer.data
    const data = b.createByteVector(bytes);
    return buffers.push(fb.Buffer.createBuffer(b, data)) - 1;
  };

  const tensors = graph.tensors.map((t) => {
    const buffer = t.data
      ? dataBuffer(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
      : 0;
    const name = b.createString(t.name);
    const shape = fb.Tensor.createShapeVector(b, t.shape);
    const quant = t.quant ? quantization(b, t.quant) : 0;
    fb.Tensor.startTensor(b);
    fb.Tensor.addShape(b, shape);
    fb.Tensor.addType(b, TYPES[t.type]);
    fb.Tensor.addBuffer(b, buffer);
    fb.Tensor.addName(b, name);
    if (quant) fb.Tensor.addQuantization(b, quant);
    return fb.Tensor.endTensor(b);
  });

  const codes: string[] = [];
  const opcodeOffsets: flatbuffers.Offset[] = [];
  const operators = graph.ops.map((op) => {
    const w = WRITERS[op.op];
    const version = opVersion(op, graph.tensors);
    const key = `${op.op}/${version}`;
    let index = codes.indexOf(key);
    if (index < 0) {
      index = codes.push(key) - 1;
      // deprecated_builtin_code is what readers before schema 3a look at; every code here is < 127.
      opcodeOffsets.push(fb.OperatorCode.createOperatorCode(b, w.code, 0, version, w.code));
    }
    const options = w.options ? w.options[1](b, op) : 0;
    const inputs = fb.Operator.createInputsVector(b, op.inputs);
    const outputs = fb.Operator.createOutputsVector(b, op.outputs);
    return fb.Operator.createOperator(
      b,
      index,
      inputs,
      outputs,
      w.options ? w.options[0] : fb.BuiltinOptions.NONE,
      options,
    );
  });

  const subgraph = fb.SubGraph.createSubGraph(
    b,
    fb.SubGraph.createTensorsVector(b, tensors),
    fb.SubGraph.createInputsVector(b, graph.inputs),
    fb.SubGraph.createOutputsVector(b, graph.outputs),
    fb.SubGraph.createOperatorsVector(b, operators),
    b.createString(graph.name),
  );
  const metaBuffer = dataBuffer(new TextEncoder().encode(JSON.stringify(graph.metadata)));
  const metadata = fb.Metadata.createMetadata(b, b.createString("edgeslim"), metaBuffer);
  const model = fb.Model.createModel(
    b,
    3,
    fb.Model.createOperatorCodesVector(b, opcodeOffsets),
    fb.Model.createSubgraphsVector(b, [subgraph]),
    b.createString(`edgeslim: ${graph.name}`),
    fb.Model.createBuffersVector(b, buffers),
    0,
    fb.Model.createMetadataVector(b, [metadata]),
  );
  fb.Model.finishModelBuffer(b, model);
  return b.asUint8Array().slice();
}

function quantization(b: Builder, q: NonNullable<TfliteTensor["quant"]>): flatbuffers.Offset {
  const scale = fb.QuantizationParameters.createScaleVector(b, q.scale);
  const zero = fb.QuantizationParameters.createZeroPointVector(b, q.zeroPoint.map(BigInt));
  fb.QuantizationParameters.startQuantizationParameters(b);
  fb.QuantizationParameters.addScale(b, scale);
  fb.QuantizationParameters.addZeroPoint(b, zero);
  fb.QuantizationParameters.addQuantizedDimension(b, q.axis);
  return fb.QuantizationParameters.endQuantizationParameters(b);
}
