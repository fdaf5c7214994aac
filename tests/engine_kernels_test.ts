/**
 * Parity of the engine's wasm kernels and trainer against tfjs' cpu backend.
 * Run: deno test -A tests/engine_kernels_test.ts
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { createTrainer, initEngine } from "../pipeline/engine/mod.ts";
import { buildClassifier, CLASSIFIERS } from "../pipeline/models/classifier.ts";
import { paramLayout, shardStep } from "../pipeline/engine/_graph.ts";

await initEngine();

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

/** Run `f` on a backend and return its outputs as arrays. */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const ts = f();
  const out = ts.map((t) => t.dataSync() as Float32Array);
  tf.dispose(ts);
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

/** Live tensors on the wasm heap, including the engine's untracked ones. */
function wasmTensorCount(): number {
  return (tf.findBackend("wasm") as unknown as { numDataIds(): number }).numDataIds();
}

const REL_TOL = 1e-4; // max |wasm − cpu| ≤ 1e-4 · max(1, max |cpu|)

async function compare(label: string, f: () => tf.Tensor[]): Promise<void> {
  const ref = await on("cpu", f);
  const got = await on("wasm", f);
  ref.forEach((r, i) => {
    assert(r.length === got[i].length, `${label}[${i}]: size`);
    const { diff, scale } = maxDiff(got[i], r);
    console.log(`${label} out${i}: max|diff| ${diff.toExponential(2)} (max|ref| ${scale.toFixed(2)})`);
    assert(diff <= REL_TOL * Math.max(1, scale), `${label}[${i}]: ${diff} > tol`);
  });
  await tf.setBackend("wasm");
}

type Pad = "same" | "valid";
const grid: { n: number; hw: [number, number]; ci: number; co: number; k: number; s: 1 | 2; pad: Pad }[] = [];
for (const s of [1, 2] as const) {
  for (const pad of ["same", "valid"] as const) {
    grid.push({ n: 2, hw: [9, 8], ci: 3, co: 5, k: 3, s, pad });
    grid.push({ n: 3, hw: [12, 12], ci: 8, co: 4, k: 3, s, pad });
    grid.push({ n: 1, hw: [7, 10], ci: 4, co: 6, k: 2, s, pad });
  }
}

Deno.test("conv2d gradients (Conv2DBackpropFilter/Input) match cpu", async () => {
  for (const [gi, g] of grid.entries()) {
    const xs = [g.n, g.hw[0], g.hw[1], g.ci], ws = [g.k, g.k, g.ci, g.co];
    const xv = rand(xs.reduce((a, b) => a * b), gi + 1), wv = rand(ws.reduce((a, b) => a * b), gi + 100);
    await compare(`conv2d n${g.n} ${g.hw} ci${g.ci} co${g.co} k${g.k} s${g.s} ${g.pad}`, () => {
      const x = tf.tensor4d(xv, xs as [number, number, number, number]);
      const w = tf.tensor4d(wv, ws as [number, number, number, number]);
      const y = tf.conv2d(x, w, g.s, g.pad);
      const r = tf.tensor(rand(y.size, gi + 7), y.shape);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, g.s, g.pad).mul(r).sum()
      )([x, w]);
      tf.dispose([x, w, r]);
      return [y, dx, dw];
    });
  }
});

Deno.test("conv2dTranspose forward and gradients match cpu", async () => {
  for (const [gi, g] of grid.entries()) {
    // conv2dTranspose(y) maps back to the conv's input shape: uses Conv2DBackpropInput forward.
    const xs: [number, number, number, number] = [g.n, g.hw[0], g.hw[1], g.ci];
    const ws: [number, number, number, number] = [g.k, g.k, g.ci, g.co];
    const yShape = tf.tidy(() =>
      tf.conv2d(tf.zeros(xs) as tf.Tensor4D, tf.zeros(ws) as tf.Tensor4D, g.s, g.pad).shape
    );
    const yv = rand(yShape.reduce((a, b) => a * b), gi + 3), wv = rand(ws.reduce((a, b) => a * b), gi + 30);
    await compare(`conv2dTranspose ${g.hw} ci${g.ci} co${g.co} k${g.k} s${g.s} ${g.pad}`, () => {
      const y = tf.tensor4d(yv, yShape as [number, number, number, number]);
      const w = tf.tensor4d(wv, ws);
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, xs, g.s, g.pad);
      const out = f(y, w);
      const r = tf.tensor(rand(out.size, gi + 9), out.shape);
      const [dy, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).mul(r).sum())([y, w]);
      tf.dispose([y, w, r]);
      return [out, dy, dw];
    });
  }
});

Deno.test("depthwiseConv2d gradients match cpu", async () => {
  for (const [gi, g] of grid.entries()) {
    for (const mult of [1, 2]) {
      for (const dil of [1]) { // tfjs has no depthwise gradient for dilation > 1
        const xs: [number, number, number, number] = [g.n, g.hw[0], g.hw[1], g.ci];
        const ws: [number, number, number, number] = [g.k, g.k, g.ci, mult];
        const xv = rand(xs.reduce((a, b) => a * b), gi + 11), wv = rand(ws.reduce((a, b) => a * b), gi + 12);
        await compare(`depthwise ${g.hw} ci${g.ci} m${mult} k${g.k} s${g.s} d${dil} ${g.pad}`, () => {
          const x = tf.tensor4d(xv, xs), w = tf.tensor4d(wv, ws);
          const f = (a: tf.Tensor, b: tf.Tensor) =>
            tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, g.s, g.pad, "NHWC", dil);
          const out = f(x, w);
          const r = tf.tensor(rand(out.size, gi + 13), out.shape);
          const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).mul(r).sum())([x, w]);
          tf.dispose([x, w, r]);
          return [out, dx, dw];
        });
      }
    }
  }
});

Deno.test("Sum / Mean / Tile (leading-axis fast paths and fallbacks) match cpu", async () => {
  const shapes = [[4, 5, 6, 7], [3, 8], [2, 1, 9]];
  for (const [si, shape] of shapes.entries()) {
    const xv = rand(shape.reduce((a, b) => a * b), si + 60);
    const axesList = [[0], [0, 1], [1], [-1], shape.map((_, i) => i).slice(0, -1)];
    for (const axes of axesList) {
      for (const keepDims of [false, true]) {
        await compare(`sum/mean ${shape} axes ${axes} keep ${keepDims}`, () => {
          const x = tf.tensor(xv, shape);
          const out = [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)];
          x.dispose();
          return out;
        });
      }
    }
    const cv = rand(shape[shape.length - 1], si + 61);
    const repsList = [shape.map((d, i) => (i === shape.length - 1 ? 1 : d)), shape.map(() => 2)];
    for (const reps of repsList) {
      await compare(`tile ${shape} reps ${reps}`, () => {
        const c = tf.tensor(cv, [...shape.slice(0, -1).map(() => 1), shape[shape.length - 1]]);
        const out = [tf.tile(c, reps), tf.tile(tf.tensor(xv, shape), reps)];
        c.dispose();
        return out;
      });
    }
  }
});

interface Soft {
  teacherLogits: Float32Array;
  temperature: number;
  alpha: number;
}

Deno.test("maxPool gradient (MaxPoolGrad) matches cpu", async () => {
  for (const [gi, g] of grid.entries()) {
    for (const k of [2, 3]) {
      const xs: [number, number, number, number] = [g.n, g.hw[0], g.hw[1], g.ci];
      const xv = rand(xs.reduce((a, b) => a * b), gi + 40);
      await compare(`maxPool ${g.hw} c${g.ci} k${k} s${g.s} ${g.pad}`, () => {
        const x = tf.tensor4d(xv, xs);
        const y = tf.maxPool(x, k, g.s, g.pad);
        const r = tf.tensor(rand(y.size, gi + 41), y.shape);
        const [dx] = tf.grads((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, k, g.s, g.pad).mul(r).sum())([
          x,
        ]);
        tf.dispose([x, r]);
        return [y, dx];
      });
    }
  }
});

/** One Adam step of the layers model on cpu (the reference semantics), optionally with distillation. */
async function referenceStep(
  x: Float32Array,
  labels: Int32Array,
  shape: [number, number, number],
  lr: number,
  soft?: Soft,
) {
  await tf.setBackend("cpu");
  const model = buildClassifier(CLASSIFIERS.small, shape, 5);
  const opt = tf.train.adam(lr);
  const xt = tf.tensor4d(x, [labels.length, ...shape]);
  const yt = tf.oneHot(tf.tensor1d(labels, "int32"), 2);
  const loss = opt.minimize(() => {
    const logits = model.apply(xt, { training: true }) as tf.Tensor;
    const ce = tf.losses.softmaxCrossEntropy(yt, logits) as tf.Scalar;
    if (!soft) return ce;
    const t = soft.temperature;
    const pt = tf.softmax(tf.tensor2d(soft.teacherLogits, [labels.length, 2]).div(t));
    const kl = pt.mul(pt.log().sub(tf.logSoftmax(logits.div(t)))).sum(1).mean();
    return kl.mul(soft.alpha * t * t).add(ce.mul(1 - soft.alpha)) as tf.Scalar;
  }, true)!;
  const out = {
    loss: loss.dataSync()[0],
    weights: model.getWeights().map((w) => w.dataSync() as Float32Array),
  };
  tf.dispose([xt, yt, loss]);
  model.dispose();
  opt.dispose();
  await tf.setBackend("wasm");
  return out;
}

Deno.test("trainer step (1 and 2 workers, plain and distilled) matches a tfjs-layers step on cpu", async () => {
  const shape: [number, number, number] = [16, 16, 3], batch = 6, lr = 1e-2, WEIGHT_TOL = lr * 5e-3;
  const x = rand(batch * 16 * 16 * 3, 77).map((v) => v + 0.5);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);
  const soft: Soft = { teacherLogits: rand(batch * 2, 3).map((v) => 4 * v), temperature: 3, alpha: 0.7 };
  const cases: [number, Soft | undefined][] = [[1, undefined], [2, undefined], [2, soft]];
  for (const [workers, sft] of cases) {
    const ref = await referenceStep(x, labels, shape, lr, sft);
    const t = await createTrainer({
      model: CLASSIFIERS.small,
      inputShape: shape,
      seed: 5,
      learningRate: lr,
      workers,
    });
    const heapIds = wasmTensorCount();
    const { loss } = await t.trainStep(x, labels, { soft: sft });
    assert.equal(wasmTensorCount(), heapIds, "a trainer step leaks wasm heap tensors");
    const model = buildClassifier(CLASSIFIERS.small, shape, 123);
    await t.exportTo(model);
    await t.dispose();
    console.log(
      `workers ${workers}${sft ? " distilled" : ""}: loss ${loss.toFixed(6)} vs reference ${
        ref.loss.toFixed(6)
      }`,
    );
    assert(Math.abs(loss - ref.loss) < 1e-5, "loss");
    let worst = 0;
    model.weights.forEach((w, i) => {
      const { diff } = maxDiff(w.read().dataSync() as Float32Array, ref.weights[i]);
      // Adam's first step is ≈ lr·g/(|g|+1e-7): float noise in a gradient near 1e-7 moves a weight
      // by up to ~lr·1e-3. Conv biases get a ~0 gradient (BN cancels them), so only |diff| ≤ lr holds.
      const bias = w.name.includes("conv") && w.name.includes("bias");
      if (!bias) worst = Math.max(worst, diff);
      assert(diff <= (bias ? 1.01 * lr : WEIGHT_TOL), `${w.name}: ${diff}`);
    });
    console.log(
      `  weights incl. BN moving stats (conv biases excepted): max|diff| ${
        worst.toExponential(2)
      } (tol ${WEIGHT_TOL})`,
    );
    // Inference with the exported weights on wasm matches cpu.
    const xt = tf.tensor4d(x, [batch, ...shape]);
    const got = (model.predict(xt) as tf.Tensor).dataSync() as Float32Array;
    await tf.setBackend("cpu");
    const want = (model.predict(xt) as tf.Tensor).dataSync() as Float32Array;
    await tf.setBackend("wasm");
    const { diff } = maxDiff(got, want);
    console.log(`  predict wasm vs cpu: max|diff| ${diff.toExponential(2)}`);
    assert(diff < 1e-4);
    xt.dispose();
    model.dispose();
  }
});

Deno.test("shard gradients (distillation loss; even and odd sizes) match tf.variableGrads on cpu", async () => {
  const shapes: [number, number, number][] = [[16, 16, 3], [15, 13, 3]];
  for (const shape of shapes) {
    const batch = 6, t = 3, alpha = 0.7;
    const x = rand(batch * shape[0] * shape[1] * 3, 21).map((v) => v + 0.5);
    const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % 2);
    const teacherLogits = rand(batch * 2, 22).map((v) => 4 * v);
    await tf.setBackend("cpu");
    const model = buildClassifier(CLASSIFIERS.small, shape, 9);
    const xt = tf.tensor4d(x, [batch, ...shape]), yt = tf.oneHot(tf.tensor1d(labels, "int32"), 2);
    const { grads } = tf.variableGrads(() => {
      const logits = model.apply(xt, { training: true }) as tf.Tensor;
      const ce = tf.losses.softmaxCrossEntropy(yt, logits) as tf.Scalar;
      const pt = tf.softmax(tf.tensor2d(teacherLogits, [batch, 2]).div(t));
      const kl = pt.mul(pt.log().sub(tf.logSoftmax(logits.div(t)))).sum(1).mean();
      return kl.mul(alpha * t * t).add(ce.mul(1 - alpha)) as tf.Scalar;
    });
    const arch = { inputShape: shape, channels: [8, 16, 32], classes: 2, dropout: 0 };
    const slots = paramLayout(arch);
    const w = new Float32Array(slots.reduce((s, p) => s + p.size, 0));
    model.trainableWeights.forEach((v, i) => w.set(v.read().dataSync() as Float32Array, slots[i].offset));
    await tf.setBackend("wasm");
    const soft = { teacherLogits, temperature: t, alpha };
    const out = await shardStep(
      arch,
      w,
      { x, n: batch, labels, batchTotal: batch, soft },
      (_k, v) => Promise.resolve(v),
    );
    let worst = 0;
    model.trainableWeights.forEach((v, i) => {
      const g = grads[v.name].dataSync() as Float32Array;
      const { diff, scale } = maxDiff(out.grad.subarray(slots[i].offset, slots[i].offset + g.length), g);
      worst = Math.max(worst, diff);
      assert(diff <= REL_TOL * Math.max(1, scale), `${slots[i].name}: ${diff}`);
    });
    console.log(`distilled gradients ${shape}: max|diff| ${worst.toExponential(2)}`);
    tf.dispose([xt, yt, ...Object.values(grads)]);
    model.dispose();
  }
});

Deno.test("trainer is deterministic for a seed and worker count (dropout on)", async () => {
  const spec = { channels: [4, 8, 8] as [number, number, number], dropout: 0.3 };
  const shape: [number, number, number] = [8, 8, 3], batch = 5;
  const x = rand(batch * 8 * 8 * 3, 5).map((v) => v + 0.5);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);
  const run = async (workers: number) => {
    const t = await createTrainer({ model: spec, inputShape: shape, seed: 3, learningRate: 1e-2, workers });
    const losses = [];
    for (let i = 0; i < 3; i++) losses.push((await t.trainStep(x, labels)).loss);
    const model = buildClassifier(spec, shape, 0);
    await t.exportTo(model);
    await t.dispose();
    const w = model.getWeights().map((v) => Array.from(v.dataSync()));
    model.dispose();
    return { losses, w };
  };
  const a = await run(2), b = await run(2), c = await run(1);
  assert.deepEqual(a, b, "same seed, same workers: bitwise equal");
  const d = Math.max(...a.losses.map((l, i) => Math.abs(l - c.losses[i])));
  console.log(
    `losses 2 workers ${a.losses.map((l) => l.toFixed(6))}; 1 vs 2 workers max|diff| ${d.toExponential(2)}`,
  );
  assert(d < 1e-5);
});
