/**
 * A JavaScript integer reference for the QDQ graphs `quantizeQdq` writes, and a simulation of the
 * 16-bit saturation of onnxruntime's x86 u8s8 kernels without VNNI.
 *
 * Each Conv / Gemm whose input is a dequantized activation and whose weight is a dequantized
 * int8 initializer runs on the integer codes, as QLinearConv / QGemm do:
 * `acc = Σ a·w − zp_a·Σ w` (a: raw activation codes, w: int8 weights), `y = acc·s_a·s_w + b`.
 *
 * - `accumulate: "exact"`: int32 sums, what VNNI (`vpdpbusd`), ARM (`sdot`/`udot`) and the
 *   portable kernels compute: the CPU-independent int8 result.
 * - `accumulate: "avx2-u8s8"`: what MLAS's AVX2 / AVX-512 (no VNNI) kernels compute:
 *   `vpmaddubsw` multiplies u8 activations by s8 weights and adds adjacent pairs into a
 *   *saturating* int16, then `vpmaddwd` with ones widens to int32. A pair a0·w0 + a1·w1 can reach
 *   255·127·2 = 64770 and is clamped to [−32768, 32767].
 *
 * Pairing (the assumption of the simulation): the reduction dimension K of a conv is ordered
 * (kh, kw, input channel), input channel fastest, and pairs are (K[2j], K[2j+1]). That is how
 * MLAS packs both paths onnxruntime 1.30 takes for a QLinearConv on x86: ConvSym
 * (input channels % 4 == 0; `MlasConvSymPackW` packs each kernel position in blocks of 4 input
 * channels) and NHWC im2col + QGEMM (K in (kh, kw, cin) order, packed in groups of 4). For Gemm,
 * K is the input feature. int8 activations are simulated as onnxruntime runs them on x86: its
 * `QDQS8ToU8Transformer` turns them into uint8 (code + 128, zero point + 128), so the raw codes
 * the kernel multiplies are the same as for uint8.
 *
 * The bound that needs no pairing assumption: with |w| ≤ 64 a pair is at most 255·64·2 = 32640.
 */
import onnxProto from "onnx-proto";
import { DTYPE, type DType, type Initializer, type OnnxGraph, type OnnxNode } from "./onnx_model.ts";

const { onnx } = onnxProto;

/** int16 range of one `vpmaddubsw` lane. */
export const INT16_MIN = -32768, INT16_MAX = 32767;

export interface ReferenceOptions {
  /** "exact" int32 sums, or onnxruntime's AVX2 u8s8 kernels with saturating int16 pair sums. @default "exact" */
  accumulate?: "exact" | "avx2-u8s8";
}

/** Pair sums of one integer Conv / Gemm over every image run. */
export interface PairStats {
  /** Node name. */
  layer: string;
  op: string;
  /** Pair sums formed (output positions × output channels × ⌈K / 2⌉ × images). */
  pairs: number;
  /** Pair sums outside [−32768, 32767] (clamped in "avx2-u8s8"). */
  clipped: number;
  /** Largest |pair sum| seen (before clamping). */
  maxAbsPair: number;
  /** Largest |weight code| of the layer. */
  maxAbsWeight: number;
}

export interface ReferenceResult {
  /** Every graph output, images concatenated. */
  outputs: Record<string, Float32Array>;
  /** One entry per integer Conv / Gemm, in graph order. */
  stats: PairStats[];
}

interface Tensor {
  dims: number[];
  data: Float32Array;
}

/** Integer form of a dequantized tensor: codes, per-tensor or per-channel scale, zero point. */
interface IntForm {
  codes: Int32Array;
  scale: Float32Array;
  zeroPoint: Int32Array;
  dtype: DType;
  dims: number[];
}

/**
 * Run the QDQ `graph` on `n` images (`images`: float batch in the graph input's layout, per-image
 * dims `dims`) in JavaScript, counting the int16 pair sums of every integer Conv / Gemm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runReference } from "./int8_reference.ts";
 * import type { OnnxGraph } from "./onnx_model.ts";
 * const graph: OnnxGraph = {
 *   name: "g", metadata: {}, inputs: [{ name: "x" }], outputs: [{ name: "y" }],
 *   nodes: [
 *     { op: "QuantizeLinear", name: "q", inputs: ["x", "s", "z"], outputs: ["xq"] },
 *     { op: "DequantizeLinear", name: "dq", inputs: ["xq", "s", "z"], outputs: ["xd"] },
 *     { op: "DequantizeLinear", name: "wdq", inputs: ["w8", "ws", "wz"], outputs: ["w"], attrs: { axis: { int: 0 } } },
 *     { op: "Gemm", name: "fc", inputs: ["xd", "w"], outputs: ["y"], attrs: { transB: { int: 1 } } },
 *   ],
 *   initializers: [
 *     { name: "s", dtype: "float", dims: [], data: new Float32Array([1 / 255]) },
 *     { name: "z", dtype: "uint8", dims: [], data: new Uint8Array([0]) },
 *     { name: "w8", dtype: "int8", dims: [1, 2], data: new Int8Array([127, 127]) },
 *     { name: "ws", dtype: "float", dims: [1], data: new Float32Array([1 / 127]) },
 *     { name: "wz", dtype: "int8", dims: [1], data: new Int8Array([0]) },
 *   ],
 * };
 * const x = new Float32Array([1, 1]); // codes 255, 255: 255·127·2 = 64770 > 32767
 * const exact = runReference(graph, x, 1, [2]);
 * const avx2 = runReference(graph, x, 1, [2], { accumulate: "avx2-u8s8" });
 * assert(exact.stats[0].clipped === 1 && Math.abs(exact.outputs.y[0] - 2) < 1e-6);
 * assert(Math.abs(avx2.outputs.y[0] - 32767 / (255 * 127)) < 1e-6);
 * ```
 */
export function runReference(
  graph: OnnxGraph,
  images: Float32Array,
  n: number,
  dims: number[],
  options: ReferenceOptions = {},
): ReferenceResult {
  const saturate = (options.accumulate ?? "exact") === "avx2-u8s8";
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const stats = new Map<string, PairStats>();
  const per = dims.reduce((a, b) => a * b, 1);
  const parts: Record<string, Float32Array[]> = Object.fromEntries(graph.outputs.map((o) => [o.name, []]));
  for (let i = 0; i < n; i++) {
    const values = new Map<string, Tensor>();
    const ints = new Map<string, IntForm>();
    values.set(graph.inputs[0].name, { dims: [1, ...dims], data: images.slice(i * per, (i + 1) * per) });
    for (const node of graph.nodes) runNode(node, values, ints, inits, stats, saturate);
    for (const o of graph.outputs) parts[o.name].push(values.get(o.name)!.data);
  }
  const outputs: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(parts)) {
    outputs[name] = new Float32Array(p.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const x of p) outputs[name].set(x, (o += x.length) - x.length);
  }
  return { outputs, stats: [...stats.values()] };
}

/** Round half to even, as QuantizeLinear does. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function range(dtype: DType): [number, number] {
  if (dtype === "uint8") return [0, 255];
  if (dtype === "int8") return [-128, 127];
  if (dtype === "int32") return [-2147483648, 2147483647];
  throw new Error(`int8 reference: unsupported quantized type "${dtype}"`);
}

function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attrs?.[name];
  return a && "int" in a ? a.int : fallback;
}

function intsAttr(node: OnnxNode, name: string, fallback: number[]): number[] {
  const a = node.attrs?.[name];
  return a && "ints" in a ? a.ints : fallback;
}

function runNode(
  node: OnnxNode,
  values: Map<string, Tensor>,
  ints: Map<string, IntForm>,
  inits: Map<string, Initializer>,
  stats: Map<string, PairStats>,
  saturate: boolean,
): void {
  const get = (name: string): Tensor => {
    const v = values.get(name);
    if (v) return v;
    const t = inits.get(name);
    if (t && t.dtype === "float") return { dims: t.dims, data: t.data as Float32Array };
    throw new Error(`int8 reference: node "${node.name}" reads "${name}", which is not computed yet`);
  };
  const set = (t: Tensor): void => {
    values.set(node.outputs[0], t);
  };
  const [x0] = node.inputs;
  switch (node.op) {
    case "Transpose": {
      const x = get(x0), perm = intsAttr(node, "perm", x.dims.map((_, i) => x.dims.length - 1 - i));
      return set(transposeTensor(x, perm));
    }
    case "QuantizeLinear": {
      // Per-tensor, or per channel along `axis` (scales of length dims[axis]).
      const x = get(x0), s = inits.get(node.inputs[1])!.data, zp = inits.get(node.inputs[2])!;
      const [lo, hi] = range(zp.dtype), axis = intAttr(node, "axis", 1);
      const inner = x.dims.slice(axis + 1).reduce((a, b) => a * b, 1), c = s.length;
      const data = x.data.map((v, i) => {
        const k = c === 1 ? 0 : Math.floor(i / inner) % c;
        return Math.max(lo, Math.min(hi, roundEven(v / Number(s[k])) + Number(zp.data[k])));
      });
      return set({ dims: x.dims, data });
    }
    case "DequantizeLinear": {
      const s = inits.get(node.inputs[1])!, zp = inits.get(node.inputs[2])!;
      const q = inits.get(x0);
      const codes = q ? Int32Array.from(q.data as ArrayLike<number>) : Int32Array.from(get(x0).data);
      const dimsQ = q ? q.dims : get(x0).dims;
      const form: IntForm = {
        codes,
        scale: Float32Array.from(s.data as Float32Array),
        zeroPoint: Int32Array.from(zp.data as ArrayLike<number>),
        dtype: zp.dtype,
        dims: dimsQ,
      };
      ints.set(node.outputs[0], form);
      const channels = form.scale.length, inner = codes.length / channels;
      const data = new Float32Array(codes.length);
      for (let i = 0; i < codes.length; i++) {
        const c = channels === 1 ? 0 : Math.floor(i / inner);
        data[i] = (codes[i] - form.zeroPoint[c]) * form.scale[c];
      }
      return set({ dims: dimsQ, data });
    }
    case "Relu":
      return set({ dims: get(x0).dims, data: get(x0).data.map((v) => Math.max(0, v)) });
    case "MaxPool":
      return set(maxPool(get(x0), node));
    case "GlobalAveragePool": {
      const x = get(x0), [, c, h, w] = x.dims, out = new Float32Array(c);
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let j = 0; j < h * w; j++) sum += x.data[k * h * w + j];
        out[k] = sum / (h * w);
      }
      return set({ dims: [1, c, 1, 1], data: out });
    }
    case "Flatten": {
      const x = get(x0), axis = intAttr(node, "axis", 1);
      const lead = x.dims.slice(0, axis).reduce((a, b) => a * b, 1);
      return set({ dims: [lead, x.data.length / lead], data: x.data });
    }
    case "Softmax": {
      const x = get(x0), c = x.dims[x.dims.length - 1], out = new Float32Array(x.data.length);
      for (let r = 0; r < x.data.length; r += c) {
        let m = -Infinity, sum = 0;
        for (let j = 0; j < c; j++) m = Math.max(m, x.data[r + j]);
        for (let j = 0; j < c; j++) sum += out[r + j] = Math.exp(x.data[r + j] - m);
        for (let j = 0; j < c; j++) out[r + j] /= sum;
      }
      return set({ dims: x.dims, data: out });
    }
    case "Conv":
    case "Gemm": {
      const x = get(x0), b = node.inputs[2] ? get(node.inputs[2]).data : undefined;
      const xi = ints.get(x0), wi = ints.get(node.inputs[1]);
      if (node.op === "Gemm" && intAttr(node, "transB", 0) !== 1) {
        throw new Error(`int8 reference: Gemm "${node.name}" without transB is not supported`);
      }
      const w = get(node.inputs[1]);
      // A Gemm is a 1×1 conv over a 1×1 image.
      const x4 = node.op === "Gemm" ? { dims: [1, x.dims[1], 1, 1], data: x.data } : x;
      const w4 = node.op === "Gemm" ? { dims: [...w.dims, 1, 1], data: w.data } : w;
      const out = xi && wi && wi.dtype === "int8"
        ? intConv(node, x4, xi, w4.dims, wi, b, stats, saturate)
        : floatConv(node, x4, w4, b);
      return set(node.op === "Gemm" ? { dims: [1, out.dims[1]], data: out.data } : out);
    }
    default:
      throw new Error(`int8 reference: unsupported op "${node.op}" (node "${node.name}")`);
  }
}

function scalar(inits: Map<string, Initializer>, name: string): number {
  const t = inits.get(name);
  if (!t || t.data.length !== 1) throw new Error(`int8 reference: "${name}" is not a scalar initializer`);
  return Number(t.data[0]);
}

function transposeTensor(x: Tensor, perm: number[]): Tensor {
  const dims = perm.map((p) => x.dims[p]);
  const strides = x.dims.map((_, i) => x.dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(x.data.length), idx = new Array(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < dims.length; d++) src += idx[d] * strides[perm[d]];
    out[o] = x.data[src];
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return { dims, data: out };
}

interface Geometry {
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
  oh: number;
  ow: number;
}

function geometry(node: OnnxNode, dims: number[], kernel: number[]): Geometry {
  const [, c, h, w] = dims;
  const [kh, kw] = kernel;
  const [sh, sw] = intsAttr(node, "strides", [1, 1]);
  const [top, left, bottom, right] = intsAttr(node, "pads", [0, 0, 0, 0]);
  if (intsAttr(node, "dilations", [1, 1]).some((d) => d !== 1) || intAttr(node, "group", 1) !== 1) {
    throw new Error(`int8 reference: "${node.name}" has dilations or groups (not supported)`);
  }
  const oh = Math.floor((h + top + bottom - kh) / sh) + 1, ow = Math.floor((w + left + right - kw) / sw) + 1;
  return { c, h, w, kh, kw, sh, sw, top, left, oh, ow };
}

function maxPool(x: Tensor, node: OnnxNode): Tensor {
  const g = geometry(node, x.dims, intsAttr(node, "kernel_shape", [1, 1]));
  const out = new Float32Array(g.c * g.oh * g.ow);
  for (let k = 0; k < g.c; k++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        let m = -Infinity;
        for (let dy = 0; dy < g.kh; dy++) {
          const y = oy * g.sh + dy - g.top;
          if (y < 0 || y >= g.h) continue;
          for (let dx = 0; dx < g.kw; dx++) {
            const xx = ox * g.sw + dx - g.left;
            if (xx >= 0 && xx < g.w) m = Math.max(m, x.data[(k * g.h + y) * g.w + xx]);
          }
        }
        out[(k * g.oh + oy) * g.ow + ox] = m;
      }
    }
  }
  return { dims: [1, g.c, g.oh, g.ow], data: out };
}

function floatConv(node: OnnxNode, x: Tensor, w: Tensor, b?: Float32Array): Tensor {
  const [m] = w.dims, g = geometry(node, x.dims, w.dims.slice(2));
  const out = new Float32Array(m * g.oh * g.ow);
  for (let o = 0; o < m; o++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        let acc = b ? b[o] : 0;
        for (let k = 0; k < g.c; k++) {
          for (let dy = 0; dy < g.kh; dy++) {
            const y = oy * g.sh + dy - g.top;
            if (y < 0 || y >= g.h) continue;
            for (let dx = 0; dx < g.kw; dx++) {
              const xx = ox * g.sw + dx - g.left;
              if (xx < 0 || xx >= g.w) continue;
              acc += x.data[(k * g.h + y) * g.w + xx] * w.data[((o * g.c + k) * g.kh + dy) * g.kw + dx];
            }
          }
        }
        out[(o * g.oh + oy) * g.ow + ox] = acc;
      }
    }
  }
  return { dims: [1, m, g.oh, g.ow], data: out };
}

/** Integer conv on raw codes, K in (kh, kw, c) order, pairs (K[2j], K[2j+1]). */
function intConv(
  node: OnnxNode,
  x: Tensor,
  xi: IntForm,
  wDims: number[],
  wi: IntForm,
  b: Float32Array | undefined,
  stats: Map<string, PairStats>,
  saturate: boolean,
): Tensor {
  const [m] = wDims, g = geometry(node, x.dims, wDims.slice(2));
  // x86 runs int8 activations as uint8: code + 128 with zero point + 128 (QDQS8ToU8Transformer).
  const shift = xi.dtype === "int8" ? 128 : 0, zp = xi.zeroPoint[0] + shift;
  const k = g.kh * g.kw * g.c, kp = k + (k % 2);
  // Weights as [m][kh][kw][c], padded to an even K with zeros.
  const w = new Int32Array(m * kp), wsum = new Float64Array(m);
  let maxAbsWeight = 0;
  for (let o = 0; o < m; o++) {
    for (let dy = 0; dy < g.kh; dy++) {
      for (let dx = 0; dx < g.kw; dx++) {
        for (let c = 0; c < g.c; c++) {
          const v = wi.codes[((o * g.c + c) * g.kh + dy) * g.kw + dx];
          w[o * kp + (dy * g.kw + dx) * g.c + c] = v;
          wsum[o] += v;
          maxAbsWeight = Math.max(maxAbsWeight, Math.abs(v));
        }
      }
    }
  }
  // Raw codes NHWC, padded with the zero point (what im2col and ConvSym read outside the image).
  const codes = xi.codes, ph = g.h + g.top + g.kh, pw = g.w + g.left + g.kw;
  const xin = new Int32Array(ph * pw * g.c).fill(zp);
  for (let c = 0; c < g.c; c++) {
    for (let y = 0; y < g.h; y++) {
      for (let xx = 0; xx < g.w; xx++) {
        xin[((y + g.top) * pw + xx + g.left) * g.c + c] = codes[(c * g.h + y) * g.w + xx] + shift;
      }
    }
  }
  const st = stats.get(node.name) ??
    { layer: node.name, op: node.op, pairs: 0, clipped: 0, maxAbsPair: 0, maxAbsWeight };
  stats.set(node.name, st);
  const patch = new Int32Array(kp), out = new Float32Array(m * g.oh * g.ow);
  let clipped = 0, maxAbs = st.maxAbsPair;
  for (let oy = 0; oy < g.oh; oy++) {
    for (let ox = 0; ox < g.ow; ox++) {
      let p = 0;
      for (let dy = 0; dy < g.kh; dy++) {
        const row = ((oy * g.sh + dy) * pw + ox * g.sw) * g.c;
        for (let j = 0; j < g.kw * g.c; j++) patch[p++] = xin[row + j];
      }
      for (let o = 0; o < m; o++) {
        const wo = o * kp;
        let acc = 0;
        for (let j = 0; j < kp; j += 2) {
          let s = patch[j] * w[wo + j] + patch[j + 1] * w[wo + j + 1];
          if (s > INT16_MAX || s < INT16_MIN) {
            clipped++;
            if (saturate) s = s > 0 ? INT16_MAX : INT16_MIN;
          }
          const a = s < 0 ? -s : s;
          if (a > maxAbs) maxAbs = a;
          acc += s;
        }
        const c = wi.scale.length === 1 ? 0 : o;
        out[(o * g.oh + oy) * g.ow + ox] = (acc - zp * wsum[o]) * xi.scale[0] * wi.scale[c] + (b ? b[o] : 0);
      }
    }
  }
  st.pairs += g.oh * g.ow * m * (kp / 2);
  st.clipped += clipped;
  st.maxAbsPair = maxAbs;
  return { dims: [1, m, g.oh, g.ow], data: out };
}

/** Worst-case int16 pair sums of one integer Conv / Gemm, from its weights and input codes alone. */
export interface PairBound {
  layer: string;
  /** Largest raw activation code the input can hold. */
  maxCode: number;
  /** maxCode · max over channels and pairs of (|w0| + |w1|), with the pairing above. */
  paired: number;
  /** maxCode · 2 · max|w|: the bound for any pairing. */
  anyPairing: number;
}

/**
 * Largest pair sum any input could produce. The image (graph input, or its Transpose) is in
 * [0, 1] by the ONNX contract, so its largest code is that of 1.0; every other activation can
 * reach 255 (int8 activations: 127 + 128 once onnxruntime moves them to uint8). A bound ≤ 32767
 * means no pair can saturate on any CPU.
 */
export function pairBound(graph: OnnxGraph): PairBound[] {
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const dq = new Map(graph.nodes.filter((n) => n.op === "DequantizeLinear").map((n) => [n.outputs[0], n]));
  const image = new Set(graph.inputs.map((i) => i.name));
  for (const n of graph.nodes) if (n.op === "Transpose" && image.has(n.inputs[0])) image.add(n.outputs[0]);
  const out: PairBound[] = [];
  for (const node of graph.nodes) {
    if (node.op !== "Conv" && node.op !== "Gemm") continue;
    const xdq = dq.get(node.inputs[0]), wq = inits.get(dq.get(node.inputs[1])?.inputs[0] ?? "");
    if (!xdq || !wq || wq.dtype !== "int8") continue;
    const scale = scalar(inits, xdq.inputs[1]), zp = inits.get(xdq.inputs[2])!;
    const shift = zp.dtype === "int8" ? 128 : 0, top = 255 - (zp.dtype === "int8" ? 128 : 0);
    const source = graph.nodes.find((n) => n.outputs[0] === xdq.inputs[0])?.inputs[0] ?? "";
    const maxCode = (image.has(source) ? Math.min(top, roundEven(1 / scale) + Number(zp.data[0])) : top) +
      shift;
    const [m, c] = wq.dims, taps = wq.data.length / (m * c);
    let paired = 0, widest = 0;
    for (let o = 0; o < m; o++) {
      const row: number[] = []; // (tap, c) order, c fastest
      for (let t = 0; t < taps; t++) {
        for (let k = 0; k < c; k++) row.push(Math.abs(Number(wq.data[(o * c + k) * taps + t])));
      }
      for (let j = 0; j < row.length; j += 2) paired = Math.max(paired, row[j] + (row[j + 1] ?? 0));
      widest = Math.max(widest, ...row);
    }
    out.push({ layer: node.name, maxCode, paired: maxCode * paired, anyPairing: maxCode * 2 * widest });
  }
  return out;
}

/** Read a serialized model (as `encodeModel` writes it: raw_data initializers) back into an OnnxGraph. */
export function graphFromBytes(bytes: Uint8Array): OnnxGraph {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph!;
  const byNumber = Object.fromEntries(Object.entries(DTYPE).map(([k, v]) => [v, k as DType]));
  const initializers: Initializer[] = (g.initializer ?? []).map((t) => {
    const dtype = byNumber[t.dataType ?? 0];
    if (!dtype || !t.rawData) {
      throw new Error(`graphFromBytes: initializer "${t.name}" is not raw ${dtype ?? t.dataType}`);
    }
    const raw = t.rawData.slice(), buf = raw.buffer;
    const data = dtype === "float"
      ? new Float32Array(buf)
      : dtype === "uint8"
      ? new Uint8Array(buf)
      : dtype === "int8"
      ? new Int8Array(buf)
      : dtype === "int32"
      ? new Int32Array(buf)
      : dtype === "int64"
      ? new BigInt64Array(buf)
      : new Uint16Array(buf);
    return { name: t.name ?? "", dtype, dims: (t.dims ?? []).map(Number), data };
  });
  const shape = (v: onnxProto.onnx.IValueInfoProto) =>
    v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam ? -1 : Number(d.dimValue));
  return {
    name: g.name ?? "",
    inputs: (g.input ?? []).map((v) => ({ name: v.name ?? "", shape: shape(v) })),
    outputs: (g.output ?? []).map((v) => ({ name: v.name ?? "", shape: shape(v) })),
    initializers,
    nodes: (g.node ?? []).map((n) => ({
      op: n.opType ?? "",
      name: n.name ?? "",
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      ...(n.domain ? { domain: n.domain } : {}),
      attrs: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? "", decodeAttribute(a)])),
    })),
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""])),
  };
}

function decodeAttribute(a: onnxProto.onnx.IAttributeProto) {
  const T = onnx.AttributeProto.AttributeType;
  if (a.type === T.INT) return { int: Number(a.i) };
  if (a.type === T.INTS) return { ints: (a.ints ?? []).map(Number) };
  if (a.type === T.FLOAT) return { float: a.f ?? 0 };
  return { string: new TextDecoder().decode(a.s ?? new Uint8Array()) };
}
