/** Activations fused into conv / dense layers and the Activation / ReLU layers: forward in place, backward from the output. */
import type { Allocator } from "../_arena.ts";
import type { NativeKernels } from "../native/mod.ts";
import type { LayerConfig } from "./_types.ts";

/** Activation names the engine runs (tfjs-layers' serialised names). */
export const ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "softmax", "tanh"] as const;
export type Activation = typeof ACTIVATIONS[number];

/** The `activation` field of a config (absent = linear); unknown names are refused by name. */
export function activationOf(config: LayerConfig, field = "activation"): Activation {
  const v = config[field] ?? "linear";
  if (typeof v !== "string" || !(ACTIVATIONS as readonly string[]).includes(v)) {
    throw new Error(`field "${field}" is ${JSON.stringify(v)}, expected one of ${ACTIVATIONS.join(", ")}`);
  }
  return v as Activation;
}

/** y = f(y) in place; softmax runs over the last axis of size `c`; ReLU runs natively. */
export function activate(f: Activation, y: Float32Array, c: number, k: NativeKernels): void {
  switch (f) {
    case "linear":
      return;
    case "relu":
      return k.relu(y, y);
    case "relu6":
      for (let i = 0; i < y.length; i++) y[i] = y[i] < 0 ? 0 : y[i] > 6 ? 6 : y[i];
      return;
    case "sigmoid":
      for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-y[i]));
      return;
    case "tanh":
      for (let i = 0; i < y.length; i++) y[i] = Math.tanh(y[i]);
      return;
    case "softmax":
      for (let r = 0; r < y.length; r += c) {
        let max = -Infinity, sum = 0;
        for (let j = 0; j < c; j++) max = Math.max(max, y[r + j]);
        for (let j = 0; j < c; j++) sum += y[r + j] = Math.exp(y[r + j] - max);
        for (let j = 0; j < c; j++) y[r + j] /= sum;
      }
  }
}

/** dz from the activation's output y and dy (a new array; dy is left as it is). */
export function activationGrad(
  f: Activation,
  y: Float32Array,
  dy: Float32Array,
  c: number,
  ctx: { kernels: NativeKernels; alloc: Allocator },
): Float32Array {
  if (f === "linear") return dy; // the executor never writes into a gradient it handed on
  const dz = ctx.alloc.f32(dy.length);
  switch (f) {
    case "relu":
      ctx.kernels.reluGrad(y, dy, dz);
      break;
    case "relu6":
      for (let i = 0; i < y.length; i++) dz[i] = y[i] > 0 && y[i] < 6 ? dy[i] : 0;
      break;
    case "sigmoid":
      for (let i = 0; i < y.length; i++) dz[i] = dy[i] * y[i] * (1 - y[i]);
      break;
    case "tanh":
      for (let i = 0; i < y.length; i++) dz[i] = dy[i] * (1 - y[i] * y[i]);
      break;
    case "softmax":
      for (let r = 0; r < y.length; r += c) {
        let dot = 0;
        for (let j = 0; j < c; j++) dot += y[r + j] * dy[r + j];
        for (let j = 0; j < c; j++) dz[r + j] = y[r + j] * (dy[r + j] - dot);
      }
  }
  return dz;
}
