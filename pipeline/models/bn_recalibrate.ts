/**
 * Batch-norm recalibration ("adaptive BN", EagleEye 2020): after channels are removed, the layers
 * downstream see different activations than their moving statistics describe. Re-estimating
 * every BN layer's mean and variance on training images, in graph order, restores much of the
 * lost accuracy before any fine-tuning, and gives the fine-tuning a fairer start.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Set every BatchNormalization layer's moving mean / variance to the statistics of its input
 * over all of `batches` (population variance over every pixel of every image). Layers are done
 * in graph order, so each layer sees its predecessors already recalibrated. Returns the names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { buildClassifier, CLASSIFIERS } from "./classifier.ts";
 * import { recalibrateBatchNorm } from "./bn_recalibrate.ts";
 * const model = buildClassifier(CLASSIFIERS.small, [8, 8, 3], 1);
 * const done = recalibrateBatchNorm(model, [tf.randomUniform([4, 8, 8, 3])]);
 * assert(done.join() === "bn1,bn2,bn3");
 * ```
 */
export function recalibrateBatchNorm(model: tf.LayersModel, batches: Iterable<tf.Tensor4D>): string[] {
  const norms = model.layers.filter((l) => l.getClassName() === "BatchNormalization");
  if (norms.length === 0) return [];
  const list = Array.from(batches);
  if (list.length === 0) throw new Error("recalibrateBatchNorm: no images to estimate statistics from");
  if (model.getClassName() === "Sequential") {
    recalibrateChain(model, list);
  } else {
    // A general graph: for each BN a probe model from the input to that BN (prefixes recomputed).
    for (const bn of norms) {
      const probe = tf.model({ inputs: model.inputs, outputs: bn.input as tf.SymbolicTensor });
      setStatistics(
        bn,
        (function* () {
          for (const x of list) yield probe.predict(x) as tf.Tensor;
        })(),
      );
    }
  }
  return norms.map((l) => l.name);
}

/**
 * A layer chain: carry every batch's activations forward layer by layer, so each layer runs
 * once per batch (the same ops as the probes, so the same numbers, in less time).
 */
function recalibrateChain(model: tf.LayersModel, batches: tf.Tensor[]): void {
  const last = model.layers.findLastIndex((l) => l.getClassName() === "BatchNormalization");
  let acts = batches.map((x) => x.clone());
  for (const layer of model.layers.slice(0, last + 1)) {
    if (layer.getClassName() === "BatchNormalization") setStatistics(layer, acts, false);
    if (layer === model.layers[last]) break;
    const next = acts.map((a) => layer.apply(a) as tf.Tensor);
    tf.dispose(acts);
    acts = next;
  }
  tf.dispose(acts);
}

/**
 * Set `bn`'s moving mean / variance to the statistics of `inputs` (all batches together);
 * disposes the inputs unless `dispose` is false.
 */
function setStatistics(bn: tf.layers.Layer, inputs: Iterable<tf.Tensor>, dispose = true): void {
  const axis = channelAxis(bn);
  // Per batch: mean and centred sum of squares; merged in float64 (Chan et al.) for stability.
  let count = 0, mean = new Float64Array(0), m2 = new Float64Array(0);
  for (const a of inputs) {
    const [bMean, bM2, n] = tf.tidy(() => {
      const dims = a.shape.map((_, i) => i).filter((i) => i !== axis);
      const m = a.mean(dims, true);
      const centred = a.sub(m).square().sum(dims);
      return [m.dataSync(), centred.dataSync(), a.size / m.size] as const;
    });
    if (dispose) a.dispose();
    if (count === 0) [mean, m2] = [Float64Array.from(bMean), new Float64Array(bMean.length)];
    const total = count + n;
    for (let c = 0; c < mean.length; c++) {
      const delta = bMean[c] - mean[c];
      mean[c] += delta * n / total;
      m2[c] += bM2[c] + delta * delta * count * n / total;
    }
    count = total;
  }
  const moving = [tf.tensor1d(Float32Array.from(mean)), tf.tensor1d(Float32Array.from(m2, (v) => v / count))];
  // weights of a Keras BN: [gamma?, beta?, moving_mean, moving_variance]
  const weights = bn.getWeights();
  bn.setWeights([...weights.slice(0, -2), ...moving]);
  tf.dispose(moving); // not `weights`: getWeights() hands out the variables themselves
}

function channelAxis(bn: tf.layers.Layer): number {
  const axis = (bn.getConfig().axis as number | number[]) ?? -1;
  const a = Array.isArray(axis) ? axis[0] : axis;
  const rank = (bn.input as tf.SymbolicTensor).shape.length;
  return a < 0 ? rank + a : a;
}
