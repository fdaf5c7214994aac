/** Classifier head on one shard: global average pool → dropout → dense → CE (+ distillation). */

/** Head inputs: pooled features of the last block ([n][hw][feat]) and the dense weights. */
export interface HeadInput {
  act: Float32Array;
  n: number;
  hw: number;
  feat: number;
  classes: number;
  kernel: Float32Array;
  bias: Float32Array;
  labels: Int32Array;
  batchTotal: number;
  dropMask?: Float32Array;
  soft?: { teacherLogits: Float32Array; temperature: number; alpha: number };
}

/** Loss and gradients of the head; `dAct` is per sample × feature (spread over hw by the caller). */
export interface HeadOutput {
  loss: number;
  correct: number;
  dKernel: Float64Array;
  dBias: Float64Array;
  dFeat: Float32Array;
}

function softmax(v: ArrayLike<number>, t: number): Float64Array {
  let mx = -Infinity;
  for (let j = 0; j < v.length; j++) mx = Math.max(mx, v[j] / t);
  const e = new Float64Array(v.length);
  let s = 0;
  for (let j = 0; j < v.length; j++) s += e[j] = Math.exp(v[j] / t - mx);
  for (let j = 0; j < v.length; j++) e[j] /= s;
  return e;
}

/**
 * Loss = (1−α)·CE + α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)), each a mean over the whole
 * batch (α = 0 without `soft`); returns this shard's share of loss and gradients.
 */
export function headStep(h: HeadInput): HeadOutput {
  const { n, hw, feat, classes: k, kernel: wk, bias: wb, batchTotal } = h;
  const f = new Float32Array(n * feat);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const src = (b * hw + p) * feat;
      for (let c = 0; c < feat; c++) f[b * feat + c] += h.act[src + c];
    }
  }
  for (let i = 0; i < f.length; i++) f[i] = f[i] / hw * (h.dropMask ? h.dropMask[i] : 1);
  const dl = new Float64Array(n * k);
  let loss = 0, correct = 0;
  const soft = h.soft, alpha = soft ? soft.alpha : 0;
  for (let b = 0; b < n; b++) {
    const logits = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      let s = wb[j];
      for (let c = 0; c < feat; c++) s += f[b * feat + c] * wk[c * k + j];
      logits[j] = s;
    }
    const y = h.labels[b];
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[j] > logits[best]) best = j;
    if (best === y) correct++;
    const p = softmax(logits, 1);
    loss += (1 - alpha) * -Math.log(Math.max(p[y], 1e-300)) / batchTotal;
    for (let j = 0; j < k; j++) dl[b * k + j] = (1 - alpha) * (p[j] - (j === y ? 1 : 0)) / batchTotal;
    if (soft) {
      const t = soft.temperature;
      const qs = softmax(logits, t), pt = softmax(soft.teacherLogits.subarray(b * k, b * k + k), t);
      let kl = 0;
      for (let j = 0; j < k; j++) {
        if (pt[j] > 0) kl += pt[j] * (Math.log(pt[j]) - Math.log(Math.max(qs[j], 1e-300)));
      }
      loss += alpha * t * t * kl / batchTotal;
      // d(T²·KL)/d logit = T·(q_s − p_t)
      for (let j = 0; j < k; j++) dl[b * k + j] += alpha * t * (qs[j] - pt[j]) / batchTotal;
    }
  }
  const dKernel = new Float64Array(feat * k), dBias = new Float64Array(k);
  const dFeat = new Float32Array(n * feat);
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < k; j++) {
      const d = dl[b * k + j];
      dBias[j] += d;
      for (let c = 0; c < feat; c++) {
        dKernel[c * k + j] += f[b * feat + c] * d;
        dFeat[b * feat + c] += wk[c * k + j] * d;
      }
    }
  }
  for (let i = 0; i < dFeat.length; i++) dFeat[i] = dFeat[i] * (h.dropMask ? h.dropMask[i] : 1) / hw;
  return { loss, correct, dKernel, dBias, dFeat };
}
