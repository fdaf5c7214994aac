import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { classification, segmentation } from "../pipeline/tasks/mod.ts";
import { LOSSES } from "../pipeline/engine/losses/mod.ts";

Deno.test("classification task: accuracy, precision, recall, F1 of the positive class, and mean cross-entropy", () => {
  const logits = new Float32Array([3, 0, 0, 3, 0, 3, 3, 0]); // predicted 0, 1, 1, 0
  const s = classification(1).score(logits, new Int32Array([0, 1, 0, 1]), 4);
  assertEquals(s.metrics, { accuracy: 0.5, precision: 0.5, recall: 0.5, f1: 0.5 });
  const ce = (right: boolean) => Math.log(1 + Math.exp(-3)) + (right ? 0 : 3);
  assert(Math.abs(s.loss - (ce(true) * 2 + ce(false) * 2) / 4) < 1e-9);
  assertEquals(classification().primary, { name: "accuracy", higherIsBetter: true });
});

Deno.test("segmentation task: Dice, IoU, pixel accuracy at 0.5, and the combined loss the engine trains with", async () => {
  const probs = new Float32Array([0.9, 0.6, 0.4, 0.2, 0.7, 0.1]),
    masks = new Float32Array([1, 0, 1, 0, 1, 0]);
  const s = segmentation().score(probs, masks, 2);
  // hard prediction 1,1,0,0,1,0: tp 2, predicted 3, true 3
  assertEquals([s.metrics.dice, s.metrics.iou, s.metrics.pixel_accuracy], [2 / 3, 0.5, 4 / 6]);
  const engine = await LOSSES.bce_dice.compute({
    out: probs,
    outShape: [3],
    n: 2,
    batchTotal: 2,
    targets: masks,
    options: {},
    sync: (_k, v) => Promise.resolve(v),
  });
  console.log(`segmentation loss: task ${s.loss.toFixed(6)}, engine ${engine.loss.toFixed(6)}`);
  assert(Math.abs(s.loss - engine.loss) < 1e-6);
  assertEquals(segmentation().primary.name, "dice");
  // An empty mask predicted empty is perfect, not 0/0.
  assertEquals(
    segmentation().score(new Float32Array([0.1, 0.2]), new Float32Array([0, 0]), 1).metrics.dice,
    1,
  );
});
