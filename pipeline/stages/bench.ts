/**
 * Stage "bench": latency (mean, p50, p90, std), FPS and accuracy of every exported model.
 * Not implemented yet: the runner reports it as "not_implemented" and runs downstream stages.
 */
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";

/** Params of the bench stage. */
export const paramsSchema = z.strictObject({
  /** Untimed runs before measuring. */
  warmup: z.int().min(0).default(10),
  /** Timed runs per model. */
  runs: z.int().min(1).default(100),
  /** Thread counts to measure. */
  threads: z.array(z.int().min(1)).default([1, 2]),
});

/** Read by the runner: this stage is declared but not written yet. */
export const implemented = false;

/** Not implemented yet; the runner never calls it while `implemented` is false. */
export function run(_ctx: StageContext<z.infer<typeof paramsSchema>>): Promise<StageResult> {
  return Promise.reject(new Error("stage bench is not implemented yet"));
}
