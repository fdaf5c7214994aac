/** A tfjs BatchNormalization layer's parameters, as both exporters (ONNX, TFLite) fold or emit them. */
import type * as tf from "@tensorflow/tfjs";

export interface BnParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** γ, β, moving mean and variance, ε of `bn`; an absent γ is ones and an absent β zeros. */
export function batchNormParams(bn: tf.layers.Layer): BnParams {
  const cfg = bn.getConfig() as Record<string, unknown>;
  const w = bn.getWeights().map((t) => t.dataSync() as Float32Array);
  let i = 0;
  const c = w[w.length - 1].length;
  const gamma = cfg.scale !== false ? w[i++] : new Float32Array(c).fill(1);
  const beta = cfg.center !== false ? w[i++] : new Float32Array(c);
  return { gamma, beta, mean: w[i++], variance: w[i++], epsilon: Number(cfg.epsilon ?? 1e-3) };
}
