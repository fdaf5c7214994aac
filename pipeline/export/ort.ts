/**
 * onnxruntime-node helpers shared by export (parity, calibration, accuracy) and bench (latency).
 */
import * as ort from "onnxruntime-node";

/** Runtime label written into results rows. */
export const ORT_RUNTIME = "onnxruntime-node 1.30.0 cpu";

export interface SessionOptions {
  /** intra_op_num_threads. @default 1 */
  threads?: number;
  /**
   * Graph optimizations. "disabled" runs a QDQ graph as written: DequantizeLinear, float Conv,
   * QuantizeLinear, so the int8 arithmetic is done by float kernels, the same on every CPU
   * (no int8 kernel, no VNNI-dependent saturation). @default "all"
   */
  optimization?: "all" | "disabled";
}

/** A session on the CPU execution provider; `threads` intra-op threads, one inter-op thread. */
export async function createSession(model: Uint8Array | string, options: SessionOptions = {}) {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: ["cpu"],
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: options.optimization ?? "all",
  };
  return typeof model === "string"
    ? await ort.InferenceSession.create(model, opts)
    : await ort.InferenceSession.create(model, opts);
}

/** Run `session` on one float32 batch (`dims` = the model input's shape); returns every output. */
export async function runBatch(
  session: ort.InferenceSession,
  data: Float32Array,
  dims: number[],
): Promise<Record<string, Float32Array>> {
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, dims) };
  const results = await session.run(feeds);
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(results)) {
    out[name] = t.data as Float32Array;
    t.dispose();
  }
  return out;
}

/**
 * NHWC images (floats in [0,1]) → the model's input dims for a batch of `n`, honouring the
 * layout written into the ONNX metadata.
 */
export function inputDims(layout: "NHWC" | "NCHW", n: number, size: number, channels = 3): number[] {
  return layout === "NHWC" ? [n, size, size, channels] : [n, channels, size, size];
}

/** NHWC → NCHW copy of a float batch (for models exported with an NCHW input). */
export function toNchw(data: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k];
      }
    }
  }
  return out;
}

export { ort };
