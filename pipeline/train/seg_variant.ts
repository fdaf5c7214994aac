/**
 * Keeping a trained U-Net, as the train and compress stages of the segmentation track both do: its
 * checkpoint (tfjs format), its model record, its row and the predicted masks of the first test
 * images (a .bin file the report overlays).
 */
import type * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import type { Dataset } from "../data/dataset.ts";
import { account } from "../models/accounting.ts";
import { saveModel } from "../models/io.ts";
import type { MaskPredictions, SegModelRecord } from "../tasks/segmentation_records.ts";
import type { PrimaryFields } from "../tasks/mod.ts";
import type { RowBase } from "../stages/parts.ts";
import { inputSide, type SegFitResult } from "./fit_segmentation.ts";

/** What a segmentation row adds to the fields every row has (test split, at the data set's size). */
export interface SegFacts {
  iou: number;
  pixel_accuracy: number;
  soft_dice: number;
  /** Combined loss BCE + (1 − soft Dice). */
  loss: number;
  train_seconds: number;
  /** Side of the model's square input (below the data set's size for unet_lowres). */
  input_size: number;
}

/** A row of a trained U-Net (tfjs, local). */
export interface SegRow extends RowBase, PrimaryFields, SegFacts {}

/** A kept U-Net: its record, its row and its sample masks. */
export interface SegVariant {
  record: SegModelRecord;
  row: SegRow;
  predictions: MaskPredictions;
}

/**
 * Save `model` into `<outDir>/<name>/model`, and its first `samples` test masks (255 where the
 * probability is ≥ 0.5) into `<outDir>/<name>/predictions.bin`.
 */
export async function keepSegVariant(
  outDir: string,
  name: string,
  model: tf.LayersModel,
  data: Dataset,
  fit: SegFitResult,
  how: { technique: string; spec: Record<string, unknown>; samples: number },
): Promise<SegVariant> {
  const checkpoint = join(name, "model");
  const bytes = await saveModel(model, join(outDir, checkpoint));
  const counts = account(model);
  const count = Math.min(how.samples, data.splits.test.count), per = data.size * data.size;
  const masks = Uint8Array.from(fit.testProbs.subarray(0, count * per), (p) => p >= 0.5 ? 255 : 0);
  const file = join(name, "predictions.bin");
  await writeFileAtomic(join(outDir, file), masks);
  const side = inputSide(model);
  const record: SegModelRecord = {
    technique: how.technique,
    spec: how.spec,
    input_size: side,
    params_tfjs: counts.params_tfjs,
    history: fit.history,
    best_epoch: fit.bestEpoch,
    stopped_early: fit.stoppedEarly,
    train_seconds: fit.seconds,
    ...(Number.isFinite(fit.stepMs) ? { step_ms: Number(fit.stepMs.toFixed(1)) } : {}),
    test: fit.test,
    checkpoint,
  };
  const row: SegRow = {
    variant: name,
    technique: how.technique,
    ...counts,
    size_bytes: bytes,
    dice: fit.test.dice,
    iou: fit.test.iou,
    pixel_accuracy: fit.test.pixel_accuracy,
    soft_dice: fit.test.soft_dice,
    loss: fit.test.loss,
    train_seconds: Number(fit.seconds.toFixed(1)),
    runtime: "tfjs",
    format: "tfjs",
    device: "local",
    input_size: side,
  };
  return { record, row, predictions: { file, count, size: data.size } };
}
