/**
 * Hand-written forward + backward of the classifier family on one shard of a batch:
 * (conv3×3 same → BN(train) → ReLU → MaxPool2) × N → GAP → dropout → dense.
 * Convs run on wasm (XNNPACK) kernels, heap to heap; BN/ReLU/pool and the head are fused JS
 * loops over heap views (`_bn_pool.ts`, `_head.ts`).
 * Batch-norm statistics are summed across shards through `sync` (synchronous BN), so any
 * split of the batch computes the same thing as the whole batch.
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { alloc, conv2dHeap, free, heap, reshaped, upload } from "./_wasm_ops.ts";
import { filterGradS1, padGrid, padInput } from "./_filter_grad.ts";
import { bnBackwardSums, type BnGeom, bnReluPool, bnReluPoolBackward, bnSums } from "./_bn_pool.ts";
import { headStep } from "./_head.ts";

/** Layer sizes of one classifier. */
export interface Arch {
  inputShape: [number, number, number];
  channels: number[];
  classes: number;
  dropout: number;
}

/** One trainable tensor in the flat parameter vector. */
export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Flat layout of trainable weights, in the tfjs-layers model's order. */
export function paramLayout(a: Arch): ParamSlot[] {
  const slots: ParamSlot[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((p, q) => p * q, 1);
    slots.push({ name, shape, offset, size });
    offset += size;
  };
  let ci = a.inputShape[2];
  a.channels.forEach((co, i) => {
    add(`conv${i + 1}/kernel`, [3, 3, ci, co]);
    add(`conv${i + 1}/bias`, [co]);
    add(`bn${i + 1}/gamma`, [co]);
    add(`bn${i + 1}/beta`, [co]);
    ci = co;
  });
  add("fc/kernel", [ci, a.classes]);
  add("fc/bias", [a.classes]);
  return slots;
}

/** Sums `v` over all shards (element-wise, fixed shard order); identity for one shard. */
export type SyncSum = (key: string, v: Float64Array) => Promise<Float64Array>;

/** One shard's inputs. */
export interface ShardInput {
  x: Float32Array;
  n: number;
  labels: Int32Array;
  /** Whole-batch size; losses and gradients are means over it. */
  batchTotal: number;
  /** Dropout multipliers (0 or 1/(1-rate)) per sample × feature, or undefined. */
  dropMask?: Float32Array;
  soft?: { teacherLogits: Float32Array; temperature: number; alpha: number };
}

/** One shard's outputs: additive across shards. */
export interface ShardOutput {
  loss: number;
  correct: number;
  grad: Float32Array;
  /** Whole-batch BN mean (incl. conv bias) and biased variance per block (same on every shard). */
  bnMean: Float32Array[];
  bnVar: Float32Array[];
}

const EPS = 1e-5;

/** Accumulated milliseconds per phase (for profiling; reset by the caller). */
export const profile: Record<string, number> = {};
let mark = 0;
function lap(name: string): void {
  const now = performance.now();
  profile[name] = (profile[name] ?? 0) + now - mark;
  mark = now;
}

interface BlockCache {
  g: BnGeom;
  ci: number;
  /** Block input (NHWC, heap) and conv output z (heap, n·h·w × co). */
  input: TensorInfo;
  z: TensorInfo;
  arg: Int8Array;
  mean: Float32Array;
  invstd: Float32Array;
  scale: Float32Array;
}

/** Forward and backward on one shard; `w` is the flat trainable vector of `paramLayout`. */
export async function shardStep(
  a: Arch,
  w: Float32Array,
  inp: ShardInput,
  sync: SyncSum,
): Promise<ShardOutput> {
  const slots = paramLayout(a);
  const view = (s: ParamSlot) => w.subarray(s.offset, s.offset + s.size);
  const grad = new Float32Array(w.length);
  const n = inp.n;
  let [h, wd, ci] = a.inputShape;
  let act = upload(inp.x, [n, h, wd, ci]);
  const caches: BlockCache[] = [];
  const bnMean: Float32Array[] = [], bnVar: Float32Array[] = [];
  mark = performance.now();

  for (let bi = 0; bi < a.channels.length; bi++) {
    const co = a.channels[bi];
    const [kS, bS, gS, beS] = slots.slice(bi * 4, bi * 4 + 4);
    const g: BnGeom = { n, h, w: wd, c: co };
    const wt = upload(view(kS), kS.shape);
    const z = conv2dHeap(act, wt, "same");
    free(wt);
    lap(`conv${bi + 1} fwd`);
    // The conv bias only shifts the batch mean (BN cancels it); it enters the moving mean.
    const st = bnSums(heap(z), co);
    lap(`bn${bi + 1} stats`);
    const tot = await sync(`f${bi}`, st);
    lap("sync");
    const m = inp.batchTotal * h * wd;
    const mean = new Float32Array(co), invstd = new Float32Array(co), scale = new Float32Array(co);
    const shift = new Float32Array(co);
    const gamma = view(gS), beta = view(beS), bias = view(bS);
    const bm = new Float32Array(co), bv = new Float32Array(co);
    for (let c = 0; c < co; c++) {
      const mu = tot[c] / m;
      const v = Math.max(tot[co + c] / m - mu * mu, 0); // biased variance, as tf.moments
      const is = 1 / Math.sqrt(v + EPS);
      mean[c] = mu;
      invstd[c] = is;
      scale[c] = gamma[c] * is;
      shift[c] = beta[c] - gamma[c] * is * mu;
      bm[c] = mu + bias[c];
      bv[c] = v;
    }
    bnMean.push(bm);
    bnVar.push(bv);
    const ph = h >> 1, pw = wd >> 1;
    const out = alloc([n, ph, pw, co]);
    const arg = new Int8Array(n * ph * pw * co);
    bnReluPool(heap(z), heap(out), arg, g, scale, shift);
    lap(`bn${bi + 1} relu pool fwd`);
    caches.push({ g, ci, input: act, z, arg, mean, invstd, scale });
    act = out;
    h = ph;
    wd = pw;
    ci = co;
  }

  const fcK = slots[slots.length - 2], fcB = slots[slots.length - 1], hw = h * wd;
  const head = headStep({
    act: heap(act),
    n,
    hw,
    feat: ci,
    classes: a.classes,
    kernel: view(fcK),
    bias: view(fcB),
    labels: inp.labels,
    batchTotal: inp.batchTotal,
    dropMask: inp.dropMask,
    soft: inp.soft,
  });
  free(act);
  grad.set(head.dKernel, fcK.offset);
  grad.set(head.dBias, fcB.offset);
  let dOut = alloc([n * hw, ci]);
  {
    const dv = heap(dOut);
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < hw; p++) dv.set(head.dFeat.subarray(b * ci, b * ci + ci), (b * hw + p) * ci);
    }
  }
  lap("head");
  for (let bi = a.channels.length - 1; bi >= 0; bi--) {
    const next = await blockBackward(caches[bi], bi, dOut, slots, w, grad, inp.batchTotal, sync);
    free(dOut);
    dOut = next;
  }
  free(dOut);
  return { loss: head.loss, correct: head.correct, grad, bnMean, bnVar };
}

/** Backward of one block; frees its cached tensors and returns dInput (heap; a dummy for block 1). */
async function blockBackward(
  cache: BlockCache,
  bi: number,
  dOut: TensorInfo,
  slots: ParamSlot[],
  w: Float32Array,
  grad: Float32Array,
  batchTotal: number,
  sync: SyncSum,
): Promise<TensorInfo> {
  const { g, ci, z, arg, mean, invstd, scale } = cache;
  const { n, h, w: wd, c: co } = g;
  const [kS, bS, gS, beS] = slots.slice(bi * 4, bi * 4 + 4);
  const st = bnBackwardSums(heap(z), heap(dOut), arg, g, mean, invstd);
  for (let c = 0; c < co; c++) {
    grad[beS.offset + c] += st[c];
    grad[gS.offset + c] += st[co + c];
  }
  lap(`bn${bi + 1} pool bwd sums`);
  const tot = await sync(`b${bi}`, st);
  lap("sync");
  const m = batchTotal * h * wd;
  const mg = new Float32Array(co), mgx = new Float32Array(co);
  for (let c = 0; c < co; c++) {
    mg[c] = tot[c] / m;
    mgx[c] = tot[co + c] * invstd[c] / m;
  }
  // dz lives on the zero-padded grid (see _filter_grad.ts); that is also dx's conv input.
  const p = padGrid(n, h, wd);
  const dz = alloc([p.l * co]);
  const dzv = heap(dz);
  dzv.fill(0);
  const db = bnReluPoolBackward(heap(z), heap(dOut), arg, dzv, g, p, scale, mean, mg, mgx);
  free(z);
  for (let c = 0; c < co; c++) grad[bS.offset + c] += db[c];
  lap(`bn${bi + 1} dz`);
  const xPad = padInput(cache.input, p, ci);
  free(cache.input);
  lap(`conv${bi + 1} pad`);
  grad.set(filterGradS1(xPad, dz, p, ci, co), kS.offset);
  free(xPad);
  lap(`conv${bi + 1} dW`);
  if (bi === 0) {
    free(dz);
    return alloc([1]);
  }
  // dx = 'valid' conv of the padded dz with the kernel flipped and in/out swapped.
  const kv = w.subarray(kS.offset, kS.offset + kS.size);
  const wr = new Float32Array(kv.length);
  for (let t = 0; t < 9; t++) {
    const s = (8 - t) * ci * co, d = t * co * ci;
    for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) wr[d + o * ci + i] = kv[s + i * co + o];
  }
  const wrt = upload(wr, [3, 3, co, ci]);
  const dx = conv2dHeap(reshaped(dz, [n, h + 2, wd + 2, co]), wrt, "valid");
  free(wrt, dz);
  lap(`conv${bi + 1} dx`);
  return dx;
}
