/**
 * Feeding and scoring a U-Net the same way in every stage, whatever its input side: images go in
 * at the model's side (resized from the data set's with bilinear half-pixel filtering, rounded
 * back to bytes, then / 255), and the predicted probabilities come back up to the data set's side
 * (bilinear, half-pixel) before the task scores them against the masks. A model trained at half
 * resolution is so judged on the same pixels as the others.
 */
import type { DatasetSplit } from "../data/dataset.ts";
import { toFloatBatch, toMaskBatch } from "../data/dataset.ts";
import { resizeBilinear } from "../data/resize.ts";
import type { Scored, Task } from "../tasks/mod.ts";

/**
 * The first `count` images of `split` (stored at `dataSize`) as floats in [0, 1] at `inputSize`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segInputs } from "./seg_score.ts";
 * // One 2×2 image, every channel 0, 255, 255, 0: halved, each channel is round(127.5) = 128.
 * const images = Uint8Array.from([0, 255, 255, 0].flatMap((v) => [v, v, v]));
 * const split = { images, labels: new Int32Array(0), count: 1 };
 * assert.deepEqual([...segInputs(split, 1, 2, 1)], Array(3).fill(Math.fround(128 / 255)));
 * ```
 */
export function segInputs(
  split: DatasetSplit,
  count: number,
  dataSize: number,
  inputSize: number,
): Float32Array {
  const n = Math.min(count, split.count);
  const idx = Array.from({ length: n }, (_, i) => i);
  if (inputSize === dataSize) return toFloatBatch(split.images, idx, dataSize);
  const first = split.images.subarray(0, n * dataSize * dataSize * 3);
  return toFloatBatch(resizeBilinear(first, n, dataSize, inputSize, 3), idx, inputSize);
}

/**
 * `n` one-channel probability maps of side `from` at `dataSize` (bilinear, half-pixel); the same
 * array when the sides agree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toDataSize } from "./seg_score.ts";
 * assert.deepEqual([...toDataSize(new Float32Array([0.25]), 1, 1, 2)], [0.25, 0.25, 0.25, 0.25]);
 * ```
 */
export function toDataSize(probs: Float32Array, n: number, from: number, dataSize: number): Float32Array {
  if (probs.length !== n * from * from) {
    throw new Error(`toDataSize: ${probs.length} values are not ${n} maps of ${from}×${from}`);
  }
  return from === dataSize ? probs : resizeBilinear(probs, n, from, dataSize, 1);
}

/**
 * The task's loss and metrics of `n` probability maps of side `from` (the model's output) against
 * the first `n` masks of `split`, at the data set's side `dataSize`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentation } from "../tasks/mod.ts";
 * import { scoreMasks } from "./seg_score.ts";
 * // A 1×1 prediction of 0.9, scored on a 2×2 mask with one foreground pixel: Dice 2·1 / (4 + 1).
 * const masks = Uint8Array.of(1, 0, 0, 0);
 * const split = { images: new Uint8Array(12), labels: new Int32Array(0), masks, count: 1 };
 * assert(scoreMasks(segmentation(), new Float32Array([0.9]), 1, 1, split, 2).metrics.dice === 0.4);
 * ```
 */
export function scoreMasks(
  task: Task<Float32Array>,
  probs: Float32Array,
  n: number,
  from: number,
  split: DatasetSplit,
  dataSize: number,
): Scored {
  if (!split.masks) throw new Error("scoreMasks: the split has no masks (a segmentation data set has)");
  const masks = toMaskBatch(split.masks, Array.from({ length: n }, (_, i) => i), dataSize);
  return task.score(toDataSize(probs, n, from, dataSize), masks, n);
}

/**
 * Hard masks (1 where p ≥ 0.5, the task's threshold) of probability maps, as targets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hardMasks } from "./seg_score.ts";
 * assert.deepEqual([...hardMasks(new Float32Array([0.2, 0.5, 0.9]))], [0, 1, 1]);
 * ```
 */
export function hardMasks(probs: Float32Array): Float32Array {
  return probs.map((p) => p >= 0.5 ? 1 : 0);
}
