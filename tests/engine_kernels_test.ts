/**
 * Parity of the wasm kernels the engine registers for tfjs inference (model.predict) against the cpu backend.
 * Run: deno test -A tests/engine_kernels_test.ts
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initEngine } from "../pipeline/engine/mod.ts";

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

Deno.test("conv2dTranspose forward (Conv2DBackpropInput) matches cpu", async () => {
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
      tf.dispose([y, w]);
      return [out];
    });
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
