/**
 * The stage contract shared by the runner and every stage module.
 *
 * A stage module exports `paramsSchema` (zod) and a pure `run(ctx)`. It writes
 * everything into `ctx.outDir` (a temp folder); the runner renames that folder
 * into place only when `run` resolves, so a killed run never leaves half an artifact.
 */
import type { z } from "zod";

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** A progress bar on a terminal, plain log lines otherwise. */
export interface Progress {
  /** Advance by `n` (default 1) and show the given fields (loss, acc, ...). */
  tick(n?: number, fields?: Record<string, string | number>): void;
  /** Finish the bar (prints a final line). */
  done(fields?: Record<string, string | number>): void;
}

export interface StageContext<P = Record<string, unknown>> {
  /** Stage name as in the pipeline file, e.g. "train". */
  name: string;
  /** Profile name, e.g. "quick". */
  profile: string;
  /** This stage's params after the profile's overrides, validated by `paramsSchema`. */
  params: P;
  /** Global seed of the profile. */
  seed: number;
  /** Absolute path of the repository root. */
  root: string;
  /** Temp folder to write outputs into; renamed to the stage's out folder on success. */
  outDir: string;
  /**
   * A folder that outlives an interrupted run with the same inputs: a long stage keeps finished
   * pieces and checkpoints here to resume from; the runner removes it when the stage succeeds.
   */
  resumeDir?: string;
  /** Finished out folders of upstream stages, by stage name. */
  depDirs: Record<string, string>;
  /** The profile's artifacts folder (artifacts/<profile>), where results.json lives. */
  artifactsDir: string;
  /** Persistent cache folder (git-ignored, survives across runs), e.g. data/cache. */
  cacheDir: string;
  /**
   * `--force` was given for this stage: also redo what it caches outside its out folder (bench:
   * the device results). @default false
   */
  force?: boolean;
  log: Logger;
  progress(label: string, total: number, unit?: string): Progress;
}

/** What `run` resolves to; `summary` is printed and stored in results.json. */
export interface StageResult {
  summary: Record<string, unknown>;
}

export interface StageModule<P = Record<string, unknown>> {
  paramsSchema: z.ZodType<P>;
  run(ctx: StageContext<P>): Promise<StageResult>;
}

/** A stage's status as recorded in results.json. */
export type StageStatus = "done" | "cached" | "not_implemented" | "failed" | "missing";

/**
 * What a stage may write to `<outDir>/results.part.json`; the runner merges every
 * stage's part into artifacts/<profile>/results.json (and results.csv for `rows`).
 */
export interface ResultsPart {
  /** The task the stage's numbers are for ("classification", …); results.json records it once. */
  task?: string;
  /** Rows of results.json; their type is the writing stage's (see pipeline/stages/parts.ts). */
  rows?: object[];
  /** Trained model records, by variant name; their type is the task's. */
  models?: Record<string, object>;
  [extra: string]: unknown;
}

/**
 * One track of results.json: the numbers of one task (classification, segmentation), merged from
 * the parts of the stages that recorded that task. `extra` is keyed by the stage's role (its
 * module's name: train, compress, export, bench), so a reader finds `extra.train` in either track.
 */
export interface TrackResults<
  Row extends object = Record<string, unknown>,
  Model extends object = object,
  Extra extends object = Record<string, Record<string, unknown>>,
> {
  task: string;
  /** The stages (by name in the pipeline file) whose parts made this track, by role. */
  stage_names?: Record<string, string>;
  models: Record<string, Model>;
  rows: Row[];
  /** Any other keys of the stages' parts, by stage role. */
  extra: Extra;
}

/**
 * artifacts/<profile>/results.json: the single source of every number in the report. The runner
 * merges it without knowing the rows' and models' types; readers name them (`Results` in
 * pipeline/stages/parts.ts is the typed view of one track).
 */
export interface ResultsFile<
  Row extends object = Record<string, unknown>,
  Model extends object = object,
  Extra extends object = Record<string, Record<string, unknown>>,
> {
  profile: string;
  generated_at: string;
  pipeline_file: string;
  pipeline_sha256: string;
  seed: number;
  stages: Record<string, { status: StageStatus; summary?: Record<string, unknown>; seconds?: number }>;
  /** By task name; a part that records no task belongs to "classification". */
  tracks: Record<string, TrackResults<Row, Model, Extra>>;
}

/** One track with the file's header: what a report section or a notebook reads. */
export type TrackView<
  Row extends object = Record<string, unknown>,
  Model extends object = object,
  Extra extends object = Record<string, Record<string, unknown>>,
> = Omit<ResultsFile<Row, Model, Extra>, "tracks"> & TrackResults<Row, Model, Extra>;
