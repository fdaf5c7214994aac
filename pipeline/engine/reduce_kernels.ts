/**
 * Fast paths for wasm's Sum, Mean and Tile in the shapes batch-norm and bias gradients produce:
 * reducing / tiling over *leading* axes (e.g. NHWC → C). Stock wasm transposes the reduced axes
 * to the end first, or tiles element by element; one streaming pass is much faster.
 * Every other case goes to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs-core";
import { upload } from "./_wasm_ops.ts";

type Info = tf.TensorInfo;
// deno-lint-ignore no-explicit-any
type Backend = any;

/** Number of leading axes reduced when `axis` is exactly 0..k-1 (k < rank), else 0. */
function leadingAxes(shape: number[], axis: number | number[]): number {
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  return axes.length < shape.length && axes.every((a, i) => a === i) ? axes.length : 0;
}

function reduceLeading(b: Backend, x: Info, k: number, keepDims: boolean, mean: boolean): Info {
  const xv = b.typedArrayFromHeap(x) as Float32Array;
  const outer = tf.util.sizeFromShape(x.shape.slice(0, k)), inner = xv.length / outer;
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    for (let i = 0; i < inner; i++) acc[i] += xv[base + i];
  }
  const out = new Float32Array(inner);
  for (let i = 0; i < inner; i++) out[i] = mean ? acc[i] / outer : acc[i];
  const shape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
  return upload(out, shape);
}

function withFallback(name: string, fast: (args: Parameters<tf.KernelFunc>[0]) => Info | null): void {
  const stock = tf.getKernel(name, "wasm");
  if (!stock) throw new Error(`wasm kernel ${name} missing`);
  // Keep the original around across repeated registration.
  const original = (stock as { edgeslimStock?: tf.KernelConfig }).edgeslimStock ?? stock;
  tf.unregisterKernel(name, "wasm");
  const config = {
    kernelName: name,
    backendName: "wasm",
    setupFunc: original.setupFunc,
    kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => fast(args) ?? original.kernelFunc(args),
    edgeslimStock: original,
  };
  tf.registerKernel(config as tf.KernelConfig);
}

/** Register the Sum / Mean / Tile fast paths for `wasm`. Idempotent. */
export function registerReduceKernels(): void {
  for (const [name, mean] of [[tf.Sum, false], [tf.Mean, true]] as const) {
    withFallback(name, ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: Info };
      const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
      const k = x.dtype === "float32" ? leadingAxes(x.shape, axis) : 0;
      return k > 0 ? reduceLeading(backend, x, k, keepDims, mean) : null;
    });
  }
  withFallback(tf.Tile, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: Info };
    const { reps } = attrs as unknown as tf.TileAttrs;
    // Fast path: x = [1,…,1, tail…] repeated over leading size-1 axes only.
    const k = reps.findLastIndex((r) => r !== 1) + 1;
    if (x.dtype !== "float32" || k === 0 || x.shape.slice(0, k).some((d) => d !== 1)) return null;
    const xv = (backend as Backend).typedArrayFromHeap(x) as Float32Array;
    const copies = reps.slice(0, k).reduce((a, r) => a * r, 1);
    const out = new Float32Array(xv.length * copies);
    out.set(xv);
    for (let have = xv.length; have < out.length; have *= 2) {
      out.copyWithin(have, 0, Math.min(have, out.length - have));
    }
    return upload(out, x.shape.map((d, i) => d * reps[i]));
  });
}
