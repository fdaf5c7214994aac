/**
 * A data split as one exported model sees it, per task: the images it takes (at its input size)
 * and a scorer of its outputs through the task (`task.score`; segmentation at the data set's side,
 * see seg_score.ts). Export (every format) and bench (every runtime) score through this, so no
 * metric is read by name here either: the primary one is `task.primary.name`.
 */
import type { Dataset } from "../data/dataset.ts";
import type { SplitName } from "../data/split.ts";
import type { AnyTask, Scored, Task } from "../tasks/mod.ts";
import { agreement, argmaxRows, firstImages } from "./evaluate.ts";
import { hardMasks, scoreMasks, segInputs, toDataSize } from "./seg_score.ts";

/**
 * Model input and output shapes without the batch axis, e.g. [64, 64, 3] and [64, 64, 1]. Without
 * `output` (a runtime's file, not the tfjs model) the task's output is assumed: logits, or one
 * probability map at the input side, checked by length when scored.
 */
export interface ModelShapes {
  input: number[];
  output?: number[];
}

/** Scores the outputs of the first `count` images of one split. */
export interface SplitScorer {
  count: number;
  /** The task's loss and metrics of `outputs` (count × output size). */
  score(outputs: Float32Array): Scored;
  /**
   * How far `outputs` agree with `reference` (another format's outputs on the same images): the
   * task's primary metric of `outputs` against `reference`'s hard predictions (classification:
   * top-1 agreement; segmentation: Dice of the two masks).
   */
  agreement(outputs: Float32Array, reference: Float32Array): number;
}

interface TaskEval {
  /** The first `count` images of `split` at the model's input; undefined when the data set does not fit it. */
  images(data: Dataset, split: SplitName, count: number, shapes: ModelShapes): Float32Array | undefined;
  /** A scorer of the first `count` images of `split`, or undefined when the task cannot score this model. */
  scorer(
    task: AnyTask,
    data: Dataset,
    split: SplitName,
    count: number,
    shapes: ModelShapes,
  ): SplitScorer | undefined;
}

const square = ({ input: [h, w, c] }: ModelShapes) => h === w && c === 3;

/** Per task: what fits a model and how its outputs are scored. */
const EVALS: Record<AnyTask["name"], TaskEval> = {
  classification: {
    images: (data, split, count, s) =>
      square(s) && data.size === s.input[0] ? firstImages(data.splits[split], count, data.size) : undefined,
    scorer(task, data, split, count, s) {
      if (!(square(s) && data.size === s.input[0] && (s.output?.length ?? 1) === 1)) return undefined;
      const labels = data.splits[split].labels, n = Math.min(count, data.splits[split].count);
      return {
        count: n,
        score: (logits) => (task as Task<Int32Array>).score(logits, labels.subarray(0, n), n),
        agreement: (a, b) => agreement(argmaxRows(a, a.length / n), argmaxRows(b, b.length / n)),
      };
    },
  },
  segmentation: {
    images: (data, split, count, s) =>
      square(s) && data.task === "segmentation"
        ? segInputs(data.splits[split], count, data.size, s.input[0])
        : undefined,
    scorer(task, data, split, count, s) {
      const masks = data.splits[split].masks;
      const side = s.input[0];
      if (!(square(s) && masks && (s.output ?? [side, side, 1]).join() === `${side},${side},1`)) {
        return undefined;
      }
      const n = Math.min(count, data.splits[split].count), seg = task as Task<Float32Array>;
      return {
        count: n,
        score: (probs) => scoreMasks(seg, probs, n, side, data.splits[split], data.size),
        agreement: (a, b) => {
          const ref = hardMasks(toDataSize(b, n, side, data.size));
          return seg.score(toDataSize(a, n, side, data.size), ref, n).metrics[task.primary.name];
        },
      };
    },
  },
};

/**
 * The first `count` images of `split` as `task` feeds a model of these shapes (NHWC floats in
 * [0, 1]), or undefined without a data set that fits it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskByName } from "../tasks/mod.ts";
 * import { splitImages } from "./task_eval.ts";
 * const images = new Uint8Array(4 * 4 * 3).fill(255);
 * const split = { images, labels: new Int32Array(0), masks: new Uint8Array(16), count: 1 };
 * const splits = { train: split, val: split, test: split };
 * const data = { task: "segmentation" as const, classes: [], size: 4, splits };
 * const shapes = { input: [2, 2, 3], output: [2, 2, 1] };
 * const x = splitImages(taskByName("segmentation"), data, "test", 8, shapes);
 * assert(x?.length === 2 * 2 * 3 && x[0] === 1);
 * ```
 */
export function splitImages(
  task: AnyTask,
  data: Dataset | undefined,
  split: SplitName,
  count: number,
  shapes: ModelShapes,
): Float32Array | undefined {
  return data ? EVALS[task.name].images(data, split, count, shapes) : undefined;
}

/** A scorer of the first `count` images of `split` for a model of these shapes; undefined when none fits. */
export function splitScorer(
  task: AnyTask,
  data: Dataset | undefined,
  split: SplitName,
  count: number,
  shapes: ModelShapes,
): SplitScorer | undefined {
  return data ? EVALS[task.name].scorer(task, data, split, count, shapes) : undefined;
}

/** The primary metric of a score. */
export function primaryValue(task: AnyTask, s: Scored): number {
  return s.metrics[task.primary.name];
}
