/**
 * The training loop: epochs of shuffled batches through the fast engine, validation after
 * each epoch, early stopping on validation loss, best weights restored, test metrics.
 */
import * as tf from "@tensorflow/tfjs";
import { hashString, seededRandom, shuffled } from "../core/random.ts";
import type { StageContext } from "../core/types.ts";
import type { ClassifierMetrics, EpochRecord } from "../tasks/classification_records.ts";
import { type Dataset, type DatasetSplit, toFloatBatch } from "../data/dataset.ts";
import { createTrainer } from "../engine/mod.ts";
import { argmaxRows, classification } from "../tasks/mod.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { classifierMetrics } from "./metrics.ts";

export interface FitOptions {
  epochs: number;
  batch: number;
  learningRate: number;
  /** Epochs without a better validation loss before stopping. */
  patience: number;
  /** Data-parallel workers; undefined lets the engine choose. */
  workers?: number;
  /** Index of the class precision / recall / F1 are reported for. */
  positive: number;
  /**
   * Knowledge distillation: the teacher's logits become soft targets. They are computed once per
   * training image before the first epoch (model.predict on the main thread, inference mode: the
   * images are not augmented, so they are the same every epoch), then looked up per batch.
   * @default undefined (plain cross-entropy)
   */
  teacher?: {
    model: tf.LayersModel;
    temperature: number;
    alpha: number;
    /** The teacher's `teacherLogits` on this data, when already computed (e.g. for several students). */
    logits?: Float32Array;
  };
  /**
   * Write a checkpoint here after every epoch and, when one is there, resume after its epoch: the
   * result is bit-identical to an uninterrupted run. @default undefined (no checkpoints)
   */
  checkpointDir?: string;
  /** 0/1 kernel masks by layer name, kept applied after every step (see `TrainerOptions.masks`). */
  masks?: Record<string, Float32Array>;
  /** Key of the shuffling stream, so two runs can see the same batches. @default name */
  orderKey?: string;
  /**
   * Learning-rate schedule over all steps of `epochs`: cosine decay to zero steadies the last
   * epochs (validation swings less), or constant. @default "cosine"
   */
  schedule?: "cosine" | "constant";
  /**
   * Re-estimate the BN statistics on this many training images after every epoch, before
   * validation (the trainer's running averages lag behind the weights); 0 = off. @default 0
   */
  bnRecalibrationImages?: number;
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

/** The training params the train and compress stages share (names as in the pipeline file). */
export interface TrainingParams {
  batch: number;
  learning_rate: number;
  lr_schedule: "cosine" | "constant";
  patience: number;
  workers: "auto" | number;
}

/** FitOptions from a stage's training params. */
export function fitOptions(p: TrainingParams, epochs: number, positive: number): FitOptions {
  return {
    epochs,
    batch: p.batch,
    learningRate: p.learning_rate,
    schedule: p.lr_schedule,
    patience: p.patience,
    workers: p.workers === "auto" ? undefined : p.workers,
    positive,
  };
}

/** Train `model` in place from its current weights; on return it holds the best epoch's weights. */
export async function fitClassifier(
  ctx: StageContext<unknown>,
  name: string,
  model: tf.LayersModel,
  data: Dataset,
  opts: FitOptions,
): Promise<FitResult> {
  const started = performance.now();
  const trainer = await createTrainer({
    model,
    loss: "softmax_cross_entropy",
    lossOptions: opts.teacher ? { temperature: opts.teacher.temperature, alpha: opts.teacher.alpha } : {},
    seed: ctx.seed,
    learningRate: opts.learningRate,
    workers: opts.workers,
    masks: opts.masks,
  });
  const random = seededRandom(ctx.seed ^ hashString(opts.orderKey ?? name));
  const soft = opts.teacher && (opts.teacher.logits ?? await teacherLogits(opts.teacher.model, data));
  const stepsPerEpoch = batchesPerEpoch(data.splits.train.count, opts.batch);
  const totalSteps = opts.epochs * stepsPerEpoch;
  const learningRateAt = (step: number) =>
    (opts.schedule ?? "cosine") === "cosine"
      ? opts.learningRate * 0.5 * (1 + Math.cos(Math.PI * step / totalSteps))
      : opts.learningRate;
  const recalibration = opts.bnRecalibrationImages
    ? recalibrationImages(data, opts.bnRecalibrationImages)
    : undefined;
  const history: EpochRecord[] = [];
  const initial = trainer.snapshot();
  let best = { loss: Infinity, epoch: 0, trainable: initial.trainable, state: initial.state };
  let stoppedEarly = false, firstEpoch = 1, earlierSeconds = 0;
  let testLogits: Float32Array = new Float32Array(0);
  const resumed = opts.checkpointDir ? await loadCheckpoint(opts.checkpointDir) : undefined;
  if (resumed) {
    trainer.restore(resumed.trainer);
    history.push(...resumed.history as EpochRecord[]);
    best = { loss: resumed.bestLoss ?? Infinity, epoch: resumed.bestEpoch, ...resumed.best };
    stoppedEarly = resumed.stoppedEarly;
    firstEpoch = resumed.epoch + 1;
    earlierSeconds = history.reduce((t, h) => t + h.seconds, 0);
    // The batch order of each epoch comes from one stream: replay the finished epochs' shuffles.
    for (let e = 1; e < firstEpoch; e++) epochOrder(data.splits.train.count, random);
    ctx.log.info(`${name}: resumed after epoch ${resumed.epoch} from ${opts.checkpointDir}`);
  }
  try {
    for (let epoch = firstEpoch; epoch <= opts.epochs && !stoppedEarly; epoch++) {
      const epochStart = performance.now();
      const train = await trainEpoch(
        ctx,
        trainer,
        data,
        opts.batch,
        random,
        `${name} epoch ${epoch}/${opts.epochs}`,
        (b) => learningRateAt((epoch - 1) * stepsPerEpoch + b),
        soft,
      );
      if (recalibration) await trainer.recalibrate(recalibration);
      const val = scoreLogits(
        await trainer.predict(splitImages(data.splits.val, data.size)),
        data.splits.val.labels,
      );
      history.push({
        epoch,
        train_loss: train.loss,
        train_acc: train.acc,
        val_loss: val.loss,
        val_acc: val.acc,
        seconds: (performance.now() - epochStart) / 1000,
      });
      ctx.log.info(
        `${name} epoch ${epoch}: loss ${train.loss.toFixed(4)} acc ${train.acc.toFixed(4)}  val_loss ${
          val.loss.toFixed(4)
        } val_acc ${val.acc.toFixed(4)}`,
      );
      if (val.loss < best.loss) {
        const now = trainer.snapshot();
        best = { loss: val.loss, epoch, trainable: now.trainable, state: now.state };
      } else if (epoch - best.epoch >= opts.patience) {
        stoppedEarly = true;
        ctx.log.info(`${name}: early stop, no better val_loss for ${opts.patience} epochs`);
      }
      if (opts.checkpointDir) {
        await saveCheckpoint(opts.checkpointDir, {
          epoch,
          bestLoss: best.loss,
          bestEpoch: best.epoch,
          stoppedEarly,
          history,
          trainer: trainer.snapshot(),
          best: { trainable: best.trainable, state: best.state },
        });
      }
    }
    trainer.restore({ ...trainer.snapshot(), trainable: best.trainable, state: best.state });
    trainer.exportTo(model);
    // The best weights are in the trainer's workers already: score the test split there.
    testLogits = await trainer.predict(splitImages(data.splits.test, data.size));
  } finally {
    await trainer.dispose();
  }
  const test = { predicted: argmaxRows(testLogits, data.splits.test.count) };
  return {
    history,
    bestEpoch: best.epoch,
    stoppedEarly,
    seconds: earlierSeconds + (performance.now() - started) / 1000,
    test: classifierMetrics(data.splits.test.labels, test.predicted, data.classes, opts.positive),
    testPredicted: test.predicted,
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

type Trainer = Awaited<ReturnType<typeof createTrainer>>;

async function trainEpoch(
  ctx: StageContext<unknown>,
  trainer: Trainer,
  data: Dataset,
  batch: number,
  random: () => number,
  label: string,
  learningRate: (batchIndex: number) => number,
  teacher?: Float32Array,
): Promise<{ loss: number; acc: number }> {
  const split = data.splits.train;
  const order = epochOrder(split.count, random);
  const batches = batchesPerEpoch(order.length, batch);
  const bar = ctx.progress(`train ${label}`, batches, "batch");
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const indices = order.slice(b * batch, (b + 1) * batch);
    const x = toFloatBatch(split.images, indices, data.size);
    const y = Int32Array.from(indices, (i) => split.labels[i]);
    const k = data.classes.length;
    const soft = teacher &&
      Float32Array.from(
        { length: indices.length * k },
        (_, i) => teacher[indices[Math.floor(i / k)] * k + i % k],
      );
    const step = await trainer.trainStep(x, y, { teacher: soft, learningRate: learningRate(b) });
    lossSum += step.loss * indices.length;
    correct += argmaxRows(step.out, indices.length).reduce((n, p, i) => n + (p === y[i] ? 1 : 0), 0);
    seen += indices.length;
    bar.tick(1, {
      loss: (lossSum / seen).toFixed(4),
      acc: (correct / seen).toFixed(3),
      "img/s": (seen / ((performance.now() - started) / 1000)).toFixed(1),
    });
  }
  bar.done();
  return { loss: lossSum / seen, acc: correct / seen };
}

/** One epoch's order of the training images (consumes the order stream). */
function epochOrder(count: number, random: () => number): number[] {
  return shuffled(Array.from({ length: count }, (_, i) => i), random);
}

/** Batches in one epoch; a last batch of one image would make batch-norm statistics degenerate: dropped. */
function batchesPerEpoch(images: number, batch: number): number {
  return Math.floor(images / batch) + (images % batch > 1 ? 1 : 0);
}

/** Outputs of `model` on NHWC `x` in inference mode (moving BN statistics, no dropout), in the engine's workers. */
export async function predictOutputs(model: tf.LayersModel, x: Float32Array): Promise<Float32Array> {
  const runner = await createTrainer({ model, seed: 0, learningRate: 0 });
  try {
    return await runner.predict(x);
  } finally {
    await runner.dispose();
  }
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
