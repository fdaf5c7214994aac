/**
 * Merge every stage's `results.part.json` into artifacts/<profile>/results.json and its CSV
 * twin results.csv (the `rows`, one column per key seen in any row).
 */
import { stringify } from "csv-stringify/sync";
import { writeFileAtomic } from "./atomic_write.ts";
import type { ResultsFile, ResultsPart, StageStatus } from "./types.ts";

/** One stage as the merge sees it, in run order. */
export interface StageRecord {
  name: string;
  status: StageStatus;
  summary?: Record<string, unknown>;
  seconds?: number;
  /** Out folder to read `results.part.json` from; left out when the stage has no out. */
  out?: string;
}

/** Options of {@linkcode writeResults}. */
export interface WriteResultsOptions {
  /** artifacts/<profile>: results.json and results.csv are written here. */
  artifactsDir: string;
  profile: string;
  pipelineFile: string;
  pipelineSha256: string;
  seed: number;
  stages: StageRecord[];
}

/**
 * Build results.json from the stages' parts (models merged, rows concatenated, the `task` they
 * record lifted to the top, other keys under `extra[stage]`) and write it and results.csv
 * atomically. Returns what was written.
 *
 * @throws Error naming both stages when two parts record different tasks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeResults } from "./results.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/results.part.json`, JSON.stringify({ rows: [{ variant: "a", technique: "kd" }] }));
 * const res = await writeResults({
 *   artifactsDir: dir, profile: "quick", pipelineFile: "pipeline.yaml", pipelineSha256: "0", seed: 1,
 *   stages: [{ name: "train", status: "done", out: dir }],
 * });
 * assert(res.rows.length === 1);
 * ```
 */
export async function writeResults(options: WriteResultsOptions): Promise<ResultsFile> {
  const results: ResultsFile = {
    profile: options.profile,
    generated_at: new Date().toISOString(),
    pipeline_file: options.pipelineFile,
    pipeline_sha256: options.pipelineSha256,
    seed: options.seed,
    task: undefined,
    stages: {},
    models: {},
    rows: [],
    extra: {},
  };
  let taskFrom = "";
  for (const stage of options.stages) {
    results.stages[stage.name] = {
      status: stage.status,
      ...(stage.summary ? { summary: stage.summary } : {}),
      ...(stage.seconds !== undefined ? { seconds: stage.seconds } : {}),
    };
    const part = stage.out ? await readPart(`${stage.out}/results.part.json`) : undefined;
    if (!part) continue;
    const { rows, models, task, ...rest } = part;
    if (typeof task === "string") {
      if (results.task !== undefined && results.task !== task) {
        throw new Error(
          `Stage "${stage.name}" records task "${task}" but stage "${taskFrom}" recorded "${results.task}"`,
        );
      }
      results.task = task;
      taskFrom = stage.name;
    }
    if (Array.isArray(rows)) results.rows.push(...rows as Record<string, unknown>[]);
    if (models && typeof models === "object") Object.assign(results.models, models);
    if (Object.keys(rest).length > 0) results.extra[stage.name] = rest;
  }
  await writeFileAtomic(`${options.artifactsDir}/results.json`, JSON.stringify(results, null, 2) + "\n");
  await writeFileAtomic(`${options.artifactsDir}/results.csv`, rowsToCsv(results.rows));
  return results;
}

/** CSV of `rows`: columns are the union of keys in first-seen order; nested values as JSON. */
export function rowsToCsv(rows: object[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) if (!seen.has(key)) seen.add(key), columns.push(key);
  }
  if (columns.length === 0) return "";
  const records = rows.map((row) =>
    columns.map((c) => {
      const v = (row as Record<string, unknown>)[c];
      if (v === undefined || v === null) return "";
      return typeof v === "object" ? JSON.stringify(v) : String(v);
    })
  );
  return stringify([columns, ...records]);
}

async function readPart(path: string): Promise<ResultsPart | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as ResultsPart;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read "${path}": ${(e as Error).message}`);
  }
}
