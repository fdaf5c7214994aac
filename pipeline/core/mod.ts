/**
 * The pipeline runner: validate a pipeline file, run its stages with caching, merge results.
 *
 * @example
 * ```ts ignore
 * import { runPipeline } from "./mod.ts";
 * const report = await runPipeline({ file: "pipeline.yaml", profile: "quick" });
 * console.log(report.statuses);
 * ```
 */
export { type RunOptions, runPipeline, type RunReport } from "./runner.ts";
export { loadPipeline, type PipelineConfig, PipelineConfigError, type StageConfig } from "./config.ts";
export { createLogger, createProgress } from "./progress.ts";
export { writeResults } from "./results.ts";
export type * from "./types.ts";
