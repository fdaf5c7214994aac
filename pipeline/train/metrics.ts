/** Classification metrics from predicted and true labels. */
import type { ClassifierMetrics } from "../core/types.ts";

/**
 * Accuracy, and precision / recall / F1 of `positive`, with the confusion matrix.
 *
 * @example
 * ```ts
 * import { classifierMetrics } from "./metrics.ts";
 * const m = classifierMetrics([0, 1, 1, 0], [0, 1, 0, 0], ["with_mask", "without_mask"], 1);
 * console.assert(m.accuracy === 0.75 && m.precision === 1 && m.recall === 0.5);
 * ```
 */
export function classifierMetrics(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: string[],
  positive: number,
): ClassifierMetrics {
  const confusion = classes.map(() => classes.map(() => 0));
  for (let i = 0; i < truth.length; i++) confusion[truth[i]][predicted[i]]++;
  const correct = classes.reduce((n, _, c) => n + confusion[c][c], 0);
  const tp = confusion[positive][positive];
  const predictedPositive = confusion.reduce((n, row) => n + row[positive], 0);
  const actualPositive = confusion[positive].reduce((a, b) => a + b, 0);
  const precision = predictedPositive ? tp / predictedPositive : 0;
  const recall = actualPositive ? tp / actualPositive : 0;
  return {
    accuracy: truth.length ? correct / truth.length : 0,
    precision,
    recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    confusion,
    classes,
    positive_class: classes[positive],
  };
}
