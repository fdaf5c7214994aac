/**
 * Structured channel pruning (Torch-Pruning's MagnitudePruner, one shot): per group, keep the
 * `floor(c·(1−ratio))` most important channels and remove the rest physically — from the
 * producer, the layers that follow channel-wise (BN, depthwise), and the next layers' inputs.
 * The pruned model is rebuilt from the edited topology JSON; the history of kept channels is
 * JSON and replays onto the unpruned model.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { type Importance, l1Importance } from "./importance.ts";
import { buildGroups, type Group, type ModelGraph, readGraph } from "./prune_graph.ts";

/** Options of `pruneStructured`. */
export interface PruneOptions {
  /** Fraction of each group's channels to remove. */
  ratio: number;
  /** Channel scores. @default l1Importance */
  importance?: Importance;
  /** Keep channel counts multiples of this (hardware-friendly); 1 = exact floor. @default 1 */
  roundTo?: number;
  /** Producers never pruned (besides the model's outputs, which never are). @default [] */
  ignore?: string[];
}

/** What was kept, per group: enough to replay the pruning onto the unpruned model. */
export interface PruneHistory {
  format: "edgeslim-prune-history/1";
  ratio: number;
  groups: { root: string; producers: string[]; channels: number; kept: number[] }[];
}

/** `pruneStructured`, with the history written to `<dir>/prune_history.json` (the folder is created). */
export async function pruneInto(
  model: tf.LayersModel,
  opts: PruneOptions,
  dir: string,
): Promise<tf.LayersModel> {
  const { model: pruned, history } = await pruneStructured(model, opts);
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, "prune_history.json"), JSON.stringify(history, null, 1));
  return pruned;
}

/**
 * Channels kept out of `c`: floor(c·(1−ratio)), then rounded to the nearest multiple of
 * `roundTo` (at least `roundTo`, at most `c`), never fewer than 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keptChannels } from "./prune_structured.ts";
 * assert(keptChannels(128, 0.3) === 89 && keptChannels(128, 0.3, 8) === 88);
 * ```
 */
export function keptChannels(c: number, ratio: number, roundTo = 1): number {
  let keep = Math.floor(c * (1 - ratio) + 1e-9); // 1e-9: 0.7·100 must give 70, not 69
  if (roundTo > 1) keep = Math.min(c, Math.max(roundTo, Math.round(keep / roundTo) * roundTo));
  return Math.max(1, keep);
}

/**
 * Prune `model` (unchanged) into a new model; every group is traced and checked first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
 * import { pruneStructured } from "./prune_structured.ts";
 * const teacher = buildClassifier(CLASSIFIERS.teacher, [32, 32, 3], 1);
 * const { model } = await pruneStructured(teacher, { ratio: 0.5 });
 * assert(model.getLayer("conv3").getWeights()[0].shape[3] === 64);
 * ```
 */
export async function pruneStructured(
  model: tf.LayersModel,
  opts: PruneOptions,
): Promise<{ model: tf.LayersModel; history: PruneHistory }> {
  if (!(opts.ratio >= 0 && opts.ratio < 1)) {
    throw new Error(`pruneStructured: ratio ${opts.ratio} is not in [0, 1)`);
  }
  const graph = readGraph(model);
  const ignore = new Set(opts.ignore ?? []);
  const importance = opts.importance ?? l1Importance;
  const history: PruneHistory = { format: "edgeslim-prune-history/1", ratio: opts.ratio, groups: [] };
  for (const group of buildGroups(graph)) {
    if (group.fixed || group.producers.some((p) => ignore.has(p))) continue;
    const scores = importance(group);
    const keep = keptChannels(group.size, opts.ratio, opts.roundTo ?? 1);
    // Highest scores kept; ties go to the lower index; kept indices in ascending order.
    const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
    const kept = order.slice(0, keep).sort((a, b) => a - b);
    history.groups.push({ root: group.root, producers: group.producers, channels: group.size, kept });
  }
  return { model: await applyKept(graph, history), history };
}

/**
 * Replay a saved history onto the unpruned model: gives the same weights as the pruning did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
 * import { pruneStructured, replayPruning } from "./prune_structured.ts";
 * const teacher = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 1);
 * const { history } = await pruneStructured(teacher, { ratio: 0.3 });
 * const again = await replayPruning(teacher, JSON.parse(JSON.stringify(history)));
 * assert(again.countParams() < teacher.countParams());
 * ```
 */
export function replayPruning(model: tf.LayersModel, history: PruneHistory): Promise<tf.LayersModel> {
  if (history.format !== "edgeslim-prune-history/1") {
    throw new Error(`replayPruning: unknown history format "${history.format}"`);
  }
  return applyKept(readGraph(model), history);
}

/** Remove every group's unkept channels: edit the topology, rebuild, copy sliced weights. */
async function applyKept(graph: ModelGraph, history: PruneHistory): Promise<tf.LayersModel> {
  const groups = new Map(buildGroups(graph).map((g) => [g.root, g]));
  // removed[layer][weight][axis] = indices to drop
  const removed = new Map<string, Map<number, Map<number, Set<number>>>>();
  const filters = new Map<string, number>();
  for (const entry of history.groups) {
    const group = groups.get(entry.root);
    checkEntry(entry, group);
    const keptSet = new Set(entry.kept);
    const gone = Array.from({ length: group!.size }, (_, c) => c).filter((c) => !keptSet.has(c));
    for (const m of group!.members) {
      const byWeight = removed.get(m.layer) ?? new Map<number, Map<number, Set<number>>>();
      const byAxis = byWeight.get(m.weight) ?? new Map<number, Set<number>>();
      const set = byAxis.get(m.axis) ?? new Set<number>();
      for (const c of gone) for (const i of m.indices[c]) set.add(i);
      byAxis.set(m.axis, set);
      byWeight.set(m.weight, byAxis);
      removed.set(m.layer, byWeight);
    }
    for (const p of group!.producers) filters.set(p, entry.kept.length);
  }
  const topology = structuredClone(graph.topology);
  for (const entry of topology.config.layers) {
    const n = filters.get(String(entry.config.name));
    if (n !== undefined) entry.config[entry.class_name === "Dense" ? "units" : "filters"] = n;
    // tfjs' SeparableConv2D.getConfig() leaves out the depth multiplier: restore it from the kernel.
    if (entry.class_name === "SeparableConv2D" || entry.class_name === "DepthwiseConv2D") {
      entry.config.depth_multiplier = graph.nodes.get(String(entry.config.name))!.layer!.weights[0].shape[3];
    }
  }
  const pruned = await tf.models.modelFromJSON(topology as unknown as tf.serialization.ConfigDict);
  for (const node of graph.nodes.values()) {
    if (!node.layer || node.layer.weights.length === 0) continue;
    const cuts = removed.get(node.name);
    const weights = node.layer.getWeights().map((w, wi) => sliceWeight(w, cuts?.get(wi)));
    pruned.getLayer(node.name).setWeights(weights);
    tf.dispose(weights);
  }
  return pruned;
}

/** Keep the indices not in `cuts[axis]` on every cut axis; returns a new tensor with its own data. */
function sliceWeight(w: tf.Tensor, cuts?: Map<number, Set<number>>): tf.Tensor {
  const out = tf.tidy(() => {
    let t = w;
    for (const [axis, drop] of cuts ?? []) {
      const keep = Array.from({ length: w.shape[axis] }, (_, i) => i).filter((i) => !drop.has(i));
      t = tf.gather(t, keep, axis);
    }
    return t.clone();
  });
  // A fresh tensor: on wasm, a gathered tensor handed to setWeights broke later fused convs.
  const copy = tf.tensor(out.dataSync(), out.shape, out.dtype);
  out.dispose();
  return copy;
}

function checkEntry(entry: PruneHistory["groups"][number], group: Group | undefined): void {
  if (!group) {
    throw new Error(`replayPruning: the model has no prunable group rooted at layer "${entry.root}"`);
  }
  if (group.fixed) {
    throw new Error(`replayPruning: group of "${entry.root}" cannot be pruned: ${group.fixed}`);
  }
  if (group.size !== entry.channels || entry.kept.some((c) => !(c >= 0 && c < group.size))) {
    throw new Error(
      `replayPruning: layer "${entry.root}" has ${group.size} channels; the history expects ${entry.channels}`,
    );
  }
  if (entry.kept.length === 0) throw new Error(`replayPruning: group of "${entry.root}" keeps no channels`);
}
