/**
 * The segmentation task's records: per-epoch history, test metrics, one trained U-Net as the
 * train and compress stages save it in their parts (`models`), and the predicted masks of the
 * first test images that the report overlays.
 */

/** Per-epoch training record (loss is the combined BCE + (1 − Dice), as trained). */
export interface SegEpochRecord {
  epoch: number;
  train_loss: number;
  /** Soft Dice of the training batches (the loss's own Dice, averaged over the epoch). */
  train_dice: number;
  val_loss: number;
  val_dice: number;
  val_iou: number;
  seconds: number;
}

/** Test-split metrics at the data set's resolution (the segmentation task's `score`). */
export interface SegMetrics {
  dice: number;
  iou: number;
  pixel_accuracy: number;
  soft_dice: number;
  /** Combined loss BCE + (1 − soft Dice). */
  loss: number;
}

/** One trained U-Net: how it was built and trained, and its test metrics. */
export interface SegModelRecord {
  technique: string;
  /** The U-Net spec (filters, conv, up) it was built from. */
  spec: Record<string, unknown>;
  /** Side of the square input the model takes; below the data set's size the images are resized down
   * and the predicted probabilities resized back up before scoring. */
  input_size: number;
  params_tfjs: number;
  history: SegEpochRecord[];
  best_epoch: number;
  stopped_early: boolean;
  train_seconds: number;
  /** Median wall-clock ms of one training step at the stage's batch (the seed's "ms/step"); absent when not timed. */
  step_ms?: number;
  test: SegMetrics;
  /** Path of the saved tfjs model, relative to the stage's out folder. */
  checkpoint: string;
}

/**
 * Predicted masks of the first `count` test images (in split order), at the data set's size:
 * `file` (relative to the stage's out folder) holds count × size × size bytes, 255 where the
 * probability is ≥ 0.5 and 0 elsewhere.
 */
export interface MaskPredictions {
  file: string;
  count: number;
  size: number;
}
