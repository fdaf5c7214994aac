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
  /** Finished out folders of upstream stages, by stage name. */
  depDirs: Record<string, string>;
  /** The profile's artifacts folder (artifacts/<profile>), where results.json lives. */
  artifactsDir: string;
  /** Persistent cache folder (git-ignored, survives across runs), e.g. data/cache. */
  cacheDir: string;
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

/**
 * One row of results.json: a model variant × format × device.
 * Fields a stage cannot fill yet are left out (never zero-filled).
 */
export interface ResultRow {
  variant: string;
  technique: string;
  params_total?: number;
  params_zero?: number;
  params_nonzero?: number;
  params_tfjs?: number;
  flops?: number;
  size_bytes?: number;
  accuracy?: number;
  dice?: number;
  latency_ms_mean?: number;
  latency_ms_p50?: number;
  latency_ms_p90?: number;
  latency_ms_std?: number;
  fps?: number;
  runtime?: string;
  format?: string;
  device?: string;
  threads?: number;
  [extra: string]: unknown;
}

/** A stage's status as recorded in results.json. */
export type StageStatus = "done" | "cached" | "not_implemented" | "failed" | "missing";

/** Per-epoch training record. */
export interface EpochRecord {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_loss: number;
  val_acc: number;
  seconds: number;
}

/** Test-split metrics of a classifier; confusion[i][j] = count of true class i predicted as j. */
export interface ClassifierMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: number[][];
  classes: string[];
  /** Which class precision/recall/F1 are computed for. */
  positive_class: string;
}

export interface ModelRecord {
  technique: string;
  spec: Record<string, unknown>;
  params_torch: number;
  params_tfjs: number;
  history: EpochRecord[];
  best_epoch: number;
  stopped_early: boolean;
  train_seconds: number;
  test: ClassifierMetrics;
  /** Path of the saved tfjs model, relative to the stage's out folder. */
  checkpoint: string;
}

/**
 * What a stage may write to `<outDir>/results.part.json`; the runner merges every
 * stage's part into artifacts/<profile>/results.json (and results.csv for `rows`).
 */
export interface ResultsPart {
  rows?: ResultRow[];
  models?: Record<string, ModelRecord>;
  [extra: string]: unknown;
}

/** artifacts/<profile>/results.json: the single source of every number in the report. */
export interface ResultsFile {
  profile: string;
  generated_at: string;
  pipeline_file: string;
  pipeline_sha256: string;
  seed: number;
  stages: Record<string, { status: StageStatus; summary?: Record<string, unknown>; seconds?: number }>;
  models: Record<string, ModelRecord>;
  rows: ResultRow[];
  /** Any other keys of the stages' parts, by stage name. */
  extra: Record<string, Record<string, unknown>>;
}
