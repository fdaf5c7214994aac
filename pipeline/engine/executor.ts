/**
 * Forward and backward of a `GraphSpec` on one shard of a batch, through the layer-kind table.
 * Runs in a data-parallel worker (or the main thread with one worker); what must be summed over
 * the whole batch (batch-norm statistics, Dice) goes through `sync`, so any split of the batch
 * computes the same function. Gradients are this shard's share (the trainer adds the shards).
 */
import type { GraphSpec } from "./graph.ts";
import { LAYER_KINDS, type StepContext, type SyncSum } from "./layers/mod.ts";
import type { Forward } from "./layers/_types.ts";
import { Arena, NO_ARENA } from "./_arena.ts";
import { LOSSES, type LossName } from "./losses/mod.ts";
import type { NativeKernels } from "./native/mod.ts";

/** How a shard runs: train (forward + backward), infer (moving statistics), or stats (batch statistics only). */
export type ShardMode = "train" | "infer" | "stats";

/** One shard's inputs. */
export interface ShardInput {
  mode: ShardMode;
  x: Float32Array;
  n: number;
  batchTotal: number;
  targets?: Int32Array | Float32Array;
  teacher?: Float32Array;
  loss?: { name: LossName; options: Record<string, number> };
  dropMasks?: Record<string, Float32Array>;
}

/** One shard's outputs: loss and gradient are additive across shards. */
export interface ShardOutput {
  loss: number;
  grad?: Float32Array;
  /** Model outputs of the shard's samples (n × output size). */
  out: Float32Array;
  /** Batch statistics measured by layers (same on every shard), by layer name. */
  state: Record<string, Float32Array[]>;
}

/** This thread's training-step buffers (a worker runs one shard at a time). */
const arena = new Arena();

/** The weights of node i as views into the flat vectors (plan order). */
function nodeWeights(g: GraphSpec, i: number, trainable: Float32Array, state: Float32Array): Float32Array[] {
  return g.nodes[i].weights.map((s) =>
    (s.trainable ? trainable : state).subarray(s.offset, s.offset + s.size)
  );
}

/** Run one shard. */
export async function runShard(
  g: GraphSpec,
  trainable: Float32Array,
  state: Float32Array,
  inp: ShardInput,
  sync: SyncSum,
  kernels: NativeKernels,
): Promise<ShardOutput> {
  const ctx: StepContext = {
    n: inp.n,
    batchTotal: inp.batchTotal,
    training: inp.mode !== "infer",
    sync,
    kernels,
    alloc: inp.mode === "train" ? arena : NO_ARENA,
    dropMasks: inp.mode === "train" ? inp.dropMasks ?? {} : {},
    state: {},
  };
  const fwd: Forward[] = [];
  const valueOf = (i: number) => i < 0 ? inp.x : fwd[i].out;
  // Without a backward, a value is dropped after its last consumer ran (bounds memory on big sets).
  const lastUse = new Array(g.nodes.length).fill(-1);
  g.nodes.forEach((nd, i) => nd.inputs.forEach((j) => j >= 0 && (lastUse[j] = i)));
  for (let i = 0; i < g.nodes.length; i++) {
    const kind = LAYER_KINDS.get(g.nodes[i].className)!;
    fwd.push(
      await kind.forward(
        g.nodes[i],
        g.nodes[i].inputs.map(valueOf),
        nodeWeights(g, i, trainable, state),
        ctx,
      ),
    );
    if (inp.mode === "train") continue;
    for (const j of g.nodes[i].inputs) {
      if (j >= 0 && j !== g.output && lastUse[j] === i) fwd[j] = { out: new Float32Array(0) };
    }
  }
  if (inp.mode !== "train") return { loss: 0, out: fwd[g.output].out, state: ctx.state };
  const out = fwd[g.output].out.slice(); // the arena's copy is reused next step

  const loss = await LOSSES[inp.loss!.name].compute({
    out,
    outShape: g.nodes[g.output].outShape,
    n: inp.n,
    batchTotal: inp.batchTotal,
    targets: inp.targets!,
    teacher: inp.teacher,
    options: inp.loss!.options,
    sync,
  });
  const grad = new Float32Array(g.trainableSize);
  // A node's output gradient is the sum over its consumers; inputs that need none are skipped.
  const needs = needsGradient(g);
  const dOut: (Float32Array | undefined)[] = new Array(g.nodes.length);
  dOut[g.output] = loss.dOut;
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i], d = dOut[i];
    if (!d) continue;
    const kind = LAYER_KINDS.get(node.className)!;
    const dW = node.weights.filter((s) => s.trainable).map((s) => grad.subarray(s.offset, s.offset + s.size));
    const inputs = node.inputs.map(valueOf);
    const dIns = await kind.backward(
      node,
      d,
      fwd[i],
      inputs,
      nodeWeights(g, i, trainable, state),
      dW,
      node.inputs.map((j) => j >= 0 && needs[j]),
      ctx,
    );
    node.inputs.forEach((j, k) => {
      const dIn = dIns[k];
      if (j < 0 || !dIn) return;
      const prev = dOut[j];
      if (!prev) dOut[j] = dIn;
      else for (let t = 0; t < prev.length; t++) prev[t] += dIn[t];
    });
    dOut[i] = undefined;
    (fwd[i] as { cache?: unknown }).cache = undefined;
  }
  arena.reset();
  return { loss: loss.loss, grad, out, state: ctx.state };
}

/** needs[i]: node i's output gradient is needed (it or a node before it has trainable weights). */
function needsGradient(g: GraphSpec): boolean[] {
  const needs: boolean[] = [];
  g.nodes.forEach((nd, i) => {
    needs[i] = nd.weights.some((w) => w.trainable) || nd.inputs.some((j) => j >= 0 && needs[j]);
  });
  return needs;
}
