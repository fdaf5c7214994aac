import * as tf from "@tensorflow/tfjs";
import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert";
import { bnScaleImportance, l1Importance } from "../pipeline/compress/importance.ts";
import { buildGroups, readGraph } from "../pipeline/compress/prune_graph.ts";
import { keptChannels, pruneStructured, replayPruning } from "../pipeline/compress/prune_structured.ts";
import { createTrainer, initEngine } from "../pipeline/engine/mod.ts";
import { account } from "../pipeline/models/accounting.ts";
import { buildClassifier, CLASSIFIERS } from "../pipeline/models/classifier.ts";
import { loadModel, saveModel } from "../pipeline/models/io.ts";

await initEngine();

const disposeAll = (...models: tf.LayersModel[]) => models.forEach((m) => m.dispose());
const channels = (m: tf.LayersModel) =>
  ["conv1", "conv2", "conv3"].map((n) => m.getLayer(n).getWeights()[0].shape[3]);

function maxDiff(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): number {
  return tf.tidy(() =>
    tf.max(tf.abs(tf.sub(a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor))).dataSync()[0]
  );
}

Deno.test("pruning: the seed's six parameter counts, exactly", async () => {
  const expected: Record<string, number> = { teacher: 93_954, medium: 53_186, small: 6_210 };
  for (const [name, params] of Object.entries(expected)) {
    const model = buildClassifier(CLASSIFIERS[name], [128, 128, 3], 1);
    assertEquals(account(model).params_total, params);
    model.dispose();
  }
  const teacher = buildClassifier(CLASSIFIERS.teacher, [128, 128, 3], 1);
  const seed: [number, number[], number][] = [
    [0.3, [22, 44, 89], 45_195],
    [0.5, [16, 32, 64], 23_938],
    [0.7, [9, 19, 38], 8_556],
  ];
  for (const [ratio, chans, params] of seed) {
    const { model } = await pruneStructured(teacher, { ratio });
    const counts = account(model);
    console.log(
      `teacher pruned ${ratio * 100} %: channels ${channels(model)}, params ${counts.params_total}`,
    );
    assertEquals([channels(model), counts.params_total], [chans, params]);
    assertEquals(model.getLayer("fc").getWeights()[0].shape, [chans[2], 2]); // classifier output kept
    model.dispose();
  }
  teacher.dispose();
});

Deno.test("pruning: round_to keeps channel counts multiples of N", async () => {
  assertEquals([keptChannels(128, 0.3, 8), keptChannels(32, 0.7, 8), keptChannels(3, 0.9)], [88, 8, 1]);
  const teacher = buildClassifier(CLASSIFIERS.teacher, [16, 16, 3], 1);
  const { model } = await pruneStructured(teacher, { ratio: 0.3, roundTo: 8 });
  assertEquals(channels(model), [24, 48, 88]);
  disposeAll(teacher, model);
});

Deno.test("pruning a trained model whose removed channels were zeroed gives the same outputs", async () => {
  const spec = CLASSIFIERS.small;
  const model = buildClassifier(spec, [16, 16, 3], 3);
  const trainer = await createTrainer({
    model,
    loss: "softmax_cross_entropy",
    seed: 3,
    learningRate: 1e-2,
    workers: 1,
  });
  const random = tf.randomUniform([8, 16, 16, 3], 0, 1, "float32", 5);
  const x = random.dataSync() as Float32Array;
  for (let i = 0; i < 3; i++) await trainer.trainStep(x, Int32Array.from({ length: 8 }, (_, j) => j % 2));
  trainer.exportTo(model);
  await trainer.dispose();
  // Zero the filter, bias, BN β and moving mean of every other channel: they output exactly 0 after ReLU.
  for (const i of [1, 2, 3]) {
    const [k, b] = model.getLayer(`conv${i}`).getWeights();
    const [g, be, mm, mv] = model.getLayer(`bn${i}`).getWeights();
    const keepMask = tf.tensor1d(Array.from({ length: b.shape[0] }, (_, c) => c % 2));
    model.getLayer(`conv${i}`).setWeights([tf.mul(k, keepMask), tf.mul(b, keepMask)]);
    model.getLayer(`bn${i}`).setWeights([g, tf.mul(be, keepMask), tf.mul(mm, keepMask), mv]);
  }
  const { model: pruned, history } = await pruneStructured(model, { ratio: 0.5 });
  assertEquals(history.groups[0].kept, [1, 3, 5, 7]); // L1 importance picked exactly the non-zeroed channels
  const diff = maxDiff(model, pruned, random);
  console.log(`zeroed vs pruned max |Δlogit| = ${diff.toExponential(2)}`);
  assert(diff <= 1e-5, `max diff ${diff}`);
  disposeAll(model, pruned);
  random.dispose();
});

Deno.test("pruning history replays onto the unpruned checkpoint with identical weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const teacher = buildClassifier(CLASSIFIERS.teacher, [16, 16, 3], 9);
    await saveModel(teacher, `${dir}/teacher`);
    const { model, history } = await pruneStructured(teacher, { ratio: 0.7, importance: bnScaleImportance });
    await Deno.writeTextFile(`${dir}/history.json`, JSON.stringify(history));
    const reloaded = await loadModel(`${dir}/teacher`);
    const replayed = await replayPruning(
      reloaded,
      JSON.parse(await Deno.readTextFile(`${dir}/history.json`)),
    );
    const a = model.getWeights().map((w) => Array.from(w.dataSync()));
    assertEquals(replayed.getWeights().map((w) => Array.from(w.dataSync())), a);
    // The pruned model saves and loads like any other.
    await saveModel(model, `${dir}/pruned`);
    assertEquals(account(await loadModel(`${dir}/pruned`)).params_total, account(model).params_total);
    await rejects(replayPruning(model, history), /history expects 32/);
    disposeAll(teacher, model, reloaded, replayed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A small U-Net: depthwise-separable convs, a transposed-conv up-sampling and a concatenated skip. */
function tinyUnet(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: "image" });
  const sep = (name: string, filters: number, x: tf.SymbolicTensor) =>
    tf.layers.separableConv2d({
      name,
      filters,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      depthMultiplier: 2,
    })
      .apply(x) as tf.SymbolicTensor;
  const d1 = sep("down1", 8, input);
  const bn = tf.layers.batchNormalization({ name: "bn1" }).apply(d1) as tf.SymbolicTensor;
  const pooled = tf.layers.maxPooling2d({ name: "pool", poolSize: 2 }).apply(bn) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ name: "dw", kernelSize: 3, padding: "same" }).apply(
    pooled,
  ) as tf.SymbolicTensor;
  const mid = sep("mid", 12, dw);
  const up = tf.layers.conv2dTranspose({ name: "up", filters: 6, kernelSize: 2, strides: 2 }).apply(
    mid,
  ) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: "skip" }).apply([up, bn]) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ name: "res_a", filters: 10, kernelSize: 1 }).apply(cat) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ name: "res_b", filters: 10, kernelSize: 3, padding: "same" }).apply(cat);
  const sum = tf.layers.add({ name: "sum" }).apply([a, b as tf.SymbolicTensor]) as tf.SymbolicTensor;
  const out = tf.layers.conv2d({ name: "head", filters: 1, kernelSize: 1, activation: "sigmoid" }).apply(sum);
  const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
  // Non-trivial BN statistics, so a wrong slice would show.
  const bnWeights = model.getLayer("bn1").getWeights();
  model.getLayer("bn1").setWeights(bnWeights.map((w, i) => tf.add(w, [0.5, 0.1, 0.2, 1][i])));
  return model;
}

Deno.test("pruning a U-Net: separable convs, a concatenated skip and an Add", async () => {
  const model = tinyUnet();
  const groups = buildGroups(readGraph(model));
  const byRoot = new Map(groups.map((g) => [g.root, g]));
  // down1's 8 channels reach the skip concat at offset 6 (after up's 6): res_a's input rows 6..13.
  const resIn = byRoot.get("down1")!.members.find((m) => m.layer === "res_a" && m.role === "in")!;
  assertEquals(resIn.indices.map((l) => l[0]), [6, 7, 8, 9, 10, 11, 12, 13]);
  // The Add couples res_a and res_b into one group; head is the model output.
  assertEquals(byRoot.get("res_a")!.producers, ["res_a", "res_b"]);
  assert(byRoot.get("head")!.fixed?.includes("model output"));
  // mid's depthwise kernel (multiplier 2) is cut by input channel, its pointwise by c·2 + j.
  // The channel-wise depthwise "dw" passes them on (its kernel cut too) to "mid".
  const down1 = byRoot.get("down1")!;
  assert(down1.members.some((m) => m.layer === "dw" && m.param === "depthwise_kernel"));
  assertEquals(down1.members.find((m) => m.layer === "mid" && m.param === "pointwise_kernel")!.indices[1], [
    2,
    3,
  ]);
  console.log(
    groups.map((g) => `${g.root}: ${g.producers.join("+")} (${g.size})${g.fixed ? " fixed" : ""}`).join("; "),
  );
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 1);
  const { model: pruned } = await pruneStructured(model, { ratio: 0.5, importance: l1Importance });
  assertEquals((pruned.outputs[0].shape as number[]).slice(1), [8, 8, 1]);
  assert(pruned.countParams() < model.countParams());
  const smaller = (pruned.predict(x) as tf.Tensor).shape;
  assertEquals(smaller, [2, 8, 8, 1]);
  disposeAll(model, pruned);
  x.dispose();
});

Deno.test("pruning a U-Net whose removed channels were zeroed gives the same outputs", async () => {
  const model = tinyUnet();
  const gone = (n: number) => tf.tensor1d(Array.from({ length: n }, (_, c) => c % 2)); // 1 = kept
  const zeroLast = (layer: string, weights: number[]) => {
    const ws = model.getLayer(layer).getWeights();
    model.getLayer(layer).setWeights(
      ws.map((w, i) => weights.includes(i) ? tf.mul(w, gone(w.shape.at(-1)!)) : w),
    );
  };
  // down1 (separable, ×2 multiplier) → bn1 → pool → dw → mid, and → skip concat at offset 6.
  zeroLast("down1", [1, 2]); // pointwise columns and bias: ReLU(0) = 0
  zeroLast("bn1", [1, 2]); // β and moving mean: BN(0) = 0
  zeroLast("dw", [1]); // depthwise bias: dw(0) = 0
  // up (transposed conv, kernel [kh, kw, out, in]) → skip concat at offset 0.
  const [k, b] = model.getLayer("up").getWeights();
  model.getLayer("up").setWeights([tf.mul(k, gone(6).reshape([1, 1, 6, 1])), tf.mul(b, gone(6))]);
  const { model: pruned, history } = await pruneStructured(model, {
    ratio: 0.5,
    ignore: ["mid", "res_a", "head"],
  });
  assertEquals(history.groups.map((g) => [g.root, g.kept]), [["down1", [1, 3, 5, 7]], ["up", [1, 3, 5]]]);
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 3);
  const diff = maxDiff(model, pruned, x);
  console.log(`U-Net zeroed vs pruned max |Δ| = ${diff.toExponential(2)}`);
  assert(diff <= 1e-5, `max diff ${diff}`);
  disposeAll(model, pruned);
  x.dispose();
});

Deno.test("pruning refuses graphs it cannot handle, naming the layer", async () => {
  const flat = tf.sequential({
    layers: [
      tf.layers.conv2d({ name: "conv", inputShape: [4, 4, 3], filters: 4, kernelSize: 3 }),
      tf.layers.flatten({ name: "flatten" }),
      tf.layers.dense({ name: "fc", units: 2 }),
    ],
  });
  await rejects(pruneStructured(flat, { ratio: 0.5 }), /layer "flatten" \(Flatten\)/);
  const input = tf.input({ shape: [4, 4, 3] });
  const conv = tf.layers.conv2d({ name: "conv_a", filters: 4, kernelSize: 1 }).apply(
    input,
  ) as tf.SymbolicTensor;
  const odd = tf.layers.permute({ name: "swap", dims: [2, 1, 3] }).apply(conv) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: odd });
  throws(() => buildGroups(readGraph(model)), /layer "swap" \(Permute\): no channel rule/);
  disposeAll(flat, model);
});
