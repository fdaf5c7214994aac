/**
 * Training a classifier: the task's side of the training loop (loop.ts) — images and labels per
 * batch, softmax cross-entropy (distilled when a teacher is given), accuracy — and the test metrics.
 */
import type * as tf from "@tensorflow/tfjs";
import type { StageContext } from "../core/types.ts";
import type { ClassifierMetrics, EpochRecord } from "../tasks/classification_records.ts";
import { type Dataset, type DatasetSplit, toFloatBatch } from "../data/dataset.ts";
import { createTrainer } from "../engine/mod.ts";
import { argmaxRows, classification } from "../tasks/mod.ts";
import {
  type LoopOptions,
  loopOptions,
  type LoopTask,
  predictOutputs,
  type TrainingParams,
  trainLoop,
} from "./loop.ts";
import { classifierMetrics } from "./metrics.ts";

export { predictOutputs, type TrainingParams } from "./loop.ts";

export interface FitOptions extends LoopOptions {
  /** Index of the class precision / recall / F1 are reported for. */
  positive: number;
  /**
   * Knowledge distillation: the teacher's logits become soft targets. They are computed once per
   * training image before the first epoch (inference mode: the images are not augmented, so they
   * are the same every epoch), then looked up per batch.
   * @default undefined (plain cross-entropy)
   */
  teacher?: {
    model: tf.LayersModel;
    temperature: number;
    alpha: number;
    /** The teacher's `teacherLogits` on this data, when already computed (e.g. for several students). */
    logits?: Float32Array;
  };
}

export interface FitResult {
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  seconds: number;
  test: ClassifierMetrics;
  /** Predicted class of every test image, in split order. */
  testPredicted: Int32Array;
}

/** FitOptions from a stage's training params. */
export function fitOptions(p: TrainingParams, epochs: number, positive: number): FitOptions {
  return { ...loopOptions(p, epochs), positive };
}

/** Train `model` in place from its current weights; on return it holds the best epoch's weights. */
export async function fitClassifier(
  ctx: StageContext<unknown>,
  name: string,
  model: tf.LayersModel,
  data: Dataset,
  opts: FitOptions,
): Promise<FitResult> {
  const { train, val, test } = data.splits;
  const valImages = splitImages(val, data.size), testImages = splitImages(test, data.size);
  const task: LoopTask<Int32Array, EpochRecord> = {
    loss: "softmax_cross_entropy",
    lossOptions: opts.teacher ? { temperature: opts.teacher.temperature, alpha: opts.teacher.alpha } : {},
    trainCount: train.count,
    teacher: opts.teacher && (opts.teacher.logits ?? await teacherLogits(opts.teacher.model, data)),
    batch: (indices) => ({
      x: toFloatBatch(train.images, indices, data.size),
      y: Int32Array.from(indices, (i) => train.labels[i]),
    }),
    predict: (trainer, split) => trainer.predict(split === "val" ? valImages : testImages),
    figure: {
      name: "acc",
      sum: (out, y, n) => argmaxRows(out, n).reduce((c, p, i) => c + (p === y[i] ? 1 : 0), 0),
    },
    record(epoch, t, logits, seconds) {
      const v = scoreLogits(logits, val.labels);
      return { epoch, train_loss: t.loss, train_acc: t.figure, val_loss: v.loss, val_acc: v.acc, seconds };
    },
    describe: (r) =>
      `loss ${r.train_loss.toFixed(4)} acc ${r.train_acc.toFixed(4)}  val_loss ${
        r.val_loss.toFixed(4)
      } val_acc ${r.val_acc.toFixed(4)}`,
  };
  const fit = await trainLoop(ctx, name, model, task, opts);
  const predicted = argmaxRows(fit.testOutputs, test.count);
  return {
    history: fit.history,
    bestEpoch: fit.bestEpoch,
    stoppedEarly: fit.stoppedEarly,
    seconds: fit.seconds,
    test: classifierMetrics(test.labels, predicted, data.classes, opts.positive),
    testPredicted: predicted,
  };
}

/** A whole split as one NHWC float batch. */
function splitImages(split: DatasetSplit, size: number): Float32Array {
  return toFloatBatch(split.images, Array.from({ length: split.count }, (_, i) => i), size);
}

/** The first `images` training images (the recalibration set; the same every epoch). */
function recalibrationImages(data: Dataset, images: number): Float32Array {
  const n = Math.min(images, data.splits.train.count);
  return toFloatBatch(data.splits.train.images, Array.from({ length: n }, (_, i) => i), data.size);
}

/** Mean cross-entropy and accuracy of logits (n × classes) against labels, as the classification task scores them. */
function scoreLogits(logits: Float32Array, labels: Int32Array): { loss: number; acc: number } {
  const { loss, metrics } = classification().score(logits, labels, labels.length);
  return { loss, acc: metrics.accuracy };
}

/** The teacher's logits for every training image (inference mode: moving BN statistics, no dropout). */
export function teacherLogits(teacher: tf.LayersModel, data: Dataset): Promise<Float32Array> {
  return predictOutputs(teacher, splitImages(data.splits.train, data.size));
}

/**
 * Re-estimate `model`'s BN statistics on the first `images` training images: every batch norm's
 * moving mean and (biased) variance become those of its input over the images taken as one batch,
 * in graph order, as `recalibrateBatchNorm` does layer by layer.
 */
export async function recalibrateOn(model: tf.LayersModel, data: Dataset, images: number): Promise<void> {
  const runner = await createTrainer({ model, seed: 0, learningRate: 0 });
  try {
    await runner.recalibrate(recalibrationImages(data, images));
    runner.exportTo(model);
  } finally {
    await runner.dispose();
  }
}

/** Mean cross-entropy, accuracy and predicted labels of `model` on a split (inference mode). */
export async function evaluate(
  model: tf.LayersModel,
  split: DatasetSplit,
  size: number,
): Promise<{ loss: number; acc: number; predicted: Int32Array }> {
  const logits = await predictOutputs(model, splitImages(split, size));
  return { ...scoreLogits(logits, split.labels), predicted: argmaxRows(logits, split.count) };
}
