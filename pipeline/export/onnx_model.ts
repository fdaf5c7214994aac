/**
 * A small in-memory ONNX graph (nodes + typed initializers) and its encoding to a ModelProto
 * with the protobufjs classes of `onnx-proto` (no hand-written bytes).
 *
 * The converter (onnx_graph.ts) and the quantizers (quantize.ts) edit this plain form;
 * `encodeModel` is the only place that touches protobuf.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** ONNX opset written into every model; 13 is the first with per-axis QuantizeLinear. */
export const OPSET = 13;
/** ONNX IR version 8 (ONNX 1.10+), readable by Debian's python3-onnx 1.12 and onnxruntime 1.30. */
export const IR_VERSION = 8;

/** Element types used here, with their TensorProto.DataType numbers. */
export const DTYPE = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, float16: 10 } as const;
export type DType = keyof typeof DTYPE;

/** A constant tensor; float16 data is stored as IEEE half bit patterns. */
export interface Initializer {
  name: string;
  dtype: DType;
  dims: number[];
  data: Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
}

/** A node attribute, tagged with its ONNX type. */
export type Attribute =
  | { int: number }
  | { ints: number[] }
  | { float: number }
  | { string: string };

export interface OnnxNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attribute>;
  /** Non-default operator domain, e.g. "com.microsoft" (unused by the exporter today). */
  domain?: string;
}

/** A graph input or output: float32; `-1` dims are symbolic ("N" for the batch); no shape = unknown. */
export interface ValueInfo {
  name: string;
  shape?: number[];
}

export interface OnnxGraph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: OnnxNode[];
  initializers: Initializer[];
  /** Written to ModelProto.metadata_props. */
  metadata: Record<string, string>;
}

/** A deep-enough copy of `graph` for transforms that add or replace nodes and initializers. */
export function cloneGraph(graph: OnnxGraph): OnnxGraph {
  return {
    ...graph,
    inputs: graph.inputs.map((v) => ({ ...v })),
    outputs: graph.outputs.map((v) => ({ ...v })),
    nodes: graph.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })),
    initializers: [...graph.initializers],
    metadata: { ...graph.metadata },
  };
}

function valueInfo(v: ValueInfo) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DTYPE.float,
        ...(v.shape
          ? {
            shape: {
              dim: v.shape.map((d, i) => d < 0 ? { dimParam: i === 0 ? "N" : `d${i}` } : { dimValue: d }),
            },
          }
          : {}),
      },
    },
  };
}

function attribute(name: string, a: Attribute) {
  const T = onnx.AttributeProto.AttributeType;
  if ("int" in a) return { name, type: T.INT, i: a.int };
  if ("ints" in a) return { name, type: T.INTS, ints: a.ints };
  if ("float" in a) return { name, type: T.FLOAT, f: a.float };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
}

function tensor(t: Initializer) {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  // raw_data is little-endian by the spec, as are typed arrays on every platform Deno runs on.
  return { name: t.name, dataType: DTYPE[t.dtype], dims: t.dims, rawData: bytes.slice() };
}

/**
 * Encode `graph` as a serialized ONNX ModelProto.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeModel } from "./onnx_model.ts";
 * const bytes = encodeModel({
 *   name: "id", metadata: {}, initializers: [],
 *   inputs: [{ name: "x", shape: [-1, 2] }], outputs: [{ name: "y", shape: [-1, 2] }],
 *   nodes: [{ op: "Relu", name: "relu", inputs: ["x"], outputs: ["y"] }],
 * });
 * assert(bytes.length > 20);
 * ```
 */
export function encodeModel(graph: OnnxGraph): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "edgeslim",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: OPSET }],
    metadataProps: Object.entries(graph.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: graph.initializers.map(tensor),
      node: graph.nodes.map((n) => ({
        opType: n.op,
        name: n.name,
        input: n.inputs,
        output: n.outputs,
        domain: n.domain ?? "",
        attribute: Object.entries(n.attrs ?? {}).map(([k, a]) => attribute(k, a)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Op types of a serialized model's graph, in order (for tests and reports). */
export function decodeOps(bytes: Uint8Array): string[] {
  const model = onnx.ModelProto.decode(bytes);
  return (model.graph?.node ?? []).map((n) => n.opType ?? "");
}

/** metadata_props of a serialized model as a plain record. */
export function decodeMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  return Object.fromEntries(model.metadataProps.map((p) => [p.key ?? "", p.value ?? ""]));
}
