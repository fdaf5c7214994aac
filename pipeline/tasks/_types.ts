/**
 * A task owns what "good" means for a model: the loss it trains with, the metrics it reports and
 * the one primary metric that early stopping, Pareto fronts, tables and conclusions read. Stages
 * and the report ask the task; nothing outside a task reads a metric by name.
 */
import type { LossName } from "../engine/losses/mod.ts";

/** A metric's name and which way is better. */
export interface MetricInfo {
  name: string;
  higherIsBetter: boolean;
}

/** Model outputs and targets of a set of samples, as flat arrays. */
export interface Scored {
  /** The task's loss on these samples (the training loss formula, as a mean). */
  loss: number;
  /** Every metric of the task, by name; includes the primary one. */
  metrics: Record<string, number>;
}

export interface Task<Target extends Int32Array | Float32Array> {
  name: "classification" | "segmentation";
  /** The engine loss it trains with. */
  loss: LossName;
  primary: MetricInfo;
  /** All metrics it reports, primary first. */
  metrics: MetricInfo[];
  /** Loss and metrics of `outputs` (n × output size) against `targets`. */
  score(outputs: Float32Array, targets: Target, n: number): Scored;
}
