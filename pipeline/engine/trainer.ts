/** Fast data-parallel trainer for the classifier family (see `_graph.ts` for the maths). */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../core/random.ts";
import { buildClassifier, type ClassifierSpec } from "../models/classifier.ts";
import { type Arch, paramLayout, type ShardInput, type ShardOutput, shardStep } from "./_graph.ts";
import { ensureEngine } from "./init.ts";

/** Options of `createTrainer`. */
export interface TrainerOptions {
  /** The classifier to train (same semantics as `buildClassifier(model, inputShape, seed)`). */
  model: ClassifierSpec;
  inputShape: [number, number, number];
  /** Seeds the initial weights (as `buildClassifier`) and the dropout masks. */
  seed: number;
  /** Adam's step size; the other Adam settings are tfjs' defaults (β1 0.9, β2 0.999, ε 1e-7). */
  learningRate: number;
  /** Data-parallel workers; default 2 when the machine has ≥ 2 cores, else 1 (runs in-thread). */
  workers?: number;
  /**
   * Start from these weights (a `buildClassifier`-shaped model of the same spec, e.g. a pruned one:
   * layers conv1…, bn1…, fc) instead of `buildClassifier`'s seeded init. BN moving statistics too.
   */
  initialWeights?: tf.LayersModel;
  /**
   * 0/1 masks of kernels by layer name (`conv1`, …, `fc`), same length as the kernel: masked
   * weights are set to zero at the start and after every Adam step, so they stay exactly zero.
   */
  masks?: Record<string, Float32Array>;
}

/**
 * Knowledge-distillation targets for one step: the loss becomes
 * alpha·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1−alpha)·CE, batch means.
 */
export interface SoftTargets {
  /** batch × classes teacher logits. */
  teacherLogits: Float32Array;
  temperature: number;
  alpha: number;
}

/**
 * A training session holding the weights, BN moving statistics and Adam state. Batch norm uses
 * whole-batch statistics even when the batch is split over workers; dropout masks come from the
 * seed and step number, so a run is deterministic for a seed and worker count.
 */
export interface Trainer {
  /**
   * One Adam step on a batch: x is NHWC in [0,1] (batch×h×w×3). Returns the batch-mean loss
   * (before the update) and the number of correct predictions in the batch. `learningRate`
   * overrides the session's step size for this step (for schedules).
   */
  trainStep(
    x: Float32Array,
    labels: Int32Array,
    opts?: { soft?: SoftTargets; learningRate?: number },
  ): Promise<{ loss: number; correct: number }>;
  /** Copy the current weights, incl. BN moving statistics, into a `buildClassifier` model. */
  exportTo(model: tf.LayersModel): Promise<void>;
  /** Stop the workers. */
  dispose(): Promise<void>;
}

const MOMENTUM = 0.9; // tfjs-layers BN momentum used by buildClassifier
// Adam as tfjs' defaults: beta1 0.9, beta2 0.999, epsilon 1e-7.
const BETA1 = 0.9, BETA2 = 0.999, ADAM_EPS = 1e-7;

/**
 * Create a trainer; initial weights equal `buildClassifier(spec, inputShape, seed)`'s, or
 * `opts.initialWeights`' when given.
 */
export async function createTrainer(opts: TrainerOptions): Promise<Trainer> {
  await ensureEngine();
  const arch: Arch = {
    inputShape: opts.inputShape,
    channels: [...opts.model.channels],
    classes: opts.model.classes ?? 2,
    dropout: opts.model.dropout,
  };
  const slots = paramLayout(arch);
  const total = slots.reduce((s, p) => s + p.size, 0);
  const w = new Float32Array(total);
  const nb = arch.channels.length;
  const movMean: Float32Array[] = [], movVar: Float32Array[] = [];
  const init = opts.initialWeights ?? buildClassifier(opts.model, opts.inputShape, opts.seed);
  const put = (name: string, t: tf.Tensor) => {
    const s = slots.find((p) => p.name === name)!;
    if (t.size !== s.size) {
      throw new Error(
        `createTrainer: initial weight "${name}" has shape [${t.shape}], expected [${s.shape}]`,
      );
    }
    w.set(t.dataSync() as Float32Array, s.offset);
  };
  for (let i = 1; i <= nb; i++) {
    const [k, b] = init.getLayer(`conv${i}`).getWeights();
    put(`conv${i}/kernel`, k);
    put(`conv${i}/bias`, b);
    const [g, be, mm, mv] = init.getLayer(`bn${i}`).getWeights();
    put(`bn${i}/gamma`, g);
    put(`bn${i}/beta`, be);
    movMean.push(Float32Array.from(mm.dataSync()));
    movVar.push(Float32Array.from(mv.dataSync()));
  }
  const [fk, fb] = init.getLayer("fc").getWeights();
  put("fc/kernel", fk);
  put("fc/bias", fb);
  if (!opts.initialWeights) init.dispose();
  const masks = Object.entries(opts.masks ?? {}).map(([layer, mask]) => {
    const s = slots.find((p) => p.name === `${layer}/kernel`);
    if (!s || s.size !== mask.length) {
      throw new Error(
        `createTrainer: mask "${layer}" does not match a kernel of the model (${mask.length} values)`,
      );
    }
    return { offset: s.offset, mask };
  });
  const applyMasks = () => {
    for (const { offset, mask } of masks) {
      for (let i = 0; i < mask.length; i++) if (mask[i] === 0) w[offset + i] = 0;
    }
  };
  applyMasks();

  const m = new Float32Array(total), v = new Float32Array(total);
  let step = 0;
  const nWorkers = Math.max(1, opts.workers ?? ((navigator.hardwareConcurrency ?? 1) >= 2 ? 2 : 1));
  const workers = nWorkers > 1
    ? Array.from(
      { length: nWorkers },
      () => new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" }),
    )
    : [];
  const [h, wd, ch] = opts.inputShape;
  const feat = arch.channels[nb - 1];
  let broken: Error | undefined;
  // Start the workers' wasm backends now so the first step is not slower than the rest.
  await Promise.all(workers.map((wk) =>
    new Promise<void>((resolve, reject) => {
      wk.onmessage = (e) =>
        e.data.type === "ready" ? resolve() : reject(new Error(`engine worker: ${e.data.message}`));
      wk.onerror = (e) => reject(new Error(`engine worker: ${e.message}`));
      wk.postMessage({ type: "init" });
    })
  )).catch((err) => {
    for (const wk of workers) wk.terminate();
    throw err;
  });

  async function runShards(inputs: ShardInput[]): Promise<ShardOutput[]> {
    if (workers.length === 0) return [await shardStep(arch, w, inputs[0], (_k, s) => Promise.resolve(s))];
    const active = workers.slice(0, inputs.length);
    const partial = new Map<string, Float64Array[]>();
    return await Promise.all(active.map((wk, wi) =>
      new Promise<ShardOutput>((resolve, reject) => {
        wk.onmessage = (e: MessageEvent) => {
          const msg = e.data;
          if (msg.type === "sync") {
            // Sum the shards' partial BN sums in worker order, then broadcast.
            const got = partial.get(msg.key) ?? new Array(active.length);
            got[wi] = msg.v;
            partial.set(msg.key, got);
            if (got.filter((p) => p).length === active.length) {
              const sum = new Float64Array(got[0].length);
              for (const p of got) for (let i = 0; i < sum.length; i++) sum[i] += p[i];
              for (const a of active) a.postMessage({ type: "synced", key: msg.key, v: sum });
            }
          } else if (msg.type === "done") resolve(msg.out);
          else reject(new Error(`engine worker: ${msg.message}`));
        };
        wk.onerror = (e) => reject(new Error(`engine worker: ${e.message}`));
        wk.postMessage({ type: "step", arch, w, input: inputs[wi] });
      })
    ));
  }

  return {
    async trainStep(x, labels, stepOpts = {}) {
      if (broken) throw new Error(`trainer unusable after an earlier worker failure: ${broken.message}`);
      const batch = labels.length;
      if (batch === 0 || x.length !== batch * h * wd * ch) {
        throw new Error(`trainStep: x has ${x.length} values, expected ${batch}×${h}×${wd}×${ch}`);
      }
      if (labels.some((l) => l < 0 || l >= arch.classes)) {
        throw new Error(`trainStep: labels must be in [0, ${arch.classes})`);
      }
      if (stepOpts.soft && stepOpts.soft.teacherLogits.length !== batch * arch.classes) {
        throw new Error(`trainStep: teacherLogits must have batch×${arch.classes} values`);
      }
      step++;
      let dropMask: Float32Array | undefined;
      if (arch.dropout > 0) {
        const rnd = seededRandom(opts.seed * 1000003 + step);
        dropMask = new Float32Array(batch * feat);
        for (let i = 0; i < dropMask.length; i++) {
          dropMask[i] = rnd() < arch.dropout ? 0 : 1 / (1 - arch.dropout);
        }
      }
      const soft = stepOpts.soft;
      const shards = Math.min(Math.max(workers.length, 1), batch);
      const inputs: ShardInput[] = [];
      const img = h * wd * ch, k = arch.classes;
      for (let s = 0; s < shards; s++) {
        const a = Math.floor(batch * s / shards), b = Math.floor(batch * (s + 1) / shards);
        inputs.push({
          x: x.slice(a * img, b * img),
          n: b - a,
          labels: labels.slice(a, b),
          batchTotal: batch,
          dropMask: dropMask?.slice(a * feat, b * feat),
          soft: soft && { ...soft, teacherLogits: soft.teacherLogits.slice(a * k, b * k) },
        });
      }
      const outs = await runShards(inputs).catch((err) => {
        // A failed worker leaves the others waiting on a BN sync: stop them all.
        broken = err;
        for (const wk of workers) wk.terminate();
        throw err;
      });
      let loss = 0, correct = 0;
      const g = new Float64Array(total);
      for (const o of outs) {
        loss += o.loss;
        correct += o.correct;
        for (let i = 0; i < total; i++) g[i] += o.grad[i];
      }
      const lr = stepOpts.learningRate ?? opts.learningRate,
        c1 = 1 - Math.pow(BETA1, step),
        c2 = 1 - Math.pow(BETA2, step);
      for (let i = 0; i < total; i++) {
        m[i] = BETA1 * m[i] + (1 - BETA1) * g[i];
        v[i] = BETA2 * v[i] + (1 - BETA2) * g[i] * g[i];
        w[i] -= lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + ADAM_EPS);
      }
      applyMasks();
      for (let bi = 0; bi < nb; bi++) {
        const bm = outs[0].bnMean[bi], bv = outs[0].bnVar[bi];
        for (let c = 0; c < bm.length; c++) {
          movMean[bi][c] -= (movMean[bi][c] - bm[c]) * (1 - MOMENTUM);
          movVar[bi][c] -= (movVar[bi][c] - bv[c]) * (1 - MOMENTUM);
        }
      }
      return { loss, correct };
    },

    exportTo(model) {
      const get = (name: string) => {
        const s = slots.find((p) => p.name === name)!;
        return tf.tensor(w.slice(s.offset, s.offset + s.size), s.shape);
      };
      const set = (layer: string, ts: tf.Tensor[]) => {
        model.getLayer(layer).setWeights(ts);
        tf.dispose(ts);
      };
      for (let i = 1; i <= nb; i++) {
        set(`conv${i}`, [get(`conv${i}/kernel`), get(`conv${i}/bias`)]);
        set(`bn${i}`, [
          get(`bn${i}/gamma`),
          get(`bn${i}/beta`),
          tf.tensor(movMean[i - 1]),
          tf.tensor(movVar[i - 1]),
        ]);
      }
      set("fc", [get("fc/kernel"), get("fc/bias")]);
      return Promise.resolve();
    },

    dispose() {
      for (const wk of workers) wk.terminate();
      return Promise.resolve();
    },
  };
}
