/** Classification: softmax cross-entropy on logits; accuracy (primary), precision, recall, F1 of a positive class. */
import type { Task } from "./_types.ts";

/** Per sample: the arg-max class of logits (n × k). */
export function argmaxRows(logits: Float32Array, n: number): Int32Array {
  const k = logits.length / n, out = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[b * k + j] > logits[b * k + best]) best = j;
    out[b] = best;
  }
  return out;
}

/**
 * The classification task; precision / recall / F1 are those of class `positive`.
 *
 * @example
 * ```ts
 * import { classification } from "./classification.ts";
 * const s = classification(1).score(new Float32Array([2, 0, 0, 2, 0, 2]), new Int32Array([0, 1, 0]), 3);
 * if (s.metrics.accuracy !== 2 / 3 || s.metrics.recall !== 1 || s.metrics.precision !== 0.5) throw new Error(JSON.stringify(s));
 * ```
 */
export function classification(positive = 1): Task<Int32Array> {
  return {
    name: "classification",
    loss: "softmax_cross_entropy",
    primary: { name: "accuracy", higherIsBetter: true },
    metrics: ["accuracy", "precision", "recall", "f1"].map((name) => ({ name, higherIsBetter: true })),
    score(logits, labels, n) {
      const k = logits.length / n, predicted = argmaxRows(logits, n);
      let loss = 0, correct = 0, tp = 0, predPos = 0, truePos = 0;
      for (let b = 0; b < n; b++) {
        const row = logits.subarray(b * k, b * k + k);
        let max = -Infinity, sum = 0;
        for (let j = 0; j < k; j++) max = Math.max(max, row[j]);
        for (let j = 0; j < k; j++) sum += Math.exp(row[j] - max);
        loss += Math.log(sum) + max - row[labels[b]];
        if (predicted[b] === labels[b]) correct++;
        if (predicted[b] === positive) predPos++;
        if (labels[b] === positive) truePos++;
        if (predicted[b] === positive && labels[b] === positive) tp++;
      }
      const precision = predPos ? tp / predPos : 0, recall = truePos ? tp / truePos : 0;
      return {
        loss: loss / n,
        metrics: {
          accuracy: correct / n,
          precision,
          recall,
          f1: precision + recall ? 2 * precision * recall / (precision + recall) : 0,
        },
      };
    },
  };
}
