/** The contract of a loss the engine trains with: its value and its gradient on one shard. */
import type { SyncSum } from "../layers/_types.ts";

/** One shard's model outputs and targets. */
export interface LossInput {
  /** Model outputs: n × per-sample output size. */
  out: Float32Array;
  outShape: number[];
  n: number;
  batchTotal: number;
  /** Class indices (n) or per-output targets (n × output size). */
  targets: Int32Array | Float32Array;
  /** Knowledge-distillation targets for this shard (n × output size), when given. */
  teacher?: Float32Array;
  options: Record<string, number>;
  sync: SyncSum;
}

/** This shard's share of the batch loss and dLoss/dOut. */
export interface LossOutput {
  loss: number;
  dOut: Float32Array;
}

export interface LossKind {
  name: string;
  compute(inp: LossInput): Promise<LossOutput> | LossOutput;
}
