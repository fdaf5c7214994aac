/** Classification metrics from predicted and true labels. */
import type { ClassifierMetrics } from "../tasks/classification_records.ts";

/**
 * Accuracy, and precision / recall / F1 of `positive`, with the confusion matrix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifierMetrics } from "./metrics.ts";
 * const m = classifierMetrics([0, 1, 1, 0], [0, 1, 0, 0], ["with_mask", "without_mask"], 1);
 * assert(m.accuracy === 0.75 && m.precision === 1 && m.recall === 0.5);
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

/** Two models on the same test images: where they disagree about being right, and how surely. */
export interface PairedComparison {
  /** Images the reference got right and the other model wrong. */
  only_reference_right: number;
  /** Images the other model got right and the reference wrong. */
  only_other_right: number;
  /** Two-sided exact McNemar test (binomial on the discordant images): a large p = no evidence of a difference. */
  mcnemar_p: number;
}

/**
 * Paired comparison of two models' predictions on the same labelled images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedComparison } from "./metrics.ts";
 * const c = pairedComparison([0, 0, 1, 1], [0, 0, 1, 1], [0, 1, 0, 1]);
 * assert(c.only_reference_right === 2 && c.only_other_right === 0 && c.mcnemar_p === 0.5);
 * ```
 */
export function pairedComparison(
  truth: ArrayLike<number>,
  reference: ArrayLike<number>,
  other: ArrayLike<number>,
): PairedComparison {
  let onlyRef = 0, onlyOther = 0;
  for (let i = 0; i < truth.length; i++) {
    const r = reference[i] === truth[i], o = other[i] === truth[i];
    if (r && !o) onlyRef++;
    if (o && !r) onlyOther++;
  }
  return {
    only_reference_right: onlyRef,
    only_other_right: onlyOther,
    mcnemar_p: exactMcNemar(onlyRef, onlyOther),
  };
}

/** Two models' per-image scores (e.g. Dice) on the same images: where each is higher, and how surely. */
export interface PairedScores {
  /** Images where the reference scores higher. */
  reference_higher: number;
  /** Images where the other model scores higher. */
  other_higher: number;
  /** Two-sided exact sign test over the untied images: a large p = no evidence of a difference. */
  sign_test_p: number;
  /** Mean of (other − reference) over all images. */
  mean_difference: number;
}

/**
 * Paired comparison of two models' per-image scores (ties are left out of the sign test).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedScores } from "./metrics.ts";
 * const c = pairedScores([0.9, 0.8, 0.5, 0.4], [0.7, 0.8, 0.6, 0.2]);
 * assert(c.reference_higher === 2 && c.other_higher === 1 && c.sign_test_p === 1);
 * assert(Math.abs(c.mean_difference - -0.075) < 1e-12);
 * ```
 */
export function pairedScores(reference: ArrayLike<number>, other: ArrayLike<number>): PairedScores {
  let refHigher = 0, otherHigher = 0, sum = 0;
  for (let i = 0; i < reference.length; i++) {
    if (reference[i] > other[i]) refHigher++;
    if (other[i] > reference[i]) otherHigher++;
    sum += other[i] - reference[i];
  }
  return {
    reference_higher: refHigher,
    other_higher: otherHigher,
    sign_test_p: exactMcNemar(refHigher, otherHigher),
    mean_difference: reference.length ? sum / reference.length : 0,
  };
}

/** P(as extreme | no difference): 2 · P(X ≤ min(b, c)) for X ~ Binomial(b + c, ½), at most 1. */
function exactMcNemar(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  if (n > 1000) return Math.min(1, erfc((Math.abs(b - c) - 1) / Math.sqrt(2 * n))); // 2^-n underflows: normal approx.
  let term = 0.5 ** n, tail = 0; // term = C(n, k) / 2^n, built up from k = 0
  for (let k = 0; k <= Math.min(b, c); k++) {
    tail += term;
    term = term * (n - k) / (k + 1);
  }
  return Math.min(1, 2 * tail);
}

/** Complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + z / 2);
  const r = t * Math.exp(
    -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
                      t *
                        (0.27886807 +
                          t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? r : 2 - r;
}
