/** Small models for the export / bench tests. */
import * as tf from "@tensorflow/tfjs";

/** Give every batch norm non-trivial statistics: γ, β, moving mean and variance in [0.5, 1.5). */
export function randomizeBatchNorm(model: tf.LayersModel, seed = 3): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    layer.setWeights(
      layer.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, "float32", seed + i)),
    );
  }
}

/** A tiny U-Net-like functional model with every layer kind the U-Net export needs. */
export function tinyUnet(size = 16): tf.LayersModel {
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    layer.apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [size, size, 3] });
  const s1 = apply(
    tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu" }),
    input,
  );
  const d1 = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: "same", depthMultiplier: 2 }), s1);
  const b1 = apply(tf.layers.batchNormalization({ epsilon: 1e-5 }), d1); // folded into the depthwise conv
  const p1 = apply(tf.layers.maxPooling2d({ poolSize: 2 }), b1);
  const c2 = apply(tf.layers.conv2d({ filters: 12, kernelSize: 3, padding: "same", activation: "relu" }), p1);
  const b2 = apply(tf.layers.batchNormalization(), c2); // after ReLU: stays a BatchNormalization node
  const up = apply(tf.layers.conv2dTranspose({ filters: 8, kernelSize: 2, strides: 2, padding: "same" }), b2);
  const cat = apply(tf.layers.concatenate(), [up, s1]);
  const logit = apply(tf.layers.conv2d({ filters: 1, kernelSize: 1 }), cat);
  const out = apply(tf.layers.activation({ activation: "sigmoid" }), logit);
  return tf.model({ inputs: input, outputs: out, name: "tiny_unet" });
}

/** Deterministic images in [0, 1], NHWC. */
export function randomImages(n: number, size: number, seed = 11): Float32Array {
  return tf.tidy(() =>
    tf.randomUniform([n, size, size, 3], 0, 1, "float32", seed).dataSync() as Float32Array
  );
}
