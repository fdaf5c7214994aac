/** The tasks, by the name the pipeline file uses (`task: classification | segmentation`). */
export type { MetricInfo, Scored, Task } from "./_types.ts";
export { argmaxRows, classification } from "./classification.ts";
export { segmentation } from "./segmentation.ts";
