/**
 * The contract of one layer kind in the general engine: how its tfjs-layers config becomes a
 * plan (output shape, weights), and its forward and backward on one shard of a batch.
 * Shapes are per sample (NHWC without N); arrays hold `n` samples back to back.
 * Layer code runs in the data-parallel workers: plain TypeScript plus the native kernels, no tfjs.
 */
import type { Allocator } from "../_arena.ts";
import type { NativeKernels } from "../native/mod.ts";

/** A layer's JSON config as `layer.getConfig()` gives it. */
export type LayerConfig = Record<string, unknown>;

/** One weight of a layer, in the order of the tfjs layer's `getWeights()`. */
export interface WeightSpec {
  /** Short name within the layer ("kernel", "bias", "gamma", "moving_mean", ...). */
  name: string;
  shape: number[];
  /** false for state the optimiser does not touch (batch-norm moving statistics). */
  trainable: boolean;
}

/** What a layer kind makes of a config and its input shapes. */
export interface LayerPlan {
  outShape: number[];
  weights: WeightSpec[];
}

/** Sums `v` element-wise over all shards of the batch (fixed shard order); identity for one shard. */
export type SyncSum = (key: string, v: Float64Array) => Promise<Float64Array>;

/** Per-step context shared by every layer of one shard. */
export interface StepContext {
  /** Samples in this shard. */
  n: number;
  /** Samples in the whole batch: losses and gradients are means over it. */
  batchTotal: number;
  training: boolean;
  sync: SyncSum;
  kernels: NativeKernels;
  /** Step-scoped arrays: `f32` for outputs a layer overwrites whole, `zeros` for ones it accumulates into. */
  alloc: Allocator;
  /** Dropout multipliers for this shard, by layer name (n × per-sample size). */
  dropMasks: Record<string, Float32Array>;
  /** State a layer measured (batch-norm batch mean / variance), by layer name; same on every shard. */
  state: Record<string, Float32Array[]>;
}

/** One node as the executor hands it to its kind. */
export interface NodeInfo {
  name: string;
  config: LayerConfig;
  inShapes: number[][];
  outShape: number[];
}

/** Result of a forward: the output and whatever the backward needs. */
export interface Forward {
  out: Float32Array;
  cache?: unknown;
}

/** A layer kind: one entry of the table in `mod.ts`. */
export interface LayerKind {
  /** tfjs-layers class names it implements, e.g. ["Conv2D"]. */
  classNames: string[];
  /** Check the config (throw naming the field and value) and compute the plan. */
  plan(config: LayerConfig, inShapes: number[][]): LayerPlan;
  forward(
    node: NodeInfo,
    inputs: Float32Array[],
    weights: Float32Array[],
    ctx: StepContext,
  ): Promise<Forward> | Forward;
  /**
   * Gradients: fills `dWeights` (zeroed, one per trainable weight in plan order) and returns the
   * gradient of each input, or null where `needInput[i]` is false.
   */
  backward(
    node: NodeInfo,
    dOut: Float32Array,
    fwd: Forward,
    inputs: Float32Array[],
    weights: Float32Array[],
    dWeights: Float32Array[],
    needInput: boolean[],
    ctx: StepContext,
  ): Promise<(Float32Array | null)[]> | (Float32Array | null)[];
}

/** Config field accessors that fail with the layer's field name and value. */
export function field<T>(
  config: LayerConfig,
  name: string,
  ok: (v: unknown) => boolean,
  expected: string,
): T {
  const v = config[name];
  if (!ok(v)) throw new Error(`field "${name}" is ${JSON.stringify(v)}, expected ${expected}`);
  return v as T;
}

/** A pair [a, b] from a number or a 2-array (kernelSize, strides, poolSize, size). */
export function pair(config: LayerConfig, name: string, fallback?: number): [number, number] {
  const v = config[name] ?? fallback;
  if (typeof v === "number" && Number.isInteger(v) && v > 0) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x > 0)) return [v[0], v[1]];
  throw new Error(`field "${name}" is ${JSON.stringify(v)}, expected a positive integer or a pair of them`);
}

/** Product of a shape. */
export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
