/**
 * Merge every stage's `results.part.json` into artifacts/<profile>/results.json and its CSV
 * twin results.csv (the `rows`, one column per key seen in any row).
 */
import { stringify } from "csv-stringify/sync";
import { writeFileAtomic } from "./atomic_write.ts";
import type { ResultsFile, ResultsPart, StageStatus, TrackView } from "./types.ts";

/** One stage as the merge sees it, in run order. */
export interface StageRecord {
  name: string;
  /** What the stage does, its module's name (train, export, …): its part's key in a track's `extra`. */
  role?: string;
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
 * Build results.json from the stages' parts and write it and results.csv atomically. Each part
 * goes to the track of the task it records (none: classification): models merged, rows
 * concatenated, other keys under `extra[role]`. results.csv holds every track's rows, with a
 * `task` column first. Returns what was written.
 *
 * @throws Error naming both stages when two stages of one role write to the same track.
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
 * assert(res.tracks.classification.rows.length === 1);
 * ```
 */
export async function writeResults(options: WriteResultsOptions): Promise<ResultsFile> {
  const results: ResultsFile = {
    profile: options.profile,
    generated_at: new Date().toISOString(),
    pipeline_file: options.pipelineFile,
    pipeline_sha256: options.pipelineSha256,
    seed: options.seed,
    stages: {},
    tracks: {},
  };
  for (const stage of options.stages) {
    results.stages[stage.name] = {
      status: stage.status,
      ...(stage.summary ? { summary: stage.summary } : {}),
      ...(stage.seconds !== undefined ? { seconds: stage.seconds } : {}),
    };
    const part = stage.out ? await readPart(`${stage.out}/results.part.json`) : undefined;
    if (!part) continue;
    const { rows, models, task, ...rest } = part;
    const name = typeof task === "string" ? task : "classification";
    const track = results.tracks[name] ??= { task: name, stage_names: {}, models: {}, rows: [], extra: {} };
    const role = stage.role ?? stage.name;
    const names = track.stage_names ??= {};
    if (names[role] !== undefined) {
      throw new Error(
        `Stages "${names[role]}" and "${stage.name}" both write the ${role} part of the ${name} track`,
      );
    }
    names[role] = stage.name;
    if (Array.isArray(rows)) track.rows.push(...rows as Record<string, unknown>[]);
    if (models && typeof models === "object") Object.assign(track.models, models);
    if (Object.keys(rest).length > 0) track.extra[role] = rest;
  }
  const allRows = Object.values(results.tracks).flatMap((t) =>
    t.rows.map((row) => ({ task: t.task, ...row }))
  );
  await writeFileAtomic(`${options.artifactsDir}/results.json`, JSON.stringify(results, null, 2) + "\n");
  await writeFileAtomic(`${options.artifactsDir}/results.csv`, rowsToCsv(allRows));
  return results;
}

/**
 * One track of `file` with the file's header (profile, seed, stages), or undefined when no stage
 * recorded that task.
 *
 * @example
 * ```ts
 * import { trackOf } from "./results.ts";
 * const file = { profile: "quick", generated_at: "", pipeline_file: "", pipeline_sha256: "", seed: 1, stages: {},
 *   tracks: { segmentation: { task: "segmentation", stage_names: {}, models: {}, rows: [{ variant: "u" }], extra: {} } } };
 * if (trackOf(file, "segmentation")?.rows.length !== 1 || trackOf(file, "classification")) throw new Error();
 * ```
 */
export function trackOf<R extends object, M extends object, E extends object>(
  file: ResultsFile<R, M, E>,
  task: string,
): TrackView<R, M, E> | undefined {
  const track = file.tracks[task];
  if (!track) return undefined;
  const { tracks: _, ...header } = file;
  return { ...header, ...track };
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
