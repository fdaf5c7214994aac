/**
 * train stage: trains the models of the data set's task — the classifier family, or the U-Nets of
 * the lightweight-techniques table — with Adam, seeded, early stopping on validation loss; saves the
 * best checkpoint (tfjs format) per model, the per-epoch history and the test metrics.
 */
import type { ParamSearch } from "../models/unet_param_search.ts";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";
import { type Dataset, loadDataset, toFloatBatch } from "../data/dataset.ts";
import { initEngine } from "../engine/mod.ts";
import { account } from "../models/accounting.ts";
import { saveModel } from "../models/io.ts";
import { buildModel, MODEL_NAMES, modelFor } from "../models/mod.ts";
import { fitClassifier, fitOptions } from "../train/fit.ts";
import type { SegRow } from "../train/seg_variant.ts";
import { trainSegmentation } from "../train/train_segmentation.ts";
import { inLanes, laneCount } from "../train/lanes.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import type { ModelRecord } from "../tasks/classification_records.ts";
import type { MaskPredictions, SegModelRecord } from "../tasks/segmentation_records.ts";
import { classification, type PrimaryFields, primaryFields, primaryOf } from "../tasks/mod.ts";
import type { RowBase } from "./parts.ts";

/** A row the train stage writes: a trained model's facts and its test metric (tfjs, local). */
export interface TrainRow extends RowBase, PrimaryFields {}

/** The train stage's results.part.json on a classification data set. */
export interface TrainPart {
  task: "classification";
  models: Record<string, ModelRecord>;
  rows: TrainRow[];
  /** The first test images' predictions, by model (the report's sample grid). */
  predictions: Record<string, SamplePrediction[]>;
}

/** The train stage's results.part.json on a segmentation data set. */
export interface SegTrainPart {
  task: "segmentation";
  models: Record<string, SegModelRecord>;
  rows: SegRow[];
  /** The first test images' predicted masks, by model (a .bin file each, in the out folder). */
  predictions: Record<string, MaskPredictions>;
  /** The search for a U-Net topology with the seed's 2,047,647 parameters (what the report says of it). */
  param_search: ParamSearch;
}

/** Either part, told apart by `task`. */
export type AnyTrainPart = TrainPart | SegTrainPart;

export const paramsSchema = z.object({
  /** Which models to train: classifiers (teacher, medium, small) or U-Nets (unet_*), as the data set's task needs. */
  models: z.array(z.enum(MODEL_NAMES)).min(1).default(["teacher"]),
  epochs: z.number().int().positive().default(30),
  batch: z.number().int().positive().default(32),
  learning_rate: z.number().positive().default(0.001),
  /** Learning-rate schedule: cosine decay to zero over `epochs` (steadier last epochs), or constant. */
  lr_schedule: z.enum(["cosine", "constant"]).default("cosine"),
  /** Epochs of linear learning-rate warm-up from zero (nets without batch norm); 0 = none. */
  lr_warmup_epochs: z.int().min(0).default(0),
  /** Epochs without a better validation loss before stopping. */
  patience: z.number().int().positive().default(5),
  /** Data-parallel workers per model; "auto" uses one per core (at most 2). The numbers depend on it. */
  workers: z.union([z.literal("auto"), z.int().positive()]).default("auto"),
  /**
   * Models trained at once, each in its own Worker(s); "auto" = as many as the cores hold at
   * `workers` each (workers 1 on 2 cores: 2). Only the wall time depends on it.
   */
  lanes: z.union([z.literal("auto"), z.int().positive()]).default("auto"),
  /** Class that precision / recall / F1 are reported for (classification only). */
  positive_class: z.string().default("with_mask"),
  /** First N test images whose prediction (label and probability, or mask) is recorded (the report's samples). */
  sample_predictions: z.number().int().min(0).default(24),
}).strict();

export type TrainParams = z.infer<typeof paramsSchema>;

export async function run(ctx: StageContext<TrainParams>): Promise<StageResult> {
  const p = ctx.params;
  const fetchDir = ctx.depDirs.fetch;
  if (!fetchDir) throw new Error(`train: stage "fetch" must be a dep of "train" in the pipeline file`);
  const data = await loadDataset(fetchDir);
  const entries = p.models.map((name, i) => modelFor(name, data.task, `train: params.models[${i}]`));
  if (data.task === "segmentation") {
    await initEngine();
    return await trainSegmentation(ctx, data, entries);
  }
  const positive = data.classes.indexOf(p.positive_class);
  if (positive < 0) {
    throw new Error(
      `train: params.positive_class "${p.positive_class}" is not one of the classes ${
        JSON.stringify(data.classes)
      }`,
    );
  }
  await initEngine();
  const task = classification(positive);
  const trained = await inLanes(entries, laneCount(p), async (entry) => {
    const { name, spec } = entry;
    const model = buildModel(entry, data.size, data.classes.length, ctx.seed);
    try {
      const fit = await fitClassifier(ctx, name, model, data, {
        ...fitOptions(p, p.epochs, positive),
        // Epoch checkpoints outlive a killed run: the rerun resumes bit-identically.
        checkpointDir: ctx.resumeDir && join(ctx.resumeDir, "fit", name),
      });
      const checkpoint = join(name, "model");
      const bytes = await saveModel(model, join(ctx.outDir, checkpoint));
      const counts = account(model);
      const record: ModelRecord = {
        technique: "baseline",
        spec: { ...spec, input: [data.size, data.size, 3] },
        params_torch: counts.params_total,
        params_tfjs: counts.params_tfjs,
        history: fit.history,
        best_epoch: fit.bestEpoch,
        stopped_early: fit.stoppedEarly,
        train_seconds: fit.seconds,
        test: fit.test,
        checkpoint,
      };
      const row: TrainRow = {
        variant: name,
        technique: "baseline",
        ...counts,
        size_bytes: bytes,
        ...primaryFields(task, primaryOf(fit.test, task)),
        runtime: `tfjs-${tf.getBackend()}`,
        format: "tfjs",
        device: "local",
      };
      ctx.log.info(
        `${name}: test ${task.primary.name} ${
          (primaryOf(fit.test, task)! * 100).toFixed(2)
        } % (best epoch ${fit.bestEpoch}, ${fit.seconds.toFixed(0)} s)`,
      );
      return { record, row, samples: samplePredictions(model, data, p.sample_predictions) };
    } finally {
      model.dispose();
    }
  });
  const models: Record<string, ModelRecord> = {};
  const predictions: Record<string, SamplePrediction[]> = {};
  const rows: TrainRow[] = [];
  entries.forEach(({ name }, i) => {
    models[name] = trained[i].record;
    rows.push(trained[i].row);
    predictions[name] = trained[i].samples;
  });
  const part: TrainPart = { task: "classification", models, rows, predictions };
  await writeFileAtomic(join(ctx.outDir, "results.part.json"), JSON.stringify(part, null, 1));
  return {
    summary: Object.fromEntries(
      Object.entries(models).map(([name, m]) => [name, {
        [`test_${task.primary.name}`]: Number(primaryOf(m.test, task)!.toFixed(4)),
        best_epoch: m.best_epoch,
        epochs_run: m.history.length,
        seconds: Math.round(m.train_seconds),
      }]),
    ),
  };
}

/** A test image's true label, predicted class and its softmax probability. */
export interface SamplePrediction {
  index: number;
  label: string;
  predicted: string;
  probability: number;
}

/** Predicted class and its softmax probability for the first `count` test images. */
function samplePredictions(model: tf.LayersModel, data: Dataset, count: number): SamplePrediction[] {
  const test = data.splits.test;
  const indices = Array.from({ length: Math.min(count, test.count) }, (_, i) => i);
  if (indices.length === 0) return [];
  const probs = tf.tidy(() => {
    const x = tf.tensor4d(toFloatBatch(test.images, indices, data.size), [
      indices.length,
      data.size,
      data.size,
      3,
    ]);
    return tf.softmax(model.predict(x) as tf.Tensor2D).arraySync() as number[][];
  });
  return indices.map((i) => {
    const p = probs[i];
    const best = p.indexOf(Math.max(...p));
    return {
      index: i,
      label: data.classes[test.labels[i]],
      predicted: data.classes[best],
      probability: Number(p[best].toFixed(4)),
    };
  });
}
