/**
 * Batch-1 runners for the formats bench measures: tfjs on the wasm backend and onnxruntime-node.
 * A runner's `predict` includes wrapping the input and reading the output back, as an app would.
 */
import * as tf from "@tensorflow/tfjs";
import { createSession, ort, ORT_RUNTIME, toNchw } from "../export/ort.ts";
import { loadModel } from "../models/io.ts";

export interface Runner {
  runtime: string;
  /** Execution provider / backend, e.g. "cpu" or "wasm-simd". */
  provider: string;
  threads: number;
  /** Outputs (first output) for `n` NHWC float images in [0,1]. */
  predict(images: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** tfjs-layers model on the active backend (wasm: SIMD, one thread in Deno). */
export async function tfjsRunner(dir: string, size: number): Promise<Runner> {
  const model = await loadModel(dir);
  return {
    runtime: `tfjs-${tf.getBackend()} ${tf.version.tfjs}`,
    provider: tf.getBackend() === "wasm" ? "wasm-simd" : tf.getBackend(),
    threads: 1,
    predict(images, n) {
      return Promise.resolve(
        tf.tidy(() =>
          (model.predict(tf.tensor4d(images, [n, size, size, 3])) as tf.Tensor).dataSync() as Float32Array
        ),
      );
    },
    dispose() {
      model.dispose();
      return Promise.resolve();
    },
  };
}

/** An ONNX file on onnxruntime's CPU execution provider with `threads` intra-op threads. */
export async function onnxRunner(
  path: string,
  size: number,
  threads: number,
  layout: "NHWC" | "NCHW",
): Promise<Runner> {
  const session = await createSession(path, { threads });
  const output = session.outputNames[0];
  return {
    runtime: ORT_RUNTIME,
    provider: "cpu",
    threads,
    async predict(images, n) {
      const x = layout === "NHWC" ? images : toNchw(images, n, size, size, 3);
      const dims = layout === "NHWC" ? [n, size, size, 3] : [n, 3, size, size];
      const results = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x, dims) });
      const y = results[output].data as Float32Array;
      for (const t of Object.values(results)) t.dispose();
      return y;
    },
    async dispose() {
      await session.release();
    },
  };
}

/** Warm up, then time `runs` batch-1 predictions of `image`; returns milliseconds per run. */
export async function timeRuns(
  runner: Runner,
  image: Float32Array,
  warmup: number,
  runs: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await runner.predict(image, 1);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runner.predict(image, 1);
    times.push(performance.now() - t0);
  }
  return times;
}
