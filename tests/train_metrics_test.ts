import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { classifierMetrics, pairedComparison } from "../pipeline/train/metrics.ts";

/** `b` images only the reference got right, `c` only the other, `same` both right. */
function pairs(b: number, c: number, same: number) {
  const n = b + c + same;
  const truth = new Array(n).fill(0);
  const reference = truth.map((_, i) => (i < b || i >= b + c ? 0 : 1));
  const other = truth.map((_, i) => (i >= b && i < b + c) || i >= b + c ? 0 : 1);
  return pairedComparison(truth, reference, other);
}

Deno.test("paired comparison: discordant counts and the exact McNemar p", () => {
  assertEquals(pairs(2, 0, 10), { only_reference_right: 2, only_other_right: 0, mcnemar_p: 0.5 });
  assertEquals(pairs(10, 0, 5).mcnemar_p, 2 / 1024);
  // 2·P(X ≤ 3), X ~ Bin(8, ½) = 2·(1 + 8 + 28 + 56)/256
  assertEquals(pairs(3, 5, 0).mcnemar_p, 2 * 93 / 256);
  assertEquals([pairs(4, 4, 1).mcnemar_p, pairs(0, 0, 3).mcnemar_p], [1, 1]);
  // past 1000 discordant images: the continuity-corrected normal approximation (erfc(99/√2200))
  const big = pairs(600, 500, 0).mcnemar_p;
  assert(Math.abs(big - 0.0028361327) < 1e-8, `p = ${big}`);
});

Deno.test("classifier metrics: accuracy, precision, recall and the confusion matrix", () => {
  const m = classifierMetrics([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], ["with_mask", "without_mask"], 1);
  assertEquals([m.accuracy, m.precision, m.recall, m.confusion], [0.8, 1, 2 / 3, [[2, 0], [1, 2]]]);
});
