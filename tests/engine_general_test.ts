/**
 * The general trainer against tfjs-layers on the cpu backend: one Adam step of a small standard
 * U-Net, a small depthwise-separable U-Net (64×64, skips, transposed convs; BCE + Dice) and a
 * classifier with batch norm and dropout off (cross-entropy), with 1 and 2 workers.
 */
import * as tf from "@tensorflow/tfjs";
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import { createTrainer } from "../pipeline/engine/trainer.ts";
import { graphOf } from "../pipeline/engine/graph.ts";
import { buildUNet } from "../pipeline/models/unet.ts";
import { buildClassifier } from "../pipeline/models/classifier.ts";

await tf.setBackend("cpu");

function randomData(n: number, shape: number[], seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  });
}

const EPS = 1e-7;
function bceDice(p: tf.Tensor, t: tf.Tensor): tf.Scalar {
  const pc = tf.clipByValue(p, EPS, 1 - EPS);
  const bce = tf.mean(tf.neg(tf.add(tf.mul(t, tf.log(pc)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, pc))))));
  const dice = tf.div(tf.add(tf.mul(2, tf.sum(tf.mul(p, t))), 1), tf.add(tf.add(tf.sum(p), tf.sum(t)), 1));
  return tf.sub(tf.add(bce, 1), dice) as tf.Scalar;
}

/** One tfjs Adam step on cpu: the loss, the gradients and the weights after the step. */
function referenceStep(
  model: tf.LayersModel,
  x: Float32Array,
  targets: Float32Array | Int32Array,
  n: number,
  lr: number,
): { loss: number; grads: Float32Array[]; weights: Float32Array[] } {
  const xs = tf.tensor(x, [n, ...(model.inputs[0].shape.slice(1) as number[])]);
  const opt = tf.train.adam(lr);
  const lossFn = () => {
    const out = model.apply(xs, { training: true }) as tf.Tensor;
    if (targets instanceof Int32Array) {
      return tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(targets, "int32"), out.shape[1]!),
        out,
      ) as tf.Scalar;
    }
    return bceDice(out, tf.tensor(targets, out.shape));
  };
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const gradList = vars.map((v) => grads[v.name].dataSync() as Float32Array);
  opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
  return {
    loss: value.dataSync()[0],
    grads: gradList,
    weights: vars.map((v) => v.dataSync() as Float32Array),
  };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Loss and gradients within 1e-5 relative (each tensor against its largest reference value), and
 * weights after one Adam step within 1e-6. A tensor whose exact gradient is zero (a conv bias
 * before batch norm: the reference's is rounding noise, < 1e-6 of the largest gradient) is listed,
 * not compared: Adam turns noise of either sign into a full step.
 */
async function parity(name: string, build: () => tf.LayersModel, n: number, classes?: number) {
  const probe = build();
  const shape = probe.inputs[0].shape.slice(1) as number[];
  const outShape = probe.outputs[0].shape.slice(1) as number[];
  probe.dispose();
  const x = randomData(n, shape, 7);
  const targets = classes
    ? Int32Array.from({ length: n }, (_, i) => i % classes)
    : Float32Array.from(randomData(n, outShape, 9), (v) => (v > 0.6 ? 1 : 0));
  const ref = build();
  const want = referenceStep(ref, x, targets, n, 1e-3);
  const top = Math.max(...want.grads.map(maxAbs));
  for (const workers of [1, 2]) {
    const model = build();
    const trainer = await createTrainer({
      model,
      loss: classes ? "softmax_cross_entropy" : "bce_dice",
      seed: 1,
      learningRate: 1e-3,
      workers,
    });
    const slots = trainer.graph.nodes.flatMap((nd) =>
      nd.weights.filter((s) => s.trainable).map((s) => ({ nd, s }))
    );
    const { grad } = await trainer.gradient(x, targets);
    const { loss } = await trainer.trainStep(x, targets);
    trainer.exportTo(model);
    await trainer.dispose();
    let gradRel = 0, weightDiff = 0;
    const zero: string[] = [];
    model.trainableWeights.forEach((w, i) => {
      const { nd, s } = slots[i];
      const exp = want.grads[i], scale = maxAbs(exp);
      if (scale < 1e-6 * top) return zero.push(`${nd.name}/${s.name}`);
      const got = grad.subarray(s.offset, s.offset + s.size), after = w.read().dataSync();
      let tRel = 0;
      for (let j = 0; j < exp.length; j++) tRel = Math.max(tRel, Math.abs(got[j] - exp[j]) / scale);
      if (Deno.env.get("PARITY_DEBUG")) console.log(`  ${nd.name}/${s.name}: ${tRel.toExponential(1)}`);
      for (let j = 0; j < exp.length; j++) {
        gradRel = Math.max(gradRel, Math.abs(got[j] - exp[j]) / scale);
        weightDiff = Math.max(weightDiff, Math.abs(after[j] - want.weights[i][j]));
      }
    });
    const lossRel = Math.abs(loss - want.loss) / Math.abs(want.loss);
    console.log(
      `${name}, ${workers} worker(s): loss rel Δ ${lossRel.toExponential(1)}, gradients max rel Δ ${
        gradRel.toExponential(1)
      }, weights after one Adam step max |Δ| ${weightDiff.toExponential(1)}${
        zero.length ? `; exact-zero gradients not compared: ${zero.join(", ")}` : ""
      }`,
    );
    assert(lossRel < 1e-5, `${name}: loss differs by ${lossRel}`);
    assert(gradRel < 1e-5, `${name}: gradients differ by ${gradRel} relative`);
    assert(weightDiff < 1e-6, `${name}: weights differ by ${weightDiff}`);
    model.dispose();
  }
  ref.dispose();
}

Deno.test("one step of a small standard U-Net matches tfjs cpu (1 and 2 workers)", async () => {
  await parity(
    "standard U-Net 64×64",
    () => buildUNet({ filters: [8, 16, 32], conv: "standard" }, [64, 64, 3], 3),
    4,
  );
});

Deno.test("one step of a small depthwise-separable U-Net matches tfjs cpu (1 and 2 workers)", async () => {
  await parity(
    "depthwise U-Net 64×64",
    () => buildUNet({ filters: [8, 16, 32], conv: "separable" }, [64, 64, 3], 3),
    4,
  );
});

Deno.test("one step of a bilinear-up-sampling U-Net matches tfjs cpu", async () => {
  await parity(
    "bilinear U-Net 32×32",
    () => buildUNet({ filters: [4, 8, 16], conv: "standard", up: "bilinear" }, [32, 32, 3], 5),
    3,
  );
});

Deno.test("one step of the classifier (batch norm, max-pool, GAP, dense) matches tfjs cpu", async () => {
  await parity(
    "classifier 32×32",
    () => buildClassifier({ channels: [8, 16, 32], dropout: 0 }, [32, 32, 3], 11),
    6,
    2,
  );
});

// Batch 1 and 'valid' pooling: tfjs 4.22's cpu ResizeNearestNeighborGrad is wrong for batch > 1
// (measured: max |Δ| 0.88 against the block sums of dy for a 2×3×3×1 input), and its AvgPoolGrad
// divides by the whole window at 'same' borders where its forward divides by the pixels inside.
Deno.test("strided, valid, depthwise, average-pool, upsampling, add and dense layers match tfjs cpu", async () => {
  const build = () => {
    let s = 20;
    const init = () => tf.initializers.glorotUniform({ seed: s++ });
    const input = tf.input({ shape: [17, 17, 3] });
    const a = tf.layers.conv2d({
      filters: 6,
      kernelSize: 3,
      strides: 2,
      padding: "same",
      activation: "relu6",
      kernelInitializer: init(),
    })
      .apply(input) as tf.SymbolicTensor;
    const b = tf.layers.depthwiseConv2d({
      kernelSize: 3,
      depthMultiplier: 2,
      padding: "same",
      depthwiseInitializer: init(),
    })
      .apply(a) as tf.SymbolicTensor;
    const c = tf.layers.conv2d({ filters: 12, kernelSize: 1, kernelInitializer: init() }).apply(
      a,
    ) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([b, c]) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(sum) as tf.SymbolicTensor;
    const act = tf.layers.activation({ activation: "sigmoid" }).apply(bn) as tf.SymbolicTensor;
    const pooled = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: "valid" }).apply(
      act,
    ) as tf.SymbolicTensor;
    const up = tf.layers.upSampling2d({ size: [2, 2] }).apply(pooled) as tf.SymbolicTensor;
    const v = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "valid", kernelInitializer: init() })
      .apply(up) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(v) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, kernelInitializer: init() }).apply(flat) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  };
  await parity("mixed layers 17×17", build, 1, 3);
});

Deno.test("an unsupported layer is refused up front, naming the layer and its kind", () => {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 3] }),
      tf.layers.permute({ name: "swap", dims: [2, 1, 3] }),
    ],
  });
  const says = (text: string) => (e: unknown) => (e as Error).message.includes(text);
  throws(() => graphOf(m), says(`layer "swap" (Permute): the engine has no kernel for this layer kind`));
  const dil = tf.sequential({
    layers: [
      tf.layers.conv2d({ name: "dil", filters: 2, kernelSize: 3, dilationRate: 2, inputShape: [8, 8, 3] }),
    ],
  });
  throws(
    () => graphOf(dil),
    says(`layer "dil" (Conv2D): field "dilationRate" is [2,2], only 1 is supported`),
  );
  assertEquals(graphOf(buildUNet({ filters: [4, 8], conv: "separable" }, [16, 16, 3], 1)).nodes.length, 10);
});

Deno.test("the distillation loss and its gradients match tfjs cpu", async () => {
  const build = () => buildClassifier({ channels: [4, 8, 8], dropout: 0 }, [12, 12, 3], 13);
  const n = 6, t = 3, alpha = 0.7;
  const x = randomData(n, [12, 12, 3], 21), labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 2);
  const teacher = Float32Array.from(randomData(n, [2], 22), (v) => 8 * v - 4);
  const ref = build();
  const xt = tf.tensor4d(x, [n, 12, 12, 3]), yt = tf.oneHot(tf.tensor1d(labels, "int32"), 2);
  const vars = ref.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const logits = ref.apply(xt, { training: true }) as tf.Tensor;
    const ce = tf.losses.softmaxCrossEntropy(yt, logits) as tf.Scalar;
    const pt = tf.softmax(tf.tensor2d(teacher, [n, 2]).div(t));
    const kl = pt.mul(pt.log().sub(tf.logSoftmax(logits.div(t)))).sum(1).mean();
    return kl.mul(alpha * t * t).add(ce.mul(1 - alpha)) as tf.Scalar;
  }, vars);
  const model = build();
  const trainer = await createTrainer({
    model,
    loss: "softmax_cross_entropy",
    lossOptions: { temperature: t, alpha },
    seed: 1,
    learningRate: 1e-3,
    workers: 2,
  });
  const got = await trainer.gradient(x, labels, { teacher });
  await trainer.dispose();
  const slots = trainer.graph.nodes.flatMap((nd) => nd.weights.filter((s) => s.trainable));
  let worst = 0;
  vars.forEach((v, i) => {
    const exp = grads[v.name].dataSync(), scale = maxAbs(exp);
    if (scale < 1e-6) return; // conv biases before batch norm: exact gradient zero
    const g = got.grad.subarray(slots[i].offset, slots[i].offset + slots[i].size);
    for (let j = 0; j < exp.length; j++) worst = Math.max(worst, Math.abs(g[j] - exp[j]) / scale);
  });
  const lossRel = Math.abs(got.loss - value.dataSync()[0]) / value.dataSync()[0];
  console.log(
    `distilled classifier, 2 workers: loss rel Δ ${lossRel.toExponential(1)}, gradients max rel Δ ${
      worst.toExponential(1)
    }`,
  );
  assert(lossRel < 1e-5 && worst < 1e-5);
  ref.dispose();
  model.dispose();
});

Deno.test("training is bit-identical for a seed and worker count (dropout on); 1 vs 2 workers agree closely", async () => {
  const x = randomData(5, [8, 8, 3], 5), labels = Int32Array.from({ length: 5 }, (_, i) => i % 2);
  const run = async (workers: number, offThread = false) => {
    const model = buildClassifier({ channels: [4, 8, 8], dropout: 0.3 }, [8, 8, 3], 3);
    const t = await createTrainer({
      model,
      loss: "softmax_cross_entropy",
      seed: 3,
      learningRate: 1e-2,
      workers,
      offThread,
    });
    const losses = [];
    for (let i = 0; i < 3; i++) losses.push((await t.trainStep(x, labels)).loss);
    t.exportTo(model);
    await t.dispose();
    const w = model.getWeights().map((v) => Array.from(v.dataSync()));
    model.dispose();
    return { losses, w };
  };
  const a = await run(2), b = await run(2), c = await run(1);
  assertEquals(a, b);
  // One worker in a Worker thread (several models training at once) = one worker in-thread.
  assertEquals(await run(1, true), c);
  const d = Math.max(...a.losses.map((l, i) => Math.abs(l - c.losses[i])));
  console.log(
    `losses (2 workers) ${a.losses.map((l) => l.toFixed(6))}; 1 vs 2 workers max |Δ| ${d.toExponential(1)}`,
  );
  assert(d < 1e-5);
});

Deno.test("predict and recalibrate: inference outputs match tfjs, and recalibrated statistics make inference equal training mode", async () => {
  const model = buildClassifier({ channels: [4, 8, 8], dropout: 0 }, [8, 8, 3], 4);
  const x = randomData(10, [8, 8, 3], 8);
  const t = await createTrainer({
    model,
    loss: "softmax_cross_entropy",
    seed: 1,
    learningRate: 1e-3,
    workers: 2,
  });
  const before = await t.predict(x, { chunk: 3 });
  const want = (model.predict(tf.tensor4d(x, [10, 8, 8, 3])) as tf.Tensor).dataSync();
  const inferDiff = maxAbs(before.map((v, i) => v - want[i]));
  await t.recalibrate(x);
  t.exportTo(model);
  await t.dispose();
  const infer = (model.predict(tf.tensor4d(x, [10, 8, 8, 3])) as tf.Tensor).dataSync();
  const train = (model.apply(tf.tensor4d(x, [10, 8, 8, 3]), { training: true }) as tf.Tensor).dataSync();
  const recalDiff = maxAbs(infer.map((v, i) => v - train[i]));
  console.log(
    `predict vs tfjs max |Δ| ${inferDiff.toExponential(1)}; after recalibration, inference vs training mode ${
      recalDiff.toExponential(1)
    }`,
  );
  assert(inferDiff < 1e-5 && recalDiff < 1e-4);
  model.dispose();
});

Deno.test("recalibration in the engine gives the statistics of recalibrateBatchNorm (tfjs, layer by layer)", async () => {
  const { recalibrateBatchNorm } = await import("../pipeline/models/bn_recalibrate.ts");
  const a = buildClassifier({ channels: [4, 8, 8], dropout: 0 }, [12, 12, 3], 6);
  const b = buildClassifier({ channels: [4, 8, 8], dropout: 0 }, [12, 12, 3], 6);
  const x = randomData(9, [12, 12, 3], 3);
  recalibrateBatchNorm(a, [
    tf.tensor4d(x.slice(0, 5 * 432), [5, 12, 12, 3]),
    tf.tensor4d(x.slice(5 * 432), [4, 12, 12, 3]),
  ]);
  const t = await createTrainer({ model: b, seed: 0, learningRate: 0, workers: 2 });
  await t.recalibrate(x);
  t.exportTo(b);
  await t.dispose();
  let worst = 0;
  for (const name of ["bn1", "bn2", "bn3"]) {
    const [wa, wb] = [a, b].map((m) => m.getLayer(name).getWeights().slice(2).map((w) => w.dataSync()));
    wa.forEach((v, k) =>
      v.forEach((e, i) => worst = Math.max(worst, Math.abs(e - wb[k][i]) / Math.max(1, Math.abs(e))))
    );
  }
  console.log(`engine vs tfjs recalibration: moving statistics max rel |Δ| ${worst.toExponential(1)}`);
  assert(worst < 1e-5);
});

Deno.test("a small depthwise U-Net learns a segmentation task (BCE + Dice) through the engine", async () => {
  const { segmentation } = await import("../pipeline/tasks/mod.ts");
  const size = 16, n = 8, task = segmentation();
  // Images: noise with one bright square; the mask is the square.
  const rnd = randomData(40, [4], 31);
  const x = new Float32Array(n * size * size * 3), masks = new Float32Array(n * size * size);
  for (let b = 0; b < n; b++) {
    const y0 = Math.floor(rnd[b * 4] * 8),
      x0 = Math.floor(rnd[b * 4 + 1] * 8),
      s = 4 + Math.floor(rnd[b * 4 + 2] * 4);
    for (let y = 0; y < size; y++) {
      for (let xx = 0; xx < size; xx++) {
        const inside = y >= y0 && y < y0 + s && xx >= x0 && xx < x0 + s ? 1 : 0;
        masks[(b * size + y) * size + xx] = inside;
        for (let c = 0; c < 3; c++) {
          x[((b * size + y) * size + xx) * 3 + c] = 0.3 * rnd[(b + y + xx + c) % 40] + 0.6 * inside;
        }
      }
    }
  }
  const model = buildUNet({ filters: [8, 16], conv: "separable" }, [size, size, 3], 2);
  const t = await createTrainer({ model, loss: task.loss, seed: 1, learningRate: 1e-2, workers: 2 });
  const before = task.score(await t.predict(x), masks, n);
  for (let i = 0; i < 60; i++) await t.trainStep(x, masks);
  const after = task.score(await t.predict(x), masks, n);
  await t.dispose();
  model.dispose();
  console.log(
    `U-Net on squares: Dice ${before.metrics.dice.toFixed(3)} → ${after.metrics.dice.toFixed(3)}, loss ${
      before.loss.toFixed(3)
    } → ${after.loss.toFixed(3)}`,
  );
  assert(after.metrics.dice > 0.9 && after.loss < before.loss / 2);
});
