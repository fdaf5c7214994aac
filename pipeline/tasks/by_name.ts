/** Looking a task up by the name the pipeline file, results.json and the stages' parts record. */
import type { Task } from "./_types.ts";
import { classification } from "./classification.ts";
import { segmentation } from "./segmentation.ts";

/** Names of the tasks. */
export type TaskName = Task<Int32Array | Float32Array>["name"];

/** Every task name. */
export const TASK_NAMES: readonly TaskName[] = ["classification", "segmentation"];

/** A task of either kind. */
export type AnyTask = Task<Int32Array> | Task<Float32Array>;

/**
 * The task called `name`, with its default settings (classification's positive class is 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskByName } from "./by_name.ts";
 * assert(taskByName("segmentation").primary.name === "dice");
 * ```
 * @throws Error quoting `name` when no task has it.
 */
export function taskByName(name: string): AnyTask {
  if (name === "classification") return classification();
  if (name === "segmentation") return segmentation();
  throw new Error(`Unknown task "${name}": expected one of ${TASK_NAMES.join(", ")}`);
}
