/**
 * The one training loop of both tasks: epochs of shuffled batches through the engine's workers,
 * validation after each epoch, early stopping on validation loss, the best epoch's weights restored
 * and the test split scored with them. A checkpoint after every epoch makes a killed run resume
 * bit-identically. The task supplies the batches, the loss, the training figure and the epoch
 * record (`LoopTask`): fit.ts for classifiers, fit_segmentation.ts for U-Nets.
 */
import type * as tf from "@tensorflow/tfjs";
import { percentile } from "../bench/stats.ts";
import { hashString, seededRandom, shuffled } from "../core/random.ts";
import type { StageContext } from "../core/types.ts";
import { createTrainer, type LossName, type Trainer } from "../engine/mod.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { laneCount } from "./lanes.ts";

/** How to train, whatever the task. */
export interface LoopOptions {
  epochs: number;
  batch: number;
  learningRate: number;
  /** Epochs without a better validation loss before stopping. */
  patience: number;
  /** Data-parallel workers; undefined lets the engine choose. */
  workers?: number;
  /** Train in a Worker even with one worker, so that other models can train at the same time (lanes.ts). */
  offThread?: boolean;
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
  /**
   * Epochs over which the learning rate rises linearly from zero at the start (then the schedule):
   * keeps a net without batch norm from blowing up in its first steps. @default 0
   */
  warmupEpochs?: number;
}

/** The training params the train and compress stages share (names as in the pipeline file). */
export interface TrainingParams {
  batch: number;
  learning_rate: number;
  lr_schedule: "cosine" | "constant";
  lr_warmup_epochs?: number;
  patience: number;
  workers: "auto" | number;
  lanes: "auto" | number;
}

/** LoopOptions from a stage's training params. */
export function loopOptions(p: TrainingParams, epochs: number): LoopOptions {
  return {
    epochs,
    batch: p.batch,
    learningRate: p.learning_rate,
    schedule: p.lr_schedule,
    warmupEpochs: p.lr_warmup_epochs,
    patience: p.patience,
    workers: p.workers === "auto" ? undefined : p.workers,
    offThread: laneCount(p) > 1,
  };
}

/** What a task tells the loop. `T`: its targets; `E`: its per-epoch record. */
export interface LoopTask<T extends Int32Array | Float32Array, E extends { val_loss: number }> {
  loss: LossName;
  lossOptions: Record<string, number>;
  /** Training images. */
  trainCount: number;
  /** Model inputs (NHWC) and targets of the training images `indices`. */
  batch(indices: number[]): { x: Float32Array; y: T };
  /**
   * Distillation targets of every training image (train count × output size), looked up per batch.
   * @default undefined (no teacher)
   */
  teacher?: Float32Array;
  /** Model outputs of a whole split in inference mode, through the trainer's workers. */
  predict(trainer: Trainer, split: "val" | "test"): Promise<Float32Array>;
  /** The running training figure (e.g. accuracy): its name and its sum over one batch's images. */
  figure: { name: string; sum(out: Float32Array, y: T, n: number): number };
  /** The epoch's record from the training means and the validation outputs. */
  record(epoch: number, train: { loss: number; figure: number }, val: Float32Array, seconds: number): E;
  /** The record as a log line. */
  describe(record: E): string;
}

/** What the loop returns; the task turns `testOutputs` into its metrics. */
export interface LoopResult<E> {
  history: E[];
  bestEpoch: number;
  stoppedEarly: boolean;
  seconds: number;
  /** Outputs of the best epoch's weights on the test split. */
  testOutputs: Float32Array;
  /** Median wall-clock ms of one training step (this run's steps; a resumed run's earlier ones are not timed). */
  stepMs: number;
}

/** Train `model` in place from its current weights; on return it holds the best epoch's weights. */
export async function trainLoop<
  T extends Int32Array | Float32Array,
  E extends { val_loss: number; seconds: number },
>(
  ctx: StageContext<unknown>,
  name: string,
  model: tf.LayersModel,
  task: LoopTask<T, E>,
  opts: LoopOptions,
): Promise<LoopResult<E>> {
  const started = performance.now();
  const trainer = await createTrainer({
    model,
    loss: task.loss,
    lossOptions: task.lossOptions,
    seed: ctx.seed,
    learningRate: opts.learningRate,
    workers: opts.workers,
    offThread: opts.offThread,
    masks: opts.masks,
  });
  const random = seededRandom(ctx.seed ^ hashString(opts.orderKey ?? name));
  const stepsPerEpoch = batchesPerEpoch(task.trainCount, opts.batch);
  const totalSteps = opts.epochs * stepsPerEpoch;
  const warmupSteps = (opts.warmupEpochs ?? 0) * stepsPerEpoch;
  const learningRateAt = (step: number) =>
    Math.min(1, (step + 1) / (warmupSteps + 1)) *
    ((opts.schedule ?? "cosine") === "cosine"
      ? opts.learningRate * 0.5 * (1 + Math.cos(Math.PI * step / totalSteps))
      : opts.learningRate);
  const recalibration = opts.bnRecalibrationImages
    ? task.batch(Array.from({ length: Math.min(opts.bnRecalibrationImages, task.trainCount) }, (_, i) => i)).x
    : undefined;
  const history: E[] = [];
  const initial = trainer.snapshot();
  let best = { loss: Infinity, epoch: 0, trainable: initial.trainable, state: initial.state };
  let stoppedEarly = false, firstEpoch = 1, earlierSeconds = 0;
  let testOutputs: Float32Array = new Float32Array(0);
  const stepTimes: number[] = [];
  const resumed = opts.checkpointDir ? await loadCheckpoint(opts.checkpointDir) : undefined;
  if (resumed) {
    trainer.restore(resumed.trainer);
    history.push(...resumed.history as E[]);
    best = { loss: resumed.bestLoss ?? Infinity, epoch: resumed.bestEpoch, ...resumed.best };
    stoppedEarly = resumed.stoppedEarly;
    firstEpoch = resumed.epoch + 1;
    earlierSeconds = history.reduce((t, h) => t + h.seconds, 0);
    // The batch order of each epoch comes from one stream: replay the finished epochs' shuffles.
    for (let e = 1; e < firstEpoch; e++) epochOrder(task.trainCount, random);
    ctx.log.info(`${name}: resumed after epoch ${resumed.epoch} from ${opts.checkpointDir}`);
  }
  try {
    for (let epoch = firstEpoch; epoch <= opts.epochs && !stoppedEarly; epoch++) {
      const epochStart = performance.now();
      const train = await trainEpoch(
        ctx,
        trainer,
        task,
        opts.batch,
        random,
        `${name} epoch ${epoch}/${opts.epochs}`,
        (b) => learningRateAt((epoch - 1) * stepsPerEpoch + b),
        stepTimes,
      );
      if (recalibration) await trainer.recalibrate(recalibration);
      const val = await task.predict(trainer, "val");
      const record = task.record(epoch, train, val, (performance.now() - epochStart) / 1000);
      history.push(record);
      ctx.log.info(`${name} epoch ${epoch}: ${task.describe(record)}`);
      if (record.val_loss < best.loss) {
        const now = trainer.snapshot();
        best = { loss: record.val_loss, epoch, trainable: now.trainable, state: now.state };
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
    testOutputs = await task.predict(trainer, "test");
  } finally {
    await trainer.dispose();
  }
  return {
    history,
    bestEpoch: best.epoch,
    stoppedEarly,
    seconds: earlierSeconds + (performance.now() - started) / 1000,
    testOutputs,
    stepMs: percentile([...stepTimes].sort((a, b) => a - b), 50),
  };
}

async function trainEpoch<T extends Int32Array | Float32Array, E extends { val_loss: number }>(
  ctx: StageContext<unknown>,
  trainer: Trainer,
  task: LoopTask<T, E>,
  batch: number,
  random: () => number,
  label: string,
  learningRate: (batchIndex: number) => number,
  stepTimes: number[],
): Promise<{ loss: number; figure: number }> {
  const order = epochOrder(task.trainCount, random);
  const batches = batchesPerEpoch(order.length, batch);
  const bar = ctx.progress(`train ${label}`, batches, "batch");
  const per = task.teacher ? task.teacher.length / task.trainCount : 0;
  let lossSum = 0, figureSum = 0, seen = 0;
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const indices = order.slice(b * batch, (b + 1) * batch);
    const { x, y } = task.batch(indices);
    let soft: Float32Array | undefined;
    if (task.teacher) {
      soft = new Float32Array(indices.length * per);
      indices.forEach((i, j) => soft!.set(task.teacher!.subarray(i * per, (i + 1) * per), j * per));
    }
    const stepStart = performance.now();
    const step = await trainer.trainStep(x, y, { teacher: soft, learningRate: learningRate(b) });
    stepTimes.push(performance.now() - stepStart);
    lossSum += step.loss * indices.length;
    figureSum += task.figure.sum(step.out, y, indices.length);
    seen += indices.length;
    bar.tick(1, {
      loss: (lossSum / seen).toFixed(4),
      [task.figure.name]: (figureSum / seen).toFixed(3),
      "img/s": (seen / ((performance.now() - started) / 1000)).toFixed(1),
    });
  }
  bar.done();
  return { loss: lossSum / seen, figure: figureSum / seen };
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
