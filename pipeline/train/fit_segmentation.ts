/**
 * Training a U-Net: the segmentation task's side of the training loop (loop.ts) — images and 0/1
 * masks per batch, BCE + (1 − Dice) (with pixel-wise soft targets when a teacher is given), the
 * training batches' soft Dice — and the test metrics. A model whose input side is below the data
 * set's (unet_lowres) trains on images resized down (bilinear) and masks resized down (nearest);
 * its validation and test probabilities are resized back up (bilinear) and scored at full size.
 */
import type * as tf from "@tensorflow/tfjs";
import type { StageContext } from "../core/types.ts";
import { type Dataset, type DatasetSplit, toFloatBatch, toMaskBatch } from "../data/dataset.ts";
import { resizeBilinear, resizeNearest } from "../data/resize.ts";
import { createTrainer, type Trainer } from "../engine/mod.ts";
import type { SegEpochRecord, SegMetrics } from "../tasks/segmentation_records.ts";
import { segmentation } from "../tasks/mod.ts";
import { type LoopOptions, type LoopTask, trainLoop } from "./loop.ts";

export interface SegFitOptions extends LoopOptions {
  /**
   * Distillation: the teacher's probabilities for every training image at the data set's size
   * (`predictProbs(teacher, data, "train")`, computed once); the target becomes
   * (1 − alpha)·mask + alpha·teacher. @default undefined (the masks alone)
   */
  teacher?: { probs: Float32Array; alpha: number };
  /** Smoothing term of the Dice in the loss and in the scores. @default 1 */
  smooth?: number;
}

export interface SegFitResult {
  history: SegEpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  seconds: number;
  /** At the data set's size. */
  test: SegMetrics;
  /** Test probabilities at the data set's size (test count × size × size), in split order. */
  testProbs: Float32Array;
  /** Median wall-clock ms of one training step. */
  stepMs: number;
}

/** Images predicted per call, so a whole split is never one float batch. */
const CHUNK = 128;

/** Side of the square input of `model`. */
export function inputSide(model: tf.LayersModel): number {
  return model.inputs[0].shape[1] as number;
}

/** Train `model` in place from its current weights; on return it holds the best epoch's weights. */
export async function fitSegmenter(
  ctx: StageContext<unknown>,
  name: string,
  model: tf.LayersModel,
  data: Dataset,
  opts: SegFitOptions,
): Promise<SegFitResult> {
  const side = inputSide(model), smooth = opts.smooth ?? 1;
  const train = atSide(data.splits.train, data.size, side);
  const valImages = atSide(data.splits.val, data.size, side).images;
  const testImages = atSide(data.splits.test, data.size, side).images;
  const counts = { val: data.splits.val.count, test: data.splits.test.count };
  const valMasks = allMasks(data.splits.val, data.size);
  const task: LoopTask<Float32Array, SegEpochRecord> = {
    loss: "bce_dice",
    lossOptions: opts.teacher ? { smooth, alpha: opts.teacher.alpha } : { smooth },
    trainCount: train.count,
    teacher: opts.teacher && resizeProbs(opts.teacher.probs, train.count, data.size, side),
    batch: (indices) => ({
      x: toFloatBatch(train.images, indices, side),
      y: toMaskBatch(train.masks!, indices, side),
    }),
    predict: async (trainer, split) =>
      resizeProbs(
        await predictChunked(trainer, split === "val" ? valImages : testImages, counts[split], side),
        counts[split],
        side,
        data.size,
      ),
    figure: { name: "dice", sum: (out, y, n) => softDice(out, y, smooth) * n },
    record(epoch, t, probs, seconds) {
      const v = segmentation(smooth).score(probs, valMasks, counts.val);
      return {
        epoch,
        train_loss: t.loss,
        train_dice: t.figure,
        val_loss: v.loss,
        val_dice: v.metrics.dice,
        val_iou: v.metrics.iou,
        seconds,
      };
    },
    describe: (r) =>
      `loss ${r.train_loss.toFixed(4)} dice ${r.train_dice.toFixed(4)}  val_loss ${
        r.val_loss.toFixed(4)
      } val_dice ${r.val_dice.toFixed(4)} val_iou ${r.val_iou.toFixed(4)}`,
  };
  const fit = await trainLoop(ctx, name, model, task, opts);
  return {
    history: fit.history,
    bestEpoch: fit.bestEpoch,
    stoppedEarly: fit.stoppedEarly,
    seconds: fit.seconds,
    test: scoreMasks(fit.testOutputs, data.splits.test, data.size, smooth),
    testProbs: fit.testOutputs,
    stepMs: fit.stepMs,
  };
}

/**
 * Probabilities of `model` for every image of a split, at the data set's size (inputs resized to
 * the model's side and the outputs back), in inference mode in the engine's workers.
 */
export async function predictProbs(
  model: tf.LayersModel,
  data: Dataset,
  split: "train" | "val" | "test",
): Promise<Float32Array> {
  const side = inputSide(model), s = data.splits[split];
  const runner = await createTrainer({ model, seed: 0, learningRate: 0 });
  try {
    const out = await predictChunked(runner, atSide(s, data.size, side).images, s.count, side);
    return resizeProbs(out, s.count, side, data.size);
  } finally {
    await runner.dispose();
  }
}

/**
 * The segmentation task's scores of `probs` (count × size × size) against a split's masks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreMasks } from "./fit_segmentation.ts";
 * const masks = new Uint8Array([1, 0, 0, 0]);
 * const split = { images: new Uint8Array(12), labels: new Int32Array(0), masks, count: 1 };
 * const m = scoreMasks(new Float32Array([0.9, 0.8, 0.2, 0.1]), split, 2);
 * assert(m.dice === 2 / 3 && m.iou === 0.5 && m.pixel_accuracy === 0.75);
 * ```
 */
export function scoreMasks(probs: Float32Array, split: DatasetSplit, size: number, smooth = 1): SegMetrics {
  const { loss, metrics } = segmentation(smooth).score(probs, allMasks(split, size), split.count);
  return {
    dice: metrics.dice,
    iou: metrics.iou,
    pixel_accuracy: metrics.pixel_accuracy,
    soft_dice: metrics.soft_dice,
    loss,
  };
}

/**
 * Hard Dice (threshold 0.5) of each image of a split; an empty prediction of an empty mask is 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diceByImage } from "./fit_segmentation.ts";
 * const masks = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
 * const split = { images: new Uint8Array(24), labels: new Int32Array(0), masks, count: 2 };
 * assert(diceByImage(new Float32Array([0.9, 0.8, 0, 0, 0, 0, 0, 0]), split, 2).join() === [2 / 3, 1].join());
 * ```
 */
export function diceByImage(probs: Float32Array, split: DatasetSplit, size: number): Float64Array {
  const per = size * size, out = new Float64Array(split.count);
  for (let b = 0; b < split.count; b++) {
    let tp = 0, pp = 0, st = 0;
    for (let j = b * per; j < (b + 1) * per; j++) {
      const hard = probs[j] >= 0.5 ? 1 : 0, t = split.masks![j] === 1 ? 1 : 0;
      tp += hard * t;
      pp += hard;
      st += t;
    }
    out[b] = pp + st ? 2 * tp / (pp + st) : 1;
  }
  return out;
}

/** A split's images and masks at `side` (resized when it is not the data set's `size`). */
function atSide(split: DatasetSplit, size: number, side: number): DatasetSplit {
  if (!split.masks) throw new Error("a segmentation split has no masks (dataset.json: splits.*.masks)");
  if (side === size) return split;
  return {
    ...split,
    images: resizeBilinear(split.images, split.count, size, side, 3),
    masks: resizeNearest(split.masks, split.count, size, side),
  };
}

/** Every mask of a split as 0/1 floats. */
function allMasks(split: DatasetSplit, size: number): Float32Array {
  return toMaskBatch(split.masks!, Array.from({ length: split.count }, (_, i) => i), size);
}

/** `n` single-channel maps from `from`×`from` to `to`×`to` (bilinear); unchanged when the sides agree. */
function resizeProbs(probs: Float32Array, n: number, from: number, to: number): Float32Array {
  return from === to ? probs : resizeBilinear(probs, n, from, to, 1);
}

/** Outputs of `count` uint8 images at `side`, CHUNK images at a time through the trainer's workers. */
async function predictChunked(
  trainer: Trainer,
  images: Uint8Array,
  count: number,
  side: number,
): Promise<Float32Array> {
  const out = new Float32Array(count * side * side);
  for (let a = 0; a < count; a += CHUNK) {
    const indices = Array.from({ length: Math.min(CHUNK, count - a) }, (_, i) => a + i);
    out.set(await trainer.predict(toFloatBatch(images, indices, side)), a * side * side);
  }
  return out;
}

/** Soft Dice of a batch, (2·Σ p·t + s) / (Σ p + Σ t + s), as the loss computes it. */
function softDice(probs: Float32Array, masks: Float32Array, smooth: number): number {
  let inter = 0, sp = 0, st = 0;
  for (let i = 0; i < probs.length; i++) {
    inter += probs[i] * masks[i];
    sp += probs[i];
    st += masks[i];
  }
  return (2 * inter + smooth) / (sp + st + smooth);
}
