/**
 * Reading a run's primary metric: the task a results set records, and one typed accessor for the
 * task's primary metric of a row. Ranking, comparing, plotting and concluding go through these,
 * so nothing outside a task reads `accuracy` (or `dice`) by name.
 */
import type { MetricInfo } from "./_types.ts";
import { type AnyTask, taskByName } from "./by_name.ts";

/** What {@linkcode taskOf} reads: a results.json or a stage's part. */
export interface TaskResults {
  /** Task name; absent in results written before the task was recorded (those are classification). */
  task?: string;
}

/** The task's metric fields a row may carry: each task's primary, by name. */
export interface PrimaryFields {
  /** Classification's primary metric (test split). */
  accuracy?: number;
  /** Segmentation's primary metric (test split). */
  dice?: number;
}

/**
 * The task a results set records; classification when it records none (older results).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskOf } from "./primary.ts";
 * assert(taskOf({}).primary.name === "accuracy" && taskOf({ task: "segmentation" }).primary.name === "dice");
 * ```
 * @throws Error quoting the name when it is not a known task.
 */
export function taskOf(results: TaskResults): AnyTask {
  return taskByName(results.task ?? "classification");
}

/**
 * The primary metric of `row` under `task` (the task's `primary.name` field), when it is a finite number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { primaryOf } from "./primary.ts";
 * import { segmentation } from "./segmentation.ts";
 * assert(primaryOf({ dice: 0.47, accuracy: 0.9 }, segmentation()) === 0.47);
 * assert(primaryOf({ accuracy: 0.9 }, segmentation()) === undefined);
 * ```
 */
export function primaryOf(
  row: PrimaryFields | undefined,
  task: { primary: MetricInfo },
): number | undefined {
  const v = row?.[task.primary.name as keyof PrimaryFields];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * `a` is better than `b` on the task's primary metric (strictly).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { better } from "./primary.ts";
 * assert(better(0.9, 0.8, { name: "dice", higherIsBetter: true }));
 * ```
 */
export function better(a: number, b: number, primary: MetricInfo): boolean {
  return primary.higherIsBetter ? a > b : a < b;
}

/**
 * The row fields that record `value` as the task's primary metric: `{ accuracy }` or `{ dice }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { primaryFields } from "./primary.ts";
 * assert(JSON.stringify(primaryFields({ primary: { name: "dice", higherIsBetter: true } }, 0.5)) === '{"dice":0.5}');
 * ```
 */
export function primaryFields(task: { primary: MetricInfo }, value: number | undefined): PrimaryFields {
  return value === undefined ? {} : { [task.primary.name]: value };
}
