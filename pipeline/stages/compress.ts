/**
 * Stage "compress": channel pruning (30/50/70 %) and distillation variants of the trained models.
 * Not implemented yet: the runner reports it as "not_implemented" and runs downstream stages.
 */
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";

/** Params of the compress stage. */
export const paramsSchema = z.strictObject({
  /** Fractions of channels to remove, e.g. [0.3, 0.5, 0.7] as in the seed. */
  prune_ratios: z.array(z.number().min(0).max(1)).default([0.3, 0.5, 0.7]),
  /** Fine-tuning epochs after pruning. */
  finetune_epochs: z.int().min(0).default(0),
});

/** Read by the runner: this stage is declared but not written yet. */
export const implemented = false;

/** Not implemented yet; the runner never calls it while `implemented` is false. */
export function run(_ctx: StageContext<z.infer<typeof paramsSchema>>): Promise<StageResult> {
  return Promise.reject(new Error("stage compress is not implemented yet"));
}
