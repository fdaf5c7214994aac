/**
 * Reading artifacts/<profile>/results.json, the only source of the report's numbers.
 *
 * The check is deliberately loose: the top-level keys must have the right kinds, while the
 * inside of stage summaries and `extra` may take any shape (the report shows what is there).
 */
import { z } from "zod";
import { trackOf } from "../core/results.ts";
import type { Results, ResultsOnDisk } from "../stages/parts.ts";

const STATUS = z.enum(["done", "cached", "not_implemented", "failed", "missing"]);

const resultsSchema = z.looseObject({
  profile: z.string(),
  generated_at: z.string().optional(),
  pipeline_file: z.string().optional(),
  pipeline_sha256: z.string().optional(),
  seed: z.number().optional(),
  stages: z.record(
    z.string(),
    z.looseObject({
      status: STATUS,
      summary: z.record(z.string(), z.unknown()).optional(),
      seconds: z.number().optional(),
    }),
  ).default({}),
  tracks: z.record(
    z.string(),
    z.looseObject({
      task: z.string(),
      stage_names: z.record(z.string(), z.string()).default({}),
      models: z.record(z.string(), z.looseObject({})).default({}),
      rows: z.array(z.looseObject({})).default([]),
      extra: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    }),
  ).default({}),
});

/**
 * Read and check results.json at `path`, and return the track of `task` (with the file's header).
 * A file without that track gives an empty one (the report then shows what is missing).
 *
 * @throws Error naming the path when the file is missing, is not JSON, or has the wrong shape.
 */
export async function loadResults(path: string, task = "classification"): Promise<Results> {
  const file = await loadResultsFile(path);
  return trackOf(file, task) ?? { ...file, task, stage_names: {}, models: {}, rows: [], extra: {} };
}

/**
 * Read and check results.json at `path`: every track.
 *
 * @throws Error naming the path when the file is missing, is not JSON, or has the wrong shape.
 */
export async function loadResultsFile(path: string): Promise<ResultsOnDisk> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot build the report: results file "${path}" does not exist; run the upstream stages first`,
      );
    }
    throw new Error(`Cannot read results file "${path}": ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot parse results file "${path}": ${(err as Error).message}`);
  }
  const parsed = resultsSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`Results file "${path}" has an unexpected shape: ${issues.join("; ")}`);
  }
  return parsed.data as unknown as ResultsOnDisk;
}
