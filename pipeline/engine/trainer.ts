/**
 * The general trainer: any tfjs-layers model built from the engine's layer kinds, trained with
 * Adam by data-parallel Deno Workers (one per core) that run native kernels on their shard of
 * each batch. Batch norm and batch-wide losses sum over the shards (synchronous), gradients are
 * added in shard order in float64 and dropout masks come from the seed and step, so a run is
 * bit-identical for a seed and worker count, on every run and machine.
 */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../core/random.ts";
import { runShard, type ShardInput, type ShardMode, type ShardOutput } from "./executor.ts";
import { graphOf, type GraphSpec, readWeights } from "./graph.ts";
import { sizeOf } from "./layers/_types.ts";
import type { LossName } from "./losses/mod.ts";
import { buildNative, loadNative } from "./native/mod.ts";

/** Options of `createTrainer`. */
export interface TrainerOptions {
  /** The model to train; its current weights are the starting point (e.g. a seeded init or a pruned model). */
  model: tf.LayersModel;
  /** The loss (the task chooses it) and its options (e.g. temperature, alpha for distillation); only training needs it. */
  loss?: LossName;
  lossOptions?: Record<string, number>;
  /** Seeds the dropout masks. */
  seed: number;
  /** Adam's step size; the other Adam settings are tfjs' defaults (β1 0.9, β2 0.999, ε 1e-7). */
  learningRate: number;
  /** Data-parallel workers; default 2 when the machine has ≥ 2 cores, else 1. */
  workers?: number;
  /**
   * Run even a single shard in a Worker, not on the calling thread, so that several trainers can
   * train at once (one model per core). The results are the same either way. @default false
   */
  offThread?: boolean;
  /**
   * 0/1 masks of a layer's first weight (its kernel), by layer name: masked weights are set to zero
   * at the start and after every Adam step, so they stay exactly zero.
   */
  masks?: Record<string, Float32Array>;
}

/** A training session holding the weights, the batch-norm moving statistics and Adam's state. */
export interface Trainer {
  readonly graph: GraphSpec;
  /**
   * One Adam step on a batch: x is NHWC (batch × input shape); targets are class indices or
   * per-output values (batch × output size); teacher = the teacher's outputs for distillation.
   * Returns the batch loss (before the update) and the model outputs for the batch.
   */
  trainStep(
    x: Float32Array,
    targets: Int32Array | Float32Array,
    opts?: { teacher?: Float32Array; learningRate?: number },
  ): Promise<{ loss: number; out: Float32Array }>;
  /** The batch loss and its gradient (flat, in `graph`'s trainable layout) at the current weights; no update. */
  gradient(x: Float32Array, targets: Int32Array | Float32Array, opts?: { teacher?: Float32Array }): Promise<{
    loss: number;
    grad: Float64Array;
  }>;
  /** Outputs in inference mode (moving statistics, no dropout), `chunk` samples per worker at a time. */
  predict(x: Float32Array, opts?: { chunk?: number }): Promise<Float32Array>;
  /** Set every batch norm's moving statistics to the statistics of `x` taken as one batch (recalibration). */
  recalibrate(x: Float32Array): Promise<void>;
  /** Copy the weights and moving statistics into `model` (the same architecture). */
  exportTo(model: tf.LayersModel): void;
  /** Everything a step depends on: weights, BN statistics, Adam's moments and step count (copies). */
  snapshot(): TrainerSnapshot;
  /** Continue from a snapshot of a trainer of the same model: the next steps are bit-identical. */
  restore(snap: TrainerSnapshot): void;
  dispose(): Promise<void>;
}

/** A trainer's full state (see `Trainer.snapshot`). */
export interface TrainerSnapshot {
  trainable: Float32Array;
  state: Float32Array;
  adamM: Float64Array;
  adamV: Float64Array;
  step: number;
}

// Adam as tfjs' defaults.
const BETA1 = 0.9, BETA2 = 0.999, ADAM_EPS = 1e-7;

/**
 * Create a trainer for `opts.model`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createTrainer } from "./trainer.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4], kernelInitializer: "ones" })] });
 * const trainer = await createTrainer({ model, loss: "softmax_cross_entropy", seed: 1, learningRate: 0.01, workers: 1 });
 * const { loss } = await trainer.trainStep(new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]), new Int32Array([0, 1]));
 * if (Math.abs(loss - Math.log(2)) > 1e-6) throw new Error(`loss ${loss}`);
 * await trainer.dispose();
 * ```
 */
export async function createTrainer(opts: TrainerOptions): Promise<Trainer> {
  const graph = graphOf(opts.model);
  const read = readWeights(graph, opts.model);
  // Shared with the workers: a step posts views of these, not copies (the workers only read them,
  // and the main thread writes them between steps).
  const w = shared(read.trainable), state = shared(read.state);
  const masks = Object.entries(opts.masks ?? {}).map(([layer, mask]) => {
    const slot = graph.nodes.find((nd) => nd.name === layer)?.weights[0];
    if (!slot?.trainable || slot.size !== mask.length) {
      throw new Error(
        `createTrainer: mask "${layer}" does not match a kernel of the model (${mask.length} values)`,
      );
    }
    return { offset: slot.offset, mask };
  });
  const applyMasks = () => {
    for (const { offset, mask } of masks) {
      for (let i = 0; i < mask.length; i++) if (mask[i] === 0) w[offset + i] = 0;
    }
  };
  applyMasks();
  await buildNative();
  const kernels = loadNative();
  const pool = await startWorkers(graph, opts.workers, opts.offThread ?? false);
  const m = new Float64Array(w.length), v = new Float64Array(w.length), g = new Float64Array(w.length);
  const inSize = sizeOf(graph.inputShape), outSize = sizeOf(graph.nodes[graph.output].outShape);
  const dropouts = graph.nodes.filter((nd) => nd.className === "Dropout");
  const loss = opts.loss && { name: opts.loss, options: opts.lossOptions ?? {} };
  let step = 0;

  /** Split n samples over the workers and run them; shard outputs in shard order. */
  function run(
    mode: ShardMode,
    x: Float32Array,
    extra: (a: number, b: number) => Partial<ShardInput> = () => ({}),
  ) {
    const n = x.length / inSize;
    if (!Number.isInteger(n) || n === 0) {
      throw new Error(`input has ${x.length} values, not a whole number of [${graph.inputShape}] samples`);
    }
    const shards = Math.min(pool.size, n), inputs: ShardInput[] = [];
    for (let s = 0; s < shards; s++) {
      const a = Math.floor(n * s / shards), b = Math.floor(n * (s + 1) / shards);
      inputs.push({ mode, x: x.slice(a * inSize, b * inSize), n: b - a, batchTotal: n, ...extra(a, b) });
    }
    if (!pool.threaded) {
      return Promise.all([runShard(graph, w, state, inputs[0], (_k, s) => Promise.resolve(s), kernels)]);
    }
    return pool.run(inputs, w, state);
  }

  /** Loss and summed gradient of a batch; dropout masks from the seed and `atStep`. */
  async function lossAndGradient(
    x: Float32Array,
    targets: Int32Array | Float32Array,
    atStep: number,
    teacher?: Float32Array,
  ) {
    if (!loss) {
      throw new Error("createTrainer: no `loss` given, so this trainer can only predict and recalibrate");
    }
    const n = x.length / inSize;
    const perTarget = targets instanceof Int32Array ? 1 : outSize;
    if (targets.length !== n * perTarget) {
      throw new Error(`trainStep: ${targets.length} targets for ${n} samples, expected ${n * perTarget}`);
    }
    if (teacher && teacher.length !== n * outSize) {
      throw new Error(`trainStep: teacher outputs must have ${n}×${outSize} values`);
    }
    const rnd = seededRandom(opts.seed * 1000003 + atStep);
    const masksOf = dropouts.map((nd) => {
      const rate = nd.config.rate as number, size = sizeOf(nd.outShape), mask = new Float32Array(n * size);
      for (let i = 0; i < mask.length; i++) mask[i] = rnd() < rate ? 0 : 1 / (1 - rate);
      return { name: nd.name, size, mask };
    });
    const outs = await run("train", x, (a, b) => ({
      targets: targets.slice(a * perTarget, b * perTarget),
      teacher: teacher?.slice(a * outSize, b * outSize),
      loss,
      dropMasks: Object.fromEntries(masksOf.map((d) => [d.name, d.mask.slice(a * d.size, b * d.size)])),
    }));
    let total = 0;
    outs.forEach((o, k) => {
      total += o.loss;
      kernels.gradAccumulate(g, o.grad!, k === 0);
    });
    return { loss: total, outs };
  }

  return {
    graph,
    async trainStep(x, targets, stepOpts = {}) {
      const { loss: total, outs } = await lossAndGradient(x, targets, step + 1, stepOpts.teacher);
      step++;
      kernels.adam(w, m, v, g, {
        lr: stepOpts.learningRate ?? opts.learningRate,
        b1: BETA1,
        b2: BETA2,
        c1: 1 - Math.pow(BETA1, step),
        c2: 1 - Math.pow(BETA2, step),
        eps: ADAM_EPS,
      });
      applyMasks();
      updateMovingStatistics(graph, state, outs[0].state, false);
      return { loss: total, out: concat(outs.map((o) => o.out)) };
    },
    async gradient(x, targets, gradOpts = {}) {
      const { loss } = await lossAndGradient(x, targets, step + 1, gradOpts.teacher);
      return { loss, grad: g.slice() };
    },
    async predict(x, { chunk = 64 } = {}) {
      const n = x.length / inSize, step = chunk * pool.size, parts: Float32Array[] = [];
      for (let a = 0; a < n; a += step) {
        const outs = await run("infer", x.subarray(a * inSize, Math.min(n, a + step) * inSize));
        parts.push(...outs.map((o) => o.out));
      }
      return concat(parts);
    },
    async recalibrate(x) {
      const outs = await run("stats", x);
      updateMovingStatistics(graph, state, outs[0].state, true);
    },
    exportTo(model) {
      for (const node of graph.nodes) {
        const values = node.weights.map((s) =>
          tf.tensor((s.trainable ? w : state).slice(s.offset, s.offset + s.size), s.shape)
        );
        model.getLayer(node.name).setWeights(values);
        tf.dispose(values);
      }
    },
    snapshot() {
      return { trainable: w.slice(), state: state.slice(), adamM: m.slice(), adamV: v.slice(), step };
    },
    restore(snap) {
      if (
        snap.trainable.length !== w.length || snap.state.length !== state.length ||
        snap.adamM.length !== m.length
      ) {
        throw new Error(
          `restore: the snapshot has ${snap.trainable.length} weights, this model ${w.length}: not the same model`,
        );
      }
      w.set(snap.trainable);
      state.set(snap.state);
      m.set(snap.adamM);
      v.set(snap.adamV);
      step = snap.step;
    },
    dispose() {
      pool.close();
      return Promise.resolve();
    },
  };
}

/** Moving statistics ← momentum blend of the batch's (tfjs-layers' rule), or the batch's own when `replace`. */
function updateMovingStatistics(
  g: GraphSpec,
  state: Float32Array,
  measured: Record<string, Float32Array[]>,
  replace: boolean,
) {
  for (const node of g.nodes) {
    const stats = measured[node.name];
    if (!stats) continue;
    const momentum = Number(node.config.momentum ?? 0.99);
    const slots = node.weights.filter((s) => !s.trainable).slice(-2); // moving_mean, moving_variance
    slots.forEach((slot, k) => {
      for (let c = 0; c < slot.size; c++) {
        const old = state[slot.offset + c];
        state[slot.offset + c] = replace ? stats[k][c] : old - (old - stats[k][c]) * (1 - momentum);
      }
    });
  }
}

/** A copy of `a` in a SharedArrayBuffer. */
function shared(a: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface WorkerPool {
  /** Shards a batch is split into. */
  size: number;
  /** False: one shard, run on the calling thread. */
  threaded: boolean;
  run(inputs: ShardInput[], trainable: Float32Array, state: Float32Array): Promise<ShardOutput[]>;
  close(): void;
}

/**
 * Data-parallel workers of a trainer when none are asked for: 2 on a machine with ≥ 2 cores, else 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultWorkers } from "./trainer.ts";
 * assert.deepEqual([defaultWorkers(1), defaultWorkers(2), defaultWorkers(16)], [1, 2, 2]);
 * ```
 */
export function defaultWorkers(cores = navigator.hardwareConcurrency ?? 1): number {
  return cores >= 2 ? 2 : 1;
}

/** Start `count` workers (default: `defaultWorkers()`); 1 runs in-thread unless `offThread`. */
async function startWorkers(
  graph: GraphSpec,
  count: number | undefined,
  offThread: boolean,
): Promise<WorkerPool> {
  const n = Math.max(1, count ?? defaultWorkers());
  const workers = n > 1 || offThread
    ? Array.from(
      { length: n },
      () => new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" }),
    )
    : [];
  let broken: Error | undefined;
  const close = () => workers.forEach((wk) => wk.terminate());
  await Promise.all(workers.map((wk) =>
    new Promise<void>((resolve, reject) => {
      wk.onmessage = (e) =>
        e.data.type === "ready" ? resolve() : reject(new Error(`engine worker: ${e.data.message}`));
      wk.onerror = (e) => reject(new Error(`engine worker: ${e.message}`));
      wk.postMessage({ type: "init", graph });
    })
  )).catch((err) => {
    close();
    throw err;
  });
  return {
    size: n,
    threaded: workers.length > 0,
    close,
    async run(inputs, trainable, state) {
      if (broken) throw new Error(`trainer unusable after an earlier worker failure: ${broken.message}`);
      const active = workers.slice(0, inputs.length), partial = new Map<string, Float64Array[]>();
      try {
        return await Promise.all(active.map((wk, wi) =>
          new Promise<ShardOutput>((resolve, reject) => {
            wk.onmessage = (e: MessageEvent) => {
              const msg = e.data;
              if (msg.type === "sync") {
                // Sum the shards' partial sums in worker order, then broadcast.
                const got = partial.get(msg.key) ?? new Array(active.length);
                got[wi] = msg.v;
                partial.set(msg.key, got);
                if (got.filter((p) => p).length === active.length) {
                  partial.delete(msg.key);
                  const sum = new Float64Array(got[0].length);
                  for (const p of got) for (let i = 0; i < sum.length; i++) sum[i] += p[i];
                  for (const a of active) a.postMessage({ type: "synced", key: msg.key, v: sum });
                }
              } else if (msg.type === "done") resolve(msg.out);
              else reject(new Error(`engine worker: ${msg.message}`));
            };
            wk.onerror = (e) => reject(new Error(`engine worker: ${e.message}`));
            wk.postMessage({ type: "run", trainable, state, input: inputs[wi] });
          })
        ));
      } catch (err) {
        // A failed worker leaves the others waiting on a sync: stop them all.
        broken = err as Error;
        close();
        throw err;
      }
    },
  };
}
