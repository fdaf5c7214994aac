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
