/** Thin helpers that run wasm kernels on plain Float32Arrays (usable inside kernels too). */
import * as tf from "@tensorflow/tfjs-core";

// deno-lint-ignore no-explicit-any
type Backend = any;
type Info = tf.TensorInfo;

/** The wasm backend instance. */
export function wasmBackend(): Backend {
  return tf.findBackend("wasm");
}

/** Copy a wasm tensor out of the heap. */
export function download(t: Info): Float32Array {
  return wasmBackend().readSync(t.dataId) as Float32Array;
}

function run(name: string, b: Backend, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`wasm kernel ${name} missing`);
  return k.kernelFunc({ inputs, backend: b, attrs: attrs as tf.NamedAttrMap }) as Info;
}

/** C[m,n] = A[m,k]·B[k,n] with the wasm (XNNPACK) fast path: no transposes. */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const ta = upload(a, [1, m, k]), tb = upload(b, [1, k, n]);
  const out = run("BatchMatMul", wasmBackend(), { a: ta, b: tb }, { transposeA: false, transposeB: false });
  const r = download(out);
  free(ta, tb, out);
  return r;
}

/** NHWC conv2d through the wasm Conv2D kernel; `pad` as tfjs accepts it (incl. explicit). */
export function conv2d(
  x: Float32Array,
  xShape: number[],
  w: Float32Array,
  wShape: number[],
  strides: [number, number],
  pad: "same" | "valid" | number[][],
): { data: Float32Array; shape: number[] } {
  const tx = upload(x, xShape), tw = upload(w, wShape);
  const out = run("Conv2D", wasmBackend(), { x: tx, filter: tw }, {
    strides,
    pad,
    dataFormat: "NHWC",
    dilations: [1, 1],
    dimRoundingMode: undefined,
  });
  const r = { data: download(out), shape: out.shape.slice() };
  free(tx, tw, out);
  return r;
}

/** A float32 tensor on the wasm heap, uninitialised (fill every element). */
export function alloc(shape: number[]): Info {
  return wasmBackend().makeOutput(shape, "float32");
}

/** A live view of a heap tensor; re-take it after any allocation (the heap may grow). */
export function heap(t: Info): Float32Array {
  return wasmBackend().typedArrayFromHeap(t) as Float32Array;
}

/** Copy `values` into a new wasm heap tensor (free it with `free`). */
export function upload(values: Float32Array, shape: number[]): Info {
  return wasmBackend().makeOutput(shape, "float32", undefined, values);
}

/** Free heap tensors made here or by wasm kernels (not tfjs `Tensor`s). */
export function free(...ts: Info[]): void {
  const b = wasmBackend();
  for (const t of ts) b.disposeData(t.dataId);
}

/** Same data, another shape (no copy; free only one of them). */
export function reshaped(t: Info, shape: number[]): Info {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Heap-to-heap NHWC conv2d, stride 1 (the XNNPACK path); returns a new heap tensor. */
export function conv2dHeap(x: Info, w: Info, pad: "same" | "valid" | number[][]): Info {
  return run("Conv2D", wasmBackend(), { x, filter: w }, {
    strides: [1, 1],
    pad,
    dataFormat: "NHWC",
    dilations: [1, 1],
    dimRoundingMode: undefined,
  });
}

/** A tensor aliasing `base`'s heap memory from element `elem` on; release it with `unview`, never `free`. */
export function viewAt(base: Info, elem: number, shape: number[]): Info {
  const b = wasmBackend();
  return b.makeOutput(shape, "float32", b.dataIdMap.get(base.dataId).memoryOffset + elem * 4);
}

/** Forget an alias made by `viewAt` without freeing the memory it points into. */
export function unview(t: Info): void {
  const b = wasmBackend();
  b.wasm.tfjs.disposeData(b.dataIdMap.get(t.dataId).id);
  b.dataIdMap.delete(t.dataId);
}
