/**
 * Stratified, seeded train/val/test split.
 */
import { ExpectedError } from "../core/errors.ts";
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
 * import assert from "node:assert/strict";
 * import { stratifiedSplit } from "./split.ts";
 * const s = stratifiedSplit([0, 0, 0, 0, 1, 1, 1, 1], 2, { train: 0.5, val: 0.25, test: 0.25 }, 42);
 * assert(s.train.length === 4 && s.val.length === 2 && s.test.length === 2);
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
    const { train: nTrain, val: nVal } = splitCounts(idx.length, fractions);
    out.train.push(...idx.slice(0, nTrain));
    out.val.push(...idx.slice(nTrain, nTrain + nVal));
    out.test.push(...idx.slice(nTrain + nVal));
  }
  for (const [k, name] of SPLITS.entries()) new Rng(mixSeed(seed, 0x5918, k)).shuffle(out[name]);
  return out;
}

/**
 * How many of `n` images of one class go to each split: round(n·train) to train, then
 * round(n·val) (at most what is left) to val, the rest to test — the cut of {@link stratifiedSplit}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitCounts } from "./split.ts";
 * const c = splitCounts(5, { train: 0.7, val: 0.15, test: 0.15 });
 * assert(c.train === 4 && c.val === 1 && c.test === 0);
 * ```
 */
export function splitCounts(n: number, fractions: SplitFractions): Record<SplitName, number> {
  const train = Math.round(n * fractions.train);
  const val = Math.min(n - train, Math.round(n * fractions.val));
  return { train, val, test: n - train - val };
}

/**
 * The fewest images of every class each split must get. val and test 1: a class missing from
 * either has no accuracy, recall or early-stopping signal, so nothing about it is measured;
 * train 2: a class seen through a single image is memorised, not learned.
 */
export const MIN_PER_CLASS: Record<SplitName, number> = { train: 2, val: 1, test: 1 };

/**
 * The smallest per-class count from which every larger count (up to 100,000) meets `min` with
 * these fractions, or null when none does (a split with fraction 0 never gets an image).
 */
export function minImagesPerClass(
  fractions: SplitFractions,
  min: Record<SplitName, number> = MIN_PER_CLASS,
): number | null {
  const ok = (n: number) => {
    const c = splitCounts(n, fractions);
    return SPLITS.every((s) => c[s] >= min[s]);
  };
  const top = 100_000;
  if (!ok(top)) return null;
  let n = top;
  while (n > 1 && ok(n - 1)) n--;
  return n;
}

/**
 * Throw an ExpectedError, saying how many images each class has, what each split would get
 * and what it needs, when a class would get fewer than `min` images in a split.
 * `perClass[c]` is the number of usable images of class `classes[c]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSplitSizes } from "./split.ts";
 * const f = { train: 0.7, val: 0.15, test: 0.15 };
 * checkSplitSizes([6, 20], ["a", "b"], f); // fine
 * assert.throws(() => checkSplitSizes([5, 5], ["a", "b"], f), /at least 6 images per class/);
 * ```
 */
export function checkSplitSizes(
  perClass: number[],
  classes: string[],
  fractions: SplitFractions,
  min: Record<SplitName, number> = MIN_PER_CLASS,
): void {
  const short: string[] = [];
  for (const [c, n] of perClass.entries()) {
    const got = splitCounts(n, fractions);
    if (SPLITS.some((s) => got[s] < min[s])) {
      short.push(
        `class "${classes[c]}" (${n} images) gets ${SPLITS.map((s) => `${got[s]} ${s}`).join(", ")}`,
      );
    }
  }
  if (short.length === 0) return;
  const f = SPLITS.map((s) => fractions[s]).join("/");
  const need = minImagesPerClass(fractions, min);
  const needs = `every class needs at least ${min.train} train, ${min.val} val and ${min.test} test images`;
  const fix = need === null
    ? `no number of images does with these fractions (a split with fraction 0 gets none); ` +
      `give every split a fraction above 0 in fetch.params.split`
    : `with these fractions that takes at least ${need} images per class; ` +
      `add images, or change fetch.params.split`;
  throw new ExpectedError(
    `Split too small: with fractions ${f} (train/val/test), ${short.join("; ")}. ` +
      `${needs[0].toUpperCase()}${needs.slice(1)} (val and test so that each class is measured at all, ` +
      `train so that it is learned from more than one example): ${fix}.`,
  );
}
