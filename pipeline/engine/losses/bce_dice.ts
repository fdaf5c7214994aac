/**
 * The reference project's combined segmentation loss on sigmoid probabilities:
 * BCE (mean over every pixel of the batch, p clipped to [ε, 1−ε] as Keras) + (1 − Dice), with
 * Dice = (2·Σ p·t + s) / (Σ p + Σ t + s) over the whole batch (its sums go through `sync`, so a
 * split batch gives the same loss). With a teacher (n × pixels of its probabilities), the target
 * becomes (1−α)·t + α·teacher (pixel-wise soft targets). Options: smooth (default 1), alpha.
 */
import type { LossKind } from "./_types.ts";

const EPS = 1e-7;

export const bceDice: LossKind = {
  name: "bce_dice",
  async compute({ out, batchTotal, n, targets, teacher, options, sync }) {
    if (targets.length !== out.length) {
      throw new Error(`targets have ${targets.length} values, expected ${out.length}`);
    }
    const smooth = options.smooth ?? 1, alpha = teacher ? options.alpha ?? 0.5 : 0;
    const total = batchTotal * (out.length / n);
    const t = new Float64Array(out.length);
    for (let i = 0; i < t.length; i++) {
      t[i] = teacher ? (1 - alpha) * targets[i] + alpha * teacher[i] : targets[i];
    }
    const local = new Float64Array(4); // Σ p·t, Σ p, Σ t, Σ bce
    for (let i = 0; i < out.length; i++) {
      const p = Math.min(Math.max(out[i], EPS), 1 - EPS);
      local[0] += out[i] * t[i];
      local[1] += out[i];
      local[2] += t[i];
      local[3] += -(t[i] * Math.log(p) + (1 - t[i]) * Math.log(1 - p));
    }
    const [inter, sp, st, bce] = await sync("loss/bce_dice", local);
    const denom = sp + st + smooth, dice = (2 * inter + smooth) / denom;
    const dOut = new Float32Array(out.length);
    for (let i = 0; i < out.length; i++) {
      const inside = out[i] > EPS && out[i] < 1 - EPS; // the clip passes no gradient outside
      const dBce = inside ? (-t[i] / out[i] + (1 - t[i]) / (1 - out[i])) / total : 0;
      const dDice = (2 * t[i] * denom - (2 * inter + smooth)) / (denom * denom);
      dOut[i] = dBce - dDice;
    }
    // Every shard sees the whole-batch loss; report one shard's share so the sum is the loss.
    const share = out.length / total;
    return { loss: (bce / total + 1 - dice) * share, dOut };
  },
};
