/**
 * A tfjs-layers model (sequential or functional, one input and one output) as plain data the
 * workers can run: nodes in topological order with their kind's plan, and the flat layouts of
 * the trainable weights and of the state (batch-norm moving statistics). Unsupported layers and
 * configs are refused here, before any work, naming the layer and its kind.
 */
import type * as tf from "@tensorflow/tfjs";
import { LAYER_KINDS, type LayerConfig, type WeightSpec } from "./layers/mod.ts";
import { sizeOf } from "./layers/_types.ts";

/** Where one weight lives in the flat vectors. */
export interface WeightSlot extends WeightSpec {
  /** Offset into the trainable vector (trainable) or the state vector (not trainable). */
  offset: number;
  size: number;
}

/** One layer of the graph. */
export interface GraphNode {
  name: string;
  className: string;
  config: LayerConfig;
  /** Indices of the nodes feeding it; -1 is the model input. */
  inputs: number[];
  inShapes: number[][];
  outShape: number[];
  weights: WeightSlot[];
}

/** The whole model as plain data (structured-cloneable). */
export interface GraphSpec {
  inputShape: number[];
  nodes: GraphNode[];
  /** Index of the output node. */
  output: number;
  trainableSize: number;
  stateSize: number;
}

/** Error for a model the engine cannot train; names the layer and its kind. */
export class UnsupportedLayerError extends Error {}

/**
 * Read `model`'s topology.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { graphOf } from "./graph.ts";
 * const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
 * const g = graphOf(m);
 * if (g.trainableSize !== 8 || g.nodes[0].className !== "Dense") throw new Error("unexpected graph");
 * ```
 */
export function graphOf(model: tf.LayersModel): GraphSpec {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UnsupportedLayerError(
      `model "${model.name}": ${model.inputs.length} inputs and ${model.outputs.length} outputs, the engine trains one of each`,
    );
  }
  const inputShape = (model.inputs[0].shape as (number | null)[]).slice(1);
  if (inputShape.some((d) => d == null)) {
    throw new UnsupportedLayerError(`model "${model.name}": input shape [${inputShape}] must be fully known`);
  }
  const index = new Map<string, number>();
  const nodes: GraphNode[] = [];
  let trainable = 0, state = 0;
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (className === "InputLayer") {
      index.set(layer.name, -1);
      continue;
    }
    const where = `layer "${layer.name}" (${className})`;
    const kind = LAYER_KINDS.get(className);
    if (!kind) {
      throw new UnsupportedLayerError(
        `${where}: the engine has no kernel for this layer kind (supported: ${
          [...LAYER_KINDS.keys()].join(", ")
        })`,
      );
    }
    if (layer.inboundNodes.length !== 1) {
      throw new UnsupportedLayerError(
        `${where}: used ${layer.inboundNodes.length} times; shared layers are not supported`,
      );
    }
    const inbound = layer.inboundNodes[0].inboundLayers;
    const inputs = inbound.map((l) => {
      const i = l.getClassName() === "InputLayer" ? -1 : index.get(l.name);
      if (i === undefined) throw new UnsupportedLayerError(`${where}: input "${l.name}" comes after it`);
      return i;
    });
    const inShapes = inputs.map((i) => i < 0 ? inputShape as number[] : nodes[i].outShape);
    const config = JSON.parse(JSON.stringify(layer.getConfig())) as LayerConfig;
    let plan;
    try {
      plan = kind.plan(config, inShapes);
    } catch (err) {
      throw new UnsupportedLayerError(`${where}: ${(err as Error).message}`);
    }
    const actual = layer.weights.map((w) => w.shape as number[]);
    if (
      actual.length !== plan.weights.length ||
      plan.weights.some((w, i) => w.shape.join() !== actual[i].join())
    ) {
      throw new UnsupportedLayerError(
        `${where}: weights [${actual.map((s) => `[${s}]`)}] do not match the expected [${
          plan.weights.map((w) => `[${w.shape}]`)
        }]`,
      );
    }
    const weights = plan.weights.map((w) => {
      const size = sizeOf(w.shape), train = w.trainable && layer.trainable;
      const slot = { ...w, trainable: train, offset: train ? trainable : state, size };
      if (train) trainable += size;
      else state += size;
      return slot;
    });
    index.set(layer.name, nodes.length);
    nodes.push({ name: layer.name, className, config, inputs, inShapes, outShape: plan.outShape, weights });
  }
  const outLayer = model.outputs[0].sourceLayer.name, output = index.get(outLayer);
  if (output === undefined || output < 0) {
    throw new UnsupportedLayerError(`model "${model.name}": output is its input`);
  }
  return { inputShape: inputShape as number[], nodes, output, trainableSize: trainable, stateSize: state };
}

/** Copy `model`'s weights into flat trainable and state vectors of `g`'s layout. */
export function readWeights(
  g: GraphSpec,
  model: tf.LayersModel,
): { trainable: Float32Array; state: Float32Array } {
  const trainable = new Float32Array(g.trainableSize), state = new Float32Array(g.stateSize);
  for (const node of g.nodes) {
    const values = model.getLayer(node.name).getWeights();
    node.weights.forEach((slot, i) =>
      (slot.trainable ? trainable : state).set(values[i].dataSync(), slot.offset)
    );
  }
  return { trainable, state };
}
