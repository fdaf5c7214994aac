/** The tasks, by the name the pipeline file uses (`task: classification | segmentation`). */
export type { MetricInfo, Scored, Task } from "./_types.ts";
export { type AnyTask, TASK_NAMES, taskByName, type TaskName } from "./by_name.ts";
export { argmaxRows, classification } from "./classification.ts";
export { better, type PrimaryFields, primaryFields, primaryOf, taskOf, type TaskResults } from "./primary.ts";
export { segmentation } from "./segmentation.ts";
