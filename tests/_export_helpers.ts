/** Small models for the export / bench tests. */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { initEngine } from "../pipeline/engine/mod.ts";
import { buildClassifier } from "../pipeline/models/classifier.ts";
import { saveModel } from "../pipeline/models/io.ts";
import * as exportStage from "../pipeline/stages/export.ts";
import type { Format } from "../pipeline/export/variant.ts";
import * as fetchStage from "../pipeline/stages/fetch.ts";
import { stageContext as context } from "./_stage_context.ts";

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

/**
 * fetch (synthetic faces, `size` px) → random-weight classifiers (channels by name, batch norms
 * randomized) → the export stage with `formats`, min/max int8 on 8 images. Returns both folders.
 */
export async function exportTinyClassifiers(base: string, o: {
  size: number;
  countPerClass: number;
  models: Record<string, [number, number, number]>;
  formats: Format[];
  classes?: number;
}): Promise<{ fetch: string; export: string }> {
  await initEngine();
  const fetch = context(
    "fetch",
    fetchStage.paramsSchema.parse({ source: "synthetic", size: o.size, count_per_class: o.countPerClass }),
    base,
  );
  await fetchStage.run(fetch);
  const train = await Deno.makeTempDir({ dir: base, prefix: "train-" });
  const models: Record<string, { technique: string; checkpoint: string }> = {};
  for (const [name, channels] of Object.entries(o.models)) {
    const model = buildClassifier({ channels, dropout: 0 }, [o.size, o.size, 3], o.classes ?? 2);
    randomizeBatchNorm(model);
    await saveModel(model, join(train, name));
    models[name] = { technique: "baseline", checkpoint: name };
    model.dispose();
  }
  await Deno.writeTextFile(join(train, "results.part.json"), JSON.stringify({ models }));
  const exp = context(
    "export",
    exportStage.paramsSchema.parse({ formats: o.formats, calibration: { images: 8, methods: ["minmax"] } }),
    base,
    { train, fetch: fetch.outDir },
  );
  await exportStage.run(exp);
  return { fetch: fetch.outDir, export: exp.outDir };
}
