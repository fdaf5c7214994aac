/**
 * Save and load tfjs-layers models in the standard tfjs format (model.json + weights.bin),
 * atomically: files are written under temp names and renamed into place.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";

/** Write `model` to `dir` as model.json + weights.bin; returns the total bytes written. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<number> {
  await Deno.mkdir(dir, { recursive: true });
  let bytes = 0;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
    const manifest = {
      modelTopology: artifacts.modelTopology,
      format: "layers-model",
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: null,
      weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
    };
    const json = new TextEncoder().encode(JSON.stringify(manifest));
    await writeFileAtomic(join(dir, "weights.bin"), weights);
    await writeFileAtomic(join(dir, "model.json"), json);
    bytes = weights.byteLength + json.byteLength;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  return bytes;
}

/** Load a model saved by `saveModel`. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const manifestPath = join(dir, "model.json");
  let manifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  } catch (error) {
    throw new Error(`Cannot read model "${manifestPath}": ${(error as Error).message}`);
  }
  const weights = await Deno.readFile(join(dir, "weights.bin"));
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: manifest.modelTopology,
    weightSpecs: manifest.weightsManifest[0].weights,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }));
}
