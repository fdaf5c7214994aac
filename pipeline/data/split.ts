/**
 * Stratified, seeded train/val/test split.
 */
import { mixSeed, Rng } from "./_prng.ts";

/** Fractions of each class that go to each split; they sum to 1. */
export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/** The three split names in file order. */
export const SPLITS = ["train", "val", "test"] as const;
export type SplitName = typeof SPLITS[number];

/**
 * Split item indices per class: each class is shuffled with a seed derived from `seed`
 * and the class, then cut at round(n·train) and round(n·val); each split is then shuffled
 * so classes interleave. The same (labels, seed) always gives the same result, so callers
 * must pass items in a fixed order (e.g. sorted by path).
 *
 * @example
 * ```ts
 * import { stratifiedSplit } from "./split.ts";
 * const s = stratifiedSplit([0, 0, 0, 0, 1, 1, 1, 1], 2, { train: 0.5, val: 0.25, test: 0.25 }, 42);
 * console.assert(s.train.length === 4 && s.val.length === 2 && s.test.length === 2);
 * ```
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  numClasses: number,
  fractions: SplitFractions,
  seed: number,
): Record<SplitName, number[]> {
  const out: Record<SplitName, number[]> = { train: [], val: [], test: [] };
  for (let c = 0; c < numClasses; c++) {
    const idx: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) idx.push(i);
    new Rng(mixSeed(seed, 0x5917, c)).shuffle(idx);
    const nTrain = Math.round(idx.length * fractions.train);
    const nVal = Math.min(idx.length - nTrain, Math.round(idx.length * fractions.val));
    out.train.push(...idx.slice(0, nTrain));
    out.val.push(...idx.slice(nTrain, nTrain + nVal));
    out.test.push(...idx.slice(nTrain + nVal));
  }
  for (const [k, name] of SPLITS.entries()) new Rng(mixSeed(seed, 0x5918, k)).shuffle(out[name]);
  return out;
}
