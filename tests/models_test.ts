import * as tf from "@tensorflow/tfjs";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { account } from "../pipeline/models/accounting.ts";
import { buildClassifier, CLASSIFIERS, countParams } from "../pipeline/models/classifier.ts";
import { loadModel, saveModel } from "../pipeline/models/io.ts";
import { classifierMetrics } from "../pipeline/train/metrics.ts";

Deno.test("classifier family has the seed's exact parameter counts", () => {
  const expected = { teacher: [93_954, 94_402], medium: [53_186, 53_522], small: [6_210, 6_322] };
  for (const [name, [torch, tfjs]] of Object.entries(expected)) {
    const model = buildClassifier(CLASSIFIERS[name], [128, 128, 3], 1);
    assertEquals(countParams(model), { torch, tfjs }, name);
    model.dispose();
  }
});

Deno.test("accounting: FLOPs are 2 × conv and dense MACs; zeros counted", () => {
  const model = buildClassifier(CLASSIFIERS.small, [128, 128, 3], 1);
  // conv1 128²·27·8 + conv2 64²·72·16 + conv3 32²·144·32 + dense 32·2
  const macs = 128 * 128 * 27 * 8 + 64 * 64 * 72 * 16 + 32 * 32 * 144 * 32 + 32 * 2;
  const fc = model.getLayer("fc");
  const [kernel, bias] = fc.getWeights();
  fc.setWeights([tf.zerosLike(kernel), bias]);
  const counts = account(model);
  assertEquals(counts.flops, 2 * macs);
  assertEquals(counts.params_total, 6_210);
  // Zeroed fc kernel (64) + zero-initialised biases: fc 2, conv 8+16+32, BN beta 8+16+32.
  assertEquals(counts.params_zero, 64 + 2 + 56 + 56);
  assertEquals(counts.params_nonzero, 6_210 - counts.params_zero);
  assertEquals(counts.weight_bytes, 6_210 * 4);
  model.dispose();
});

Deno.test("a saved model loads back with identical weights and predictions", async () => {
  const dir = await Deno.makeTempDir();
  const model = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 3);
  await saveModel(model, `${dir}/m`);
  const loaded = await loadModel(`${dir}/m`);
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 5);
  const diff =
    tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor)).max().dataSync()[0];
  console.log(`save/load max abs diff ${diff}`);
  assertEquals(diff, 0);
  assertEquals(countParams(loaded), countParams(model));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("same seed gives the same initial weights", () => {
  const a = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 9).getWeights().map((w) =>
    Array.from(w.dataSync())
  );
  const b = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 9).getWeights().map((w) =>
    Array.from(w.dataSync())
  );
  const c = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 10).getWeights().map((w) =>
    Array.from(w.dataSync())
  );
  assertEquals(a, b);
  assertEquals(JSON.stringify(a) === JSON.stringify(c), false);
});

Deno.test("metrics: precision, recall, F1 and confusion matrix", () => {
  const m = classifierMetrics([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 0], ["with_mask", "without_mask"], 0);
  assertEquals(m.confusion, [[2, 1], [1, 2]]);
  assertEquals(m.accuracy, 4 / 6);
  assertEquals(m.precision, 2 / 3);
  assertEquals(m.recall, 2 / 3);
  assertEquals(m.f1, 2 / 3);
  assertEquals(m.positive_class, "with_mask");
});
