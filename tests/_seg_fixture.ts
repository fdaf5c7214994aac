/**
 * A small segmentation track for the export / bench tests: a data set of synthetic faces with
 * their mask pixels (dataset.json + split files, as the fetch stage writes them) and a fake train
 * out folder of four U-Nets (standard, depthwise, bilinear up-sampling, and a depthwise one at half the
 * data set's side),
 * with a results.part.json as the train stage writes it for segmentation.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { generateMaskedFace } from "../pipeline/data/synthetic.ts";
import { saveModel } from "../pipeline/models/io.ts";
import { buildUNet, type UNetSpec } from "../pipeline/models/unet.ts";
import type { SegModelRecord } from "../pipeline/tasks/segmentation_records.ts";
import { writeSegDataset } from "./_seg_squares.ts";

/** The data set's side, and the split sizes. */
export const SIZE = 32;
export const COUNTS = { train: 16, val: 8, test: 8 } as const;

/** The fixture's U-Nets: spec and input side. */
export const SEG_MODELS: Record<string, { spec: UNetSpec; input: number }> = {
  unet_standard: { spec: { filters: [8, 16, 32], conv: "standard" }, input: SIZE },
  unet_depthwise: { spec: { filters: [8, 16, 32], conv: "separable" }, input: SIZE },
  unet_bilinear: { spec: { filters: [8, 16, 32], conv: "standard", up: "bilinear" }, input: SIZE },
  unet_lowres: { spec: { filters: [8, 16, 32], conv: "separable" }, input: SIZE / 2 },
};

/** Write a segmentation data set into a new folder under `base` (faces, half of them masked). */
export async function segDataset(base: string): Promise<string> {
  const splits: Record<string, { images: Uint8Array; masks: Uint8Array }> = {};
  let seed = 100;
  for (const [name, count] of Object.entries(COUNTS)) {
    const images = new Uint8Array(count * SIZE * SIZE * 3), masks = new Uint8Array(count * SIZE * SIZE);
    for (let i = 0; i < count; i++) {
      const { rgb, mask } = generateMaskedFace(seed++, i % 4 !== 3, SIZE);
      images.set(rgb, i * rgb.length);
      masks.set(mask, i * mask.length);
    }
    splits[name] = { images, masks };
  }
  const meta = { classes: ["background", "mask"], size: SIZE, source: "synthetic", seed: 7 };
  return await writeSegDataset(base, "seg-fetch-", meta, splits);
}

/**
 * Random weights give every pixel p ≈ 0.5 (a meaningless Dice); scale the last conv so that its
 * logits on `images` have mean 0 and standard deviation 3, as a trained model's spread.
 */
function spreadLastLayer(model: tf.LayersModel, images: Float32Array, n: number, side: number): void {
  const p = tf.tidy(() =>
    (model.predict(tf.tensor4d(images, [n, side, side, 3])) as tf.Tensor).dataSync() as Float32Array
  );
  const z = Float64Array.from(p, (v) => Math.log(v / (1 - v)));
  const mean = z.reduce((a, b) => a + b, 0) / z.length;
  const std = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
  const last = model.layers[model.layers.length - 1];
  const [kernel, bias] = last.getWeights();
  last.setWeights(tf.tidy(() => [tf.mul(kernel, 3 / std), tf.mul(tf.sub(bias, mean), 3 / std)]));
}

/** A fake train out folder under `base` with the fixture's U-Nets and their records. */
export async function segTrain(base: string, models = SEG_MODELS): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: base, prefix: "seg-train-" });
  const records: Record<string, Partial<SegModelRecord>> = {};
  for (const [name, { spec, input }] of Object.entries(models)) {
    const model = buildUNet(spec, [input, input, 3], 3);
    const images = tf.tidy(() =>
      tf.randomUniform([4, input, input, 3], 0, 1, "float32", 5).dataSync() as Float32Array
    );
    spreadLastLayer(model, images, 4, input);
    await saveModel(model, join(dir, name));
    records[name] = { technique: "baseline", spec: { ...spec }, input_size: input, checkpoint: name };
    model.dispose();
  }
  await Deno.writeTextFile(
    join(dir, "results.part.json"),
    JSON.stringify({ task: "segmentation", models: records }),
  );
  return dir;
}
