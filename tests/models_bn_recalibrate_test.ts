import * as tf from "@tensorflow/tfjs";
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import { recalibrateBatchNorm } from "../pipeline/models/bn_recalibrate.ts";
import { pruneStructured } from "../pipeline/compress/prune_structured.ts";
import { initEngine } from "../pipeline/engine/mod.ts";
import { buildClassifier, CLASSIFIERS } from "../pipeline/models/classifier.ts";

await initEngine();

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);

Deno.test("BN recalibration: inference then equals training mode (batch statistics) on the same images", async () => {
  // No dropout in "small", so training mode differs from inference only by the BN statistics.
  const teacher = buildClassifier(CLASSIFIERS.small, [12, 12, 3], 3);
  const { model } = await pruneStructured(teacher, { ratio: 0.5 });
  const x = tf.randomUniform([16, 12, 12, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  const training = model.apply(x, { training: true }) as tf.Tensor;
  const stale = model.predict(x) as tf.Tensor;
  const gammaBeta = (m: tf.LayersModel) =>
    m.getLayer("bn2").getWeights().slice(0, 2).map((w) => Array.from(w.dataSync()));
  const gammaBefore = gammaBeta(model);
  // Two halves: the statistics are merged across batches, not averaged per batch.
  const halves = [x.slice(0, 5), x.slice(5, 11)] as tf.Tensor4D[];
  assertEquals(recalibrateBatchNorm(model, halves), ["bn1", "bn2", "bn3"]);
  const recalibrated = model.predict(x) as tf.Tensor;
  const before = maxAbsDiff(stale, training), after = maxAbsDiff(recalibrated, training);
  console.log(
    `max |logit − training-mode logit|: stale BN ${before.toExponential(2)}, recalibrated ${
      after.toExponential(2)
    }`,
  );
  assert(before > 1e-2, "the stale statistics should differ from the batch's");
  assert(after < 1e-4, `recalibrated logits differ by ${after}`);
  // gamma and beta are untouched; only moving mean / variance change
  assertEquals(gammaBeta(model), gammaBefore);
  tf.dispose([x, training, stale, recalibrated, ...halves]);
  teacher.dispose();
  model.dispose();
});

Deno.test("BN recalibration: a layer chain gives bit-identical statistics to per-BN probes of the graph", () => {
  const chain = buildClassifier(CLASSIFIERS.teacher, [12, 12, 3], 5);
  const x = [0, 1, 2].map((s) => tf.randomUniform([6, 12, 12, 3], 0, 1, "float32", s) as tf.Tensor4D);
  const stats = (m: tf.LayersModel) =>
    ["bn1", "bn2", "bn3"].flatMap((n) =>
      m.getLayer(n).getWeights().slice(2).map((w) => Array.from(w.dataSync()))
    );
  recalibrateBatchNorm(chain, x);
  const fromChain = stats(chain);
  const graph = buildClassifier(CLASSIFIERS.teacher, [12, 12, 3], 5);
  // the same layers seen as a general graph: the probe path
  const functional = tf.model({ inputs: graph.inputs, outputs: graph.outputs });
  assertEquals(recalibrateBatchNorm(functional, x), ["bn1", "bn2", "bn3"]);
  assertEquals(stats(graph), fromChain);
  tf.dispose(x);
  chain.dispose();
  graph.dispose();
});

Deno.test("BN recalibration: refuses an empty image set; a model without BN is left alone", () => {
  const model = buildClassifier(CLASSIFIERS.small, [8, 8, 3], 1);
  throws(() => recalibrateBatchNorm(model, []), /no images/);
  const plain = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] });
  assertEquals(recalibrateBatchNorm(plain, []), []);
  model.dispose();
  plain.dispose();
});
