/**
 * Stage "export": write the trained and compressed models in deployable formats (tfjs, ONNX, ...).
 * Not implemented yet: the runner reports it as "not_implemented" and runs downstream stages.
 */
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";

/** Params of the export stage. */
export const paramsSchema = z.strictObject({
  /** Formats to write. */
  formats: z.array(z.enum(["tfjs", "onnx", "tflite"])).default(["tfjs", "onnx"]),
});

/** Read by the runner: this stage is declared but not written yet. */
export const implemented = false;

/** Not implemented yet; the runner never calls it while `implemented` is false. */
export function run(_ctx: StageContext<z.infer<typeof paramsSchema>>): Promise<StageResult> {
  return Promise.reject(new Error("stage export is not implemented yet"));
}
