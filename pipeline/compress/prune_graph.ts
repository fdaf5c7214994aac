/**
 * Channel dependency graph of a tfjs-layers model (Sequential or functional), as in Torch-Pruning:
 * a table maps each layer kind to how its input and output channels are cut, and the channels a
 * producer (Conv2D, Dense, …) makes are traced through the graph into a `Group` — every weight
 * slice that must be removed together. Groups are built and checked before anything changes.
 *
 * Channels are the last axis (NHWC, channels_last). A group channel `c` maps, in every tensor it
 * reaches, to a list of indices (one for most layers; `m` for a depthwise multiplier `m`; shifted
 * by the input's offset after a Concatenate).
 */
import type * as tf from "@tensorflow/tfjs";

type Layer = ReturnType<tf.LayersModel["getLayer"]>;

/** How one weight of a layer is cut: along `axis`, expanded by the depth multiplier if `expand`. */
interface Cut {
  /** Weight index in `layer.weights`, or "all" (every weight, e.g. BN's γ, β, mean, variance). */
  weight: number | "all";
  axis: number;
  expand?: boolean;
}

/** How a layer kind treats channels. */
export type Rule =
  /** Makes its own output channels (count in `config[key]`); `inCuts` slice its input channels. */
  | { type: "producer"; key: "filters" | "units"; inCuts: Cut[]; outCuts: Cut[] }
  /** Output channel c·m + j comes from input channel c alone (m = depth multiplier, usually 1). */
  | { type: "channelwise"; inCuts: Cut[]; outCuts: Cut[] }
  /** Element-wise merge: every input and the output share channels (Add, Multiply, …). */
  | { type: "merge" }
  /** Concatenate on the channel axis: input k's channel c is output channel offset_k + c. */
  | { type: "concat" }
  | { type: "input" };

const PASS: Rule = { type: "channelwise", inCuts: [], outCuts: [] };

/** The dependency table: layer class → rule. A class not listed here stops pruning with an error. */
export const LAYER_RULES: Record<string, Rule> = {
  Conv2D: {
    type: "producer",
    key: "filters",
    inCuts: [{ weight: 0, axis: 2 }],
    outCuts: [{ weight: 0, axis: 3 }, { weight: 1, axis: 0 }],
  },
  Conv2DTranspose: {
    type: "producer",
    key: "filters",
    inCuts: [{ weight: 0, axis: 3 }],
    outCuts: [{ weight: 0, axis: 2 }, { weight: 1, axis: 0 }],
  },
  Dense: {
    type: "producer",
    key: "units",
    inCuts: [{ weight: 0, axis: 0 }],
    outCuts: [{ weight: 0, axis: 1 }, { weight: 1, axis: 0 }],
  },
  // Depthwise kernel [kh, kw, cin, m] is cut by input channel, pointwise [1, 1, cin·m, cout] by c·m + j.
  SeparableConv2D: {
    type: "producer",
    key: "filters",
    inCuts: [{ weight: 0, axis: 2 }, { weight: 1, axis: 2, expand: true }],
    outCuts: [{ weight: 1, axis: 3 }, { weight: 2, axis: 0 }],
  },
  DepthwiseConv2D: {
    type: "channelwise",
    inCuts: [{ weight: 0, axis: 2 }],
    outCuts: [{ weight: 1, axis: 0 }],
  },
  BatchNormalization: { type: "channelwise", inCuts: [], outCuts: [{ weight: "all", axis: 0 }] },
  ReLU: PASS,
  Activation: PASS,
  LeakyReLU: PASS,
  ELU: PASS,
  MaxPooling2D: PASS,
  AveragePooling2D: PASS,
  GlobalAveragePooling2D: PASS,
  GlobalMaxPooling2D: PASS,
  Dropout: PASS,
  SpatialDropout1D: PASS,
  UpSampling2D: PASS,
  ZeroPadding2D: PASS,
  Cropping2D: PASS,
  Add: { type: "merge" },
  Multiply: { type: "merge" },
  Subtract: { type: "merge" },
  Average: { type: "merge" },
  Maximum: { type: "merge" },
  Minimum: { type: "merge" },
  Concatenate: { type: "concat" },
  InputLayer: { type: "input" },
};

/** One layer of the graph. */
export interface GraphNode {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Names of the layers feeding it, in input order. */
  inputs: string[];
  /** The live layer (undefined for a Sequential model's implicit input). */
  layer?: Layer;
}

/** The layer graph of a model, read from its topology JSON. */
export interface ModelGraph {
  nodes: Map<string, GraphNode>;
  /** Layer → the layers that read it, with the input slot. */
  consumers: Map<string, { name: string; slot: number }[]>;
  outputs: Set<string>;
  /** The topology JSON (`model.toJSON(null, false)`), edited to rebuild the pruned model. */
  topology: Topology;
}

interface TopologyLayer {
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes?: [string, number, number, unknown][][];
}

/** The parts of a Keras topology JSON the pruner reads and edits. */
export interface Topology {
  class_name: string;
  config: { layers: TopologyLayer[]; output_layers?: [string, number, number][] };
}

/** One weight slice coupled to a group: `indices[c]` are the positions of group channel c on `axis`. */
export interface Member {
  layer: string;
  weight: number;
  /** The weight's short name: kernel, bias, gamma, depthwise_kernel, … */
  param: string;
  axis: number;
  role: "out" | "in" | "channel";
  indices: number[][];
}

/** Channels that must be removed together. */
export interface Group {
  /** The producer the group was traced from. */
  root: string;
  /** Every producer whose output channels the group removes (several when merged by an Add). */
  producers: string[];
  /** Number of group channels (the root's output channels). */
  size: number;
  members: Member[];
  /** Why these channels cannot be pruned (e.g. they are the model's output), or undefined. */
  fixed?: string;
  /** Live layers by name, for importance functions that read weights. */
  layers: Map<string, Layer>;
}

/** Read the layer graph of a Sequential or functional model. */
export function readGraph(model: tf.LayersModel): ModelGraph {
  const topology = model.toJSON(null, false) as unknown as Topology;
  const nodes = new Map<string, GraphNode>();
  const sequential = topology.class_name === "Sequential";
  const input = "(input)";
  if (sequential) nodes.set(input, { name: input, className: "InputLayer", config: {}, inputs: [] });
  topology.config.layers.forEach((entry, i) => {
    const name = String(entry.config.name);
    let inputs: string[];
    if (sequential) inputs = [i === 0 ? input : String(topology.config.layers[i - 1].config.name)];
    else {
      const inbound = entry.inbound_nodes ?? [];
      if (inbound.length > 1) {
        throw new Error(`Cannot prune: layer "${name}" is shared (called ${inbound.length} times)`);
      }
      inputs = (inbound[0] ?? []).map((ref) => {
        if (ref[2] !== 0) {
          throw new Error(`Cannot prune: layer "${name}" reads output ${ref[2]} of "${ref[0]}"`);
        }
        return String(ref[0]);
      });
    }
    nodes.set(name, {
      name,
      className: entry.class_name,
      config: entry.config,
      inputs,
      layer: model.getLayer(name),
    });
  });
  const consumers = new Map<string, { name: string; slot: number }[]>();
  for (const node of nodes.values()) {
    node.inputs.forEach((src, slot) =>
      consumers.set(src, [...consumers.get(src) ?? [], { name: node.name, slot }])
    );
  }
  const outputs = new Set(
    sequential
      ? [String(topology.config.layers.at(-1)!.config.name)]
      : (topology.config.output_layers ?? []).map((ref) => String(ref[0])),
  );
  return { nodes, consumers, outputs, topology };
}

/** The rule of a node, after the checks that make it safe (channels_last, no softmax, …). */
export function ruleOf(node: GraphNode): Rule {
  const rule = LAYER_RULES[node.className];
  const refuse = (why: string) =>
    new Error(`Cannot prune channels through layer "${node.name}" (${node.className}): ${why}`);
  if (!rule) {
    throw refuse("no channel rule for this layer kind (e.g. Flatten/Reshape mix channels and positions)");
  }
  const c = node.config;
  if (c.data_format === "channels_first") throw refuse("only channels_last is supported");
  if (c.activation === "softmax") throw refuse("softmax couples all channels");
  if (node.className === "BatchNormalization" && c.axis !== -1 && c.axis !== 3) {
    throw refuse(`axis ${c.axis} is not the channel axis`);
  }
  if (node.className === "Concatenate" && c.axis !== -1 && c.axis !== 3) {
    throw refuse(`axis ${c.axis} is not the channel axis`);
  }
  return rule;
}

const shapeOf = (node: GraphNode) => (node.layer!.outputShape as number[]);
const channelsOf = (node: GraphNode) => shapeOf(node).at(-1)!;
/** Depth multiplier of a depthwise / separable layer (1 for anything else). */
const multiplierOf = (node: GraphNode) =>
  node.className === "DepthwiseConv2D" || node.className === "SeparableConv2D"
    ? node.layer!.weights[0].shape[3]!
    : 1;
const expand = (idx: number[][], m: number) =>
  idx.map((list) => list.flatMap((i) => Array.from({ length: m }, (_, j) => i * m + j)));
const paramName = (layer: Layer, w: number) => layer.weights[w].originalName.split("/").at(-1)!;

/** Trace the group of producer `root` through the graph; throws, naming the layer, where it cannot. */
export function traceGroup(graph: ModelGraph, root: string): Group {
  const rootNode = graph.nodes.get(root)!;
  const size = channelsOf(rootNode);
  const group: Group = { root, producers: [], size, members: [], layers: new Map() };
  const seen = new Map<string, string>();

  const addCuts = (node: GraphNode, cuts: Cut[], idx: number[][], role: Member["role"]) => {
    const layer = node.layer!;
    group.layers.set(node.name, layer);
    const m = multiplierOf(node);
    for (const cut of cuts) {
      const weights = cut.weight === "all" ? layer.weights.map((_, i) => i) : [cut.weight];
      for (const w of weights) {
        if (w >= layer.weights.length) continue; // e.g. no bias
        const indices = cut.expand ? expand(idx, m) : idx;
        group.members.push({
          layer: node.name,
          weight: w,
          param: paramName(layer, w),
          axis: cut.axis,
          role,
          indices,
        });
      }
    }
  };

  const visit = (name: string, idx: number[][]) => {
    const key = JSON.stringify(idx);
    const before = seen.get(name);
    if (before === key) return;
    if (before !== undefined) {
      throw new Error(
        `Cannot prune group of "${root}": layer "${name}" is reached with two different channel maps`,
      );
    }
    seen.set(name, key);
    if (graph.outputs.has(name)) group.fixed ??= `its channels reach the model output "${name}"`;
    const node = graph.nodes.get(name)!;
    const rule = ruleOf(node);
    // How this tensor's channels are made (walk backward).
    if (rule.type === "input") group.fixed ??= "its channels reach the model input";
    else if (rule.type === "producer") {
      const flat = idx.flat().sort((a, b) => a - b);
      if (flat.length !== channelsOf(node) || flat.some((v, i) => v !== i)) {
        throw new Error(
          `Cannot prune group of "${root}": only part of the channels of "${name}" are coupled to it`,
        );
      }
      group.producers.push(name);
      addCuts(node, rule.outCuts, idx, "out");
    } else if (rule.type === "channelwise") {
      const m = multiplierOf(node);
      const inIdx = idx.map((list) => [...new Set(list.map((i) => Math.floor(i / m)))]);
      if (JSON.stringify(expand(inIdx, m)) !== key) {
        throw new Error(`Cannot prune group of "${root}": it splits the depthwise channels of "${name}"`);
      }
      addCuts(node, rule.inCuts, inIdx, "channel");
      addCuts(node, rule.outCuts, idx, "channel");
      visit(node.inputs[0], inIdx);
    } else if (rule.type === "merge") node.inputs.forEach((src) => visit(src, idx));
    else if (rule.type === "concat") {
      let offset = 0;
      for (const src of node.inputs) {
        const n = channelsOf(graph.nodes.get(src)!);
        const part = idx.map((list) =>
          list.filter((i) => i >= offset && i < offset + n).map((i) => i - offset)
        );
        if (part.some((list) => list.length > 0)) visit(src, part);
        offset += n;
      }
    }
    // Where these channels go (walk forward).
    for (const { name: next, slot } of graph.consumers.get(name) ?? []) {
      const nextNode = graph.nodes.get(next)!;
      const nextRule = ruleOf(nextNode);
      if (nextRule.type === "producer") addCuts(nextNode, nextRule.inCuts, idx, "in");
      else if (nextRule.type === "channelwise") visit(next, expand(idx, multiplierOf(nextNode)));
      else if (nextRule.type === "merge") visit(next, idx);
      else if (nextRule.type === "concat") {
        const offset = nextNode.inputs.slice(0, slot).reduce(
          (s, src) => s + channelsOf(graph.nodes.get(src)!),
          0,
        );
        visit(next, idx.map((list) => list.map((i) => i + offset)));
      }
    }
  };
  visit(root, Array.from({ length: size }, (_, c) => [c]));
  return group;
}

/**
 * Every group of the model, one per producer (producers coupled by a merge share one group).
 * Throws, naming the layer, if any channels flow where they cannot be cut safely.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { buildGroups, readGraph } from "./prune_graph.ts";
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ name: "conv", inputShape: [8, 8, 3], filters: 4, kernelSize: 3 }),
 *   tf.layers.globalAveragePooling2d({ name: "gap" }),
 *   tf.layers.dense({ name: "fc", units: 2 }),
 * ] });
 * const groups = buildGroups(readGraph(model));
 * assert(groups.length === 2 && groups[1].fixed !== undefined); // fc is the output
 * ```
 */
export function buildGroups(graph: ModelGraph): Group[] {
  const groups: Group[] = [];
  const done = new Set<string>();
  for (const node of graph.nodes.values()) {
    if (done.has(node.name) || LAYER_RULES[node.className]?.type !== "producer") continue;
    const group = traceGroup(graph, node.name);
    group.producers.forEach((p) => done.add(p));
    groups.push(group);
  }
  return groups;
}
