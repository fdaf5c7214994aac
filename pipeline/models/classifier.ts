/**
 * The seed's face-mask classifier family in tfjs layers:
 * (conv3×3 → BN → ReLU → MaxPool2) × 3 → global average pool → dropout → dense 2.
 *
 * Layout is NHWC, input pixels scaled to [0, 1].
 */
import * as tf from "@tensorflow/tfjs";

export interface ClassifierSpec {
  /** Output channels of the three conv blocks. */
  channels: [number, number, number];
  /** Dropout before the dense layer; 0 means no dropout layer at all. */
  dropout: number;
  /** Number of classes. @default 2 */
  classes?: number;
}

/** The seed's three models, keyed by the names used in the pipeline file. */
export const CLASSIFIERS: Record<string, ClassifierSpec> = {
  teacher: { channels: [32, 64, 128], dropout: 0.2 },
  medium: { channels: [24, 48, 96], dropout: 0.1 },
  small: { channels: [8, 16, 32], dropout: 0 },
};

/**
 * Build a classifier with deterministic initial weights for `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildClassifier, CLASSIFIERS, countParams } from "./classifier.ts";
 * const model = buildClassifier(CLASSIFIERS.teacher, [128, 128, 3], 42);
 * assert(countParams(model).torch === 93_954);
 * model.dispose();
 * ```
 */
export function buildClassifier(
  spec: ClassifierSpec,
  inputShape: [number, number, number],
  seed: number,
): tf.Sequential {
  const model = tf.sequential({ name: "classifier" });
  let layerSeed = seed;
  // Each layer gets its own seed so the weights do not depend on global RNG state.
  const init = () => tf.initializers.heNormal({ seed: layerSeed++ });
  spec.channels.forEach((filters, i) => {
    model.add(tf.layers.conv2d({
      name: `conv${i + 1}`,
      ...(i === 0 ? { inputShape } : {}),
      filters,
      kernelSize: 3,
      padding: "same",
      useBias: true,
      kernelInitializer: init(),
    }));
    model.add(tf.layers.batchNormalization({
      name: `bn${i + 1}`,
      axis: -1,
      momentum: 0.9, // PyTorch's momentum 0.1 in Keras' convention
      epsilon: 1e-5, // PyTorch's default
    }));
    model.add(tf.layers.reLU({ name: `relu${i + 1}` }));
    model.add(tf.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: 2, strides: 2 }));
  });
  model.add(tf.layers.globalAveragePooling2d({ name: "gap" }));
  if (spec.dropout > 0) {
    model.add(tf.layers.dropout({ name: "dropout", rate: spec.dropout, seed: layerSeed++ }));
  }
  model.add(tf.layers.dense({
    name: "fc",
    units: spec.classes ?? 2,
    kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed++ }),
  }));
  return model;
}

export interface ParamCount {
  /** PyTorch's convention: trainable weights only (BN moving stats excluded). */
  torch: number;
  /** tfjs's own count: includes BN moving mean/variance. */
  tfjs: number;
}

/** Count parameters both ways. */
export function countParams(model: tf.LayersModel): ParamCount {
  const size = (ws: tf.LayerVariable[]) =>
    ws.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  return { torch: size(model.trainableWeights), tfjs: model.countParams() };
}
