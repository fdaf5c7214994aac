/**
 * Channel importance functions: `(group) => Float32Array` with one score per group channel,
 * higher = more important (kept first), as Torch-Pruning's importance criteria.
 */
import type { Group, Member } from "./prune_graph.ts";

/** Scores the channels of a group; the lowest are pruned. */
export type Importance = (group: Group) => Float32Array;

/** Sum of |w| (p = 1) or w² (p = 2) of each group channel over the members `pick` selects. */
function norm(group: Group, pick: (m: Member) => boolean, p: 1 | 2, what: string): Float32Array {
  const scores = new Float32Array(group.size);
  const members = group.members.filter(pick);
  if (members.length === 0) throw new Error(`importance: group of "${group.root}" has no ${what}`);
  for (const m of members) {
    const weight = group.layers.get(m.layer)!.weights[m.weight];
    const shape = weight.shape as number[];
    const values = weight.read().dataSync();
    // Per-index sums along `axis`: the weight as [outer, dim, inner].
    const dim = shape[m.axis];
    const inner = shape.slice(m.axis + 1).reduce((a, b) => a * b, 1);
    const sums = new Float64Array(dim);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      sums[Math.floor(i / inner) % dim] += p === 1 ? Math.abs(v) : v * v;
    }
    m.indices.forEach((list, c) => list.forEach((i) => scores[c] += sums[i]));
  }
  return p === 2 ? scores.map(Math.sqrt) : scores;
}

/**
 * L1 norm of each output channel's filter (the producers' kernels), as Torch-Pruning's
 * MagnitudeImportance(p=1) over the conv weights; channels shared by merged producers sum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { buildGroups, readGraph } from "./prune_graph.ts";
 * import { l1Importance } from "./importance.ts";
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ name: "conv", inputShape: [4, 4, 1], filters: 2, kernelSize: 1, kernelInitializer: "ones" }),
 *   tf.layers.globalAveragePooling2d({}),
 *   tf.layers.dense({ units: 1 }),
 * ] });
 * assert(l1Importance(buildGroups(readGraph(model))[0]).join() === "1,1");
 * ```
 */
export const l1Importance: Importance = (group) =>
  norm(group, (m) => m.role === "out" && m.param.endsWith("kernel"), 1, "conv/dense kernel");

/** |γ| of the batch norm after each channel (network slimming); the group must have one. */
export const bnScaleImportance: Importance = (group) =>
  norm(group, (m) => m.role === "channel" && m.param === "gamma", 1, "batch-norm γ");

/** Importance functions by the names the pipeline file uses. */
export const IMPORTANCE: Record<string, Importance> = { l1: l1Importance, bn_scale: bnScaleImportance };
