/**
 * Binary segmentation: a sigmoid probability per pixel against a 0/1 mask. The loss is the
 * reference project's combined loss, BCE + (1 − Dice); Dice (primary), IoU and pixel accuracy are
 * computed over all pixels of the set at threshold 0.5 (Dice also "soft" on the probabilities).
 */
import type { Task } from "./_types.ts";

const EPS = 1e-7;

/**
 * The segmentation task.
 *
 * @example
 * ```ts
 * import { segmentation } from "./segmentation.ts";
 * const s = segmentation().score(new Float32Array([0.9, 0.8, 0.2, 0.1]), new Float32Array([1, 0, 0, 0]), 1);
 * if (s.metrics.dice !== 2 / 3 || s.metrics.iou !== 0.5 || s.metrics.pixel_accuracy !== 0.75) throw new Error(JSON.stringify(s));
 * ```
 */
export function segmentation(smooth = 1): Task<Float32Array> {
  return {
    name: "segmentation",
    loss: "bce_dice",
    primary: { name: "dice", higherIsBetter: true },
    metrics: ["dice", "iou", "pixel_accuracy", "soft_dice"].map((name) => ({ name, higherIsBetter: true })),
    score(probs, masks, _n) {
      if (probs.length !== masks.length) {
        throw new Error(`${probs.length} outputs against ${masks.length} mask pixels`);
      }
      let bce = 0, inter = 0, sp = 0, st = 0, tp = 0, pp = 0, correct = 0;
      for (let i = 0; i < probs.length; i++) {
        const p = Math.min(Math.max(probs[i], EPS), 1 - EPS), t = masks[i], hard = probs[i] >= 0.5 ? 1 : 0;
        bce -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
        inter += probs[i] * t;
        sp += probs[i];
        st += t;
        tp += hard * t;
        pp += hard;
        if (hard === t) correct++;
      }
      const softDice = (2 * inter + smooth) / (sp + st + smooth);
      // Hard Dice / IoU: an empty prediction of an empty mask is a perfect 1.
      const dice = pp + st ? 2 * tp / (pp + st) : 1;
      const iou = pp + st - tp ? tp / (pp + st - tp) : 1;
      return {
        loss: bce / probs.length + 1 - softDice,
        metrics: { dice, iou, pixel_accuracy: correct / probs.length, soft_dice: softDice },
      };
    },
  };
}
