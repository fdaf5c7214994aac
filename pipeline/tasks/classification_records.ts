/**
 * The classification task's records: per-epoch history, test metrics with the confusion matrix,
 * and one trained model as the train and compress stages save it in their parts (`models`).
 */

/** Per-epoch training record. */
export interface EpochRecord {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_loss: number;
  val_acc: number;
  seconds: number;
}

/** Test-split metrics of a classifier; confusion[i][j] = count of true class i predicted as j. */
export interface ClassifierMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: number[][];
  classes: string[];
  /** Which class precision/recall/F1 are computed for. */
  positive_class: string;
}

/** One trained classifier: how it was built and trained, and its test metrics. */
export interface ModelRecord {
  technique: string;
  spec: Record<string, unknown>;
  /** Parameters as PyTorch counts them (BN running statistics excluded). */
  params_torch: number;
  params_tfjs: number;
  history: EpochRecord[];
  best_epoch: number;
  stopped_early: boolean;
  train_seconds: number;
  test: ClassifierMetrics;
  /** Path of the saved tfjs model, relative to the stage's out folder. */
  checkpoint: string;
}
