/**
 * Softmax cross-entropy on logits, optionally distilled:
 * (1−α)·CE + α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)), batch means (α = 0 without a teacher).
 * Options: temperature, alpha.
 */
import type { LossKind } from "./_types.ts";

function softmax(v: ArrayLike<number>, t: number): Float64Array {
  let mx = -Infinity;
  for (let j = 0; j < v.length; j++) mx = Math.max(mx, v[j] / t);
  const e = new Float64Array(v.length);
  let s = 0;
  for (let j = 0; j < v.length; j++) s += e[j] = Math.exp(v[j] / t - mx);
  for (let j = 0; j < v.length; j++) e[j] /= s;
  return e;
}

export const softmaxCrossEntropy: LossKind = {
  name: "softmax_cross_entropy",
  compute({ out, n, batchTotal, targets, teacher, options }) {
    const k = out.length / n, dOut = new Float32Array(out.length);
    const alpha = teacher ? options.alpha ?? 0 : 0, t = options.temperature ?? 1;
    let loss = 0;
    for (let b = 0; b < n; b++) {
      const logits = out.subarray(b * k, b * k + k), y = targets[b];
      if (!Number.isInteger(y) || y < 0 || y >= k) {
        throw new Error(`label ${y} is not a class index in [0, ${k})`);
      }
      const p = softmax(logits, 1);
      loss += (1 - alpha) * -Math.log(Math.max(p[y], 1e-300)) / batchTotal;
      const d = new Float64Array(k);
      for (let j = 0; j < k; j++) d[j] = (1 - alpha) * (p[j] - (j === y ? 1 : 0)) / batchTotal;
      if (teacher) {
        const qs = softmax(logits, t), pt = softmax(teacher.subarray(b * k, b * k + k), t);
        let kl = 0;
        for (let j = 0; j < k; j++) {
          if (pt[j] > 0) kl += pt[j] * (Math.log(pt[j]) - Math.log(Math.max(qs[j], 1e-300)));
        }
        loss += alpha * t * t * kl / batchTotal;
        for (let j = 0; j < k; j++) d[j] += alpha * t * (qs[j] - pt[j]) / batchTotal; // d(T²·KL)/dlogit = T·(q − p)
      }
      for (let j = 0; j < k; j++) dOut[b * k + j] = d[j];
    }
    return { loss, dOut };
  },
};
