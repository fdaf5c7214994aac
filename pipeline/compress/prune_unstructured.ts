/**
 * Unstructured global magnitude pruning: the smallest |w| over all conv and dense kernels are set
 * to zero (the tensors keep their shape, so accounting reports the zeros). The returned masks keep
 * them at zero while fine-tuning (`TrainerOptions.masks`).
 */
import * as tf from "@tensorflow/tfjs";

/** Kernels that are pruned: the first weight of these layer kinds. */
const PRUNED_KINDS = new Set(["Conv2D", "Dense", "DepthwiseConv2D", "Conv2DTranspose"]);

/**
 * Zero the `sparsity` fraction of smallest-magnitude kernel weights of `model`, in place, ranked
 * globally across layers (ties: the earlier weight goes first). Returns 0/1 masks by layer name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
 * import { account } from "../models/accounting.ts";
 * import { pruneMagnitude } from "./prune_unstructured.ts";
 * const model = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 1);
 * pruneMagnitude(model, 0.5);
 * assert(account(model).params_zero >= 3_000);
 * ```
 */
export function pruneMagnitude(model: tf.LayersModel, sparsity: number): Record<string, Float32Array> {
  if (!(sparsity >= 0 && sparsity <= 1)) {
    throw new Error(`pruneMagnitude: sparsity ${sparsity} is not in [0, 1]`);
  }
  const layers = model.layers.filter((l) => PRUNED_KINDS.has(l.getClassName()) && l.weights.length > 0);
  const kernels = layers.map((l) => l.getWeights()[0].dataSync() as Float32Array);
  const total = kernels.reduce((n, k) => n + k.length, 0);
  const magnitudes = new Float32Array(total);
  let offset = 0;
  for (const k of kernels) {
    for (let i = 0; i < k.length; i++) magnitudes[offset + i] = Math.abs(k[i]);
    offset += k.length;
  }
  const order = new Uint32Array(total).map((_, i) => i).sort((a, b) =>
    magnitudes[a] - magnitudes[b] || a - b
  );
  const zeroed = new Uint8Array(total);
  for (let i = 0; i < Math.round(sparsity * total); i++) zeroed[order[i]] = 1;
  const masks: Record<string, Float32Array> = {};
  offset = 0;
  layers.forEach((layer, li) => {
    const mask = new Float32Array(kernels[li].length).map((_, i) => zeroed[offset + i] ? 0 : 1);
    offset += mask.length;
    const [kernel, ...rest] = layer.getWeights();
    const values = Float32Array.from(kernels[li], (v, i) => mask[i] === 0 ? 0 : v);
    const pruned = tf.tensor(values, kernel.shape);
    layer.setWeights([pruned, ...rest]);
    pruned.dispose();
    masks[layer.name] = mask;
  });
  return masks;
}
