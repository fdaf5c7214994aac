/**
 * What the stages hand to each other and to the report, typed: the row every stage writes, and
 * results.json as its readers see it. Each stage's own part type is defined beside the stage
 * (`TrainPart`, `CompressPart`, `ExportPart`, `BenchPart`) and re-exported here; the writer and
 * every reader import the same type, so no field is looked up by a string key.
 */
import type { ResultsFile, TrackView } from "../core/types.ts";
import type { ModelRecord } from "../tasks/classification_records.ts";
import type { PrimaryFields } from "../tasks/primary.ts";
import type { BenchMeasures, BenchPart } from "./bench.ts";
import type { LivePart } from "./live.ts";
import type { CompressFacts, CompressPart } from "./compress.ts";
import type { ExportPart } from "./export.ts";
import type { TrainPart } from "./train.ts";

export type { BenchMeasures, BenchPart } from "./bench.ts";
export type { Comparison, CompressFacts, CompressPart } from "./compress.ts";
export type { ExportPart, ExportRecord } from "./export.ts";
export type { SamplePrediction, TrainPart } from "./train.ts";

/** Fields every row has: the variant, how big it is, and where it ran. */
export interface RowBase {
  variant: string;
  technique: string;
  params_total?: number;
  params_zero?: number;
  params_nonzero?: number;
  params_tfjs?: number;
  /** float32 weights in bytes (params_total × 4). */
  weight_bytes?: number;
  /** MACs × 2. */
  flops?: number;
  size_bytes?: number;
  runtime?: string;
  format?: string;
  device?: string;
  threads?: number;
}

/**
 * One row of results.json (and one line of results.csv): a model variant × format × device.
 * Fields a stage cannot fill are left out (never zero-filled); the task's metric is `accuracy`
 * (classification) or `dice` (segmentation), read through `primaryOf`.
 */
export interface ResultRow extends RowBase, PrimaryFields, Partial<CompressFacts>, Partial<BenchMeasures> {}

/** `T` with every field optional, all the way down: what a reader may find in an older results.json. */
export type Loose<T> = {
  [K in keyof T]?: NonNullable<T[K]> extends object ? Loose<NonNullable<T[K]>> : T[K];
};

/**
 * The parts' other keys, by stage, as results.json `extra` holds them (fetch's is free-form).
 * Loose, as the report reads them: a field a stage did not write yet is shown as missing.
 */
export interface StageExtras {
  fetch?: Record<string, unknown>;
  train?: Loose<Omit<TrainPart, "task" | "rows" | "models">>;
  compress?: Loose<Omit<CompressPart, "task" | "rows" | "models">>;
  export?: Loose<Omit<ExportPart, "task">>;
  bench?: Loose<Omit<BenchPart, "task" | "rows">>;
  live?: Omit<LivePart, "task">;
  [stage: string]: Record<string, unknown> | undefined;
}

/** One track of results.json with its rows, models and stage extras typed (see `trackOf`). */
export type Results = TrackView<ResultRow, ModelRecord, StageExtras>;

/** results.json as written, every track typed as `Results` reads it. */
export type ResultsOnDisk = ResultsFile<ResultRow, ModelRecord, StageExtras>;
