/** Backend setup for tfjs inference: wasm (default) with the engine's kernels (transposed-conv input gradient, reductions). */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerConvKernels } from "./conv_kernels.ts";
import { registerReduceKernels } from "./reduce_kernels.ts";

let initialised = false;

function silenceCpuBanner(): void {
  // The cpu backend prints its "install tfjs-node" banner on its first write; mark it as used.
  const cpu = tf.engine().findBackend("cpu") as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * Set the tfjs backend (default `wasm`) and register the engine's kernels. Idempotent.
 * Also silences the cpu backend's "install tfjs-node" banner.
 */
export async function initEngine(opts: { backend?: "wasm" | "cpu" } = {}): Promise<void> {
  if (!initialised) {
    registerConvKernels();
    registerReduceKernels();
  }
  initialised = true;
  silenceCpuBanner();
  const backend = opts.backend ?? "wasm";
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
    throw new Error(`tfjs backend ${backend} failed to initialise`);
  }
  await tf.ready();
}

/**
 * Make sure the engine is set up and the wasm backend exists (the trainer calls wasm kernels
 * directly), without changing the active backend if `initEngine` already chose one.
 */
export async function ensureEngine(): Promise<void> {
  if (!initialised) return await initEngine();
  if (!tf.findBackend("wasm")) {
    const active = tf.getBackend();
    await tf.setBackend("wasm");
    await tf.setBackend(active);
  }
}
