/**
 * The segmentation track of results.json as the report's U-Net section reads it: one row per
 * trained variant (and one per fp16 / int8 / TFLite file of it), each with its batch-1 latency on
 * every device the bench measured, and the best Dice per parameter and per millisecond.
 * Everything is read defensively: a field no stage wrote stays undefined and is shown as missing.
 */
import type { TrackView } from "../core/types.ts";
import type { ResultRow } from "../stages/parts.ts";
import type { MaskPredictions, SegModelRecord } from "../tasks/segmentation_records.ts";
import { isRecord, num } from "./variants.ts";

/** A segmentation row: the common row plus the task's other metrics. */
export interface SegRow extends ResultRow {
  iou?: number;
  pixel_accuracy?: number;
  soft_dice?: number;
  /** Combined loss BCE + (1 − soft Dice) on the test split. */
  loss?: number;
  input_size?: number;
}

/** A trained U-Net as results.json may hold it (`step_ms`: training ms per step, if a stage records it). */
export type SegModel = Partial<SegModelRecord> & { step_ms?: number };

/** The stages' other keys, by role, of unknown shape. */
export type SegExtras = Record<string, Record<string, unknown> | undefined>;

/** The segmentation track with the file's header. */
export type SegTrack = TrackView<SegRow, SegModel, SegExtras>;

/** Formats that compute in float32: the trained model's own row shows the first one measured. */
export const FP32_FORMATS = ["onnx-fp32", "tfjs", "tflite-fp32"] as const;

/** Order of the other formats' rows under their variant. */
const FORMAT_ORDER = ["onnx-fp16", "onnx-int8", "tflite-fp16", "tflite-int8"];

/** One row of the lightweight-techniques table. */
export interface SegTableRow {
  variant: string;
  technique: string;
  /** "fp32" for the trained model (its metrics are the training stage's), else the file's format. */
  format: string;
  /** The variant's training / compression facts (params, FLOPs, training time). */
  facts: SegRow;
  size_bytes?: number;
  dice?: number;
  iou?: number;
  loss?: number;
  train_seconds?: number;
  /** Batch-1 measurement per device (fewest threads), when the bench measured this row's format there. */
  measured: Record<string, SegRow | undefined>;
}

/** Rows with a measured latency. */
function benchRows(track: SegTrack): SegRow[] {
  return (track.rows ?? []).filter((r) => num(r.latency_ms_mean) !== undefined);
}

/** Devices the bench measured, in order of appearance. */
export function segDevices(track: SegTrack): string[] {
  return [...new Set(benchRows(track).map((r) => String(r.device ?? "local")))];
}

/**
 * The measured rows of `device`, each variant × format at its fewest threads (batch 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowsOnDevice } from "./segmentation_data.ts";
 * const row = (threads: number, ms: number) =>
 *   ({ variant: "u", technique: "reference", format: "onnx-fp32", device: "pi", threads, latency_ms_mean: ms });
 * const track = { rows: [row(4, 30), row(1, 90)] } as unknown as Parameters<typeof rowsOnDevice>[0];
 * assert.equal(rowsOnDevice(track, "pi")[0].latency_ms_mean, 90);
 * ```
 */
export function rowsOnDevice(track: SegTrack, device: string): SegRow[] {
  const rows = benchRows(track).filter((r) => String(r.device ?? "local") === device);
  const fewest = new Map<string, number>();
  const key = (r: SegRow) => `${r.variant}\u0000${r.format}`;
  for (const r of rows) {
    const n = num(r.threads) ?? 0;
    if (!fewest.has(key(r)) || n < fewest.get(key(r))!) fewest.set(key(r), n);
  }
  const seen = new Set<string>();
  return rows.filter((r) => {
    if ((num(r.threads) ?? 0) !== fewest.get(key(r)) || seen.has(key(r))) return false;
    seen.add(key(r));
    return true;
  });
}

/** The export stage's record of `variant` in `format` (size, gzip, Dice through its runtime). */
export function exportRecord(
  track: SegTrack,
  variant: string,
  format: string,
): Record<string, unknown> | undefined {
  const exports = track.extra?.export?.exports;
  const e = isRecord(exports) ? exports[variant] : undefined;
  if (!isRecord(e)) return undefined;
  const formats = isRecord(e.formats) ? e.formats : e;
  const r = formats[format];
  return isRecord(r) ? r : undefined;
}

/**
 * Dice, IoU and combined loss of an export record: top-level fields, else the export stage's
 * `test_metrics` and `test_loss` (segmentation, test split at the data set's size).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportedScores } from "./segmentation_data.ts";
 * assert.deepEqual(exportedScores({ dice: 0.8, test_metrics: { dice: 0.8, iou: 0.7 }, test_loss: 0.3 }), {
 *   dice: 0.8, iou: 0.7, loss: 0.3,
 * });
 * ```
 */
export function exportedScores(
  record: Record<string, unknown> | undefined,
): { dice?: number; iou?: number; loss?: number } {
  const m = isRecord(record?.test_metrics) ? record.test_metrics : {};
  return {
    dice: num(record?.dice) ?? num(m.dice),
    iou: num(record?.iou) ?? num(m.iou),
    loss: num(record?.loss) ?? num(record?.test_loss),
  };
}

/** Variant names: rows first (in order), then models without rows. */
function variantNames(track: SegTrack): string[] {
  return [...new Set([...(track.rows ?? []).map((r) => r.variant), ...Object.keys(track.models ?? {})])];
}

/** Formats of `variant` other than fp32 that a bench row or an export record has. */
function otherFormats(track: SegTrack, variant: string): string[] {
  const exports = track.extra?.export?.exports;
  const e = isRecord(exports) ? exports[variant] : undefined;
  const exported = isRecord(e) ? Object.keys(isRecord(e.formats) ? e.formats : {}) : [];
  const measured = benchRows(track).filter((r) => r.variant === variant).map((r) => String(r.format));
  const all = [...new Set([...exported, ...measured])].filter((f) =>
    !(FP32_FORMATS as readonly string[]).includes(f)
  );
  const rank = (f: string) => FORMAT_ORDER.indexOf(f) < 0 ? FORMAT_ORDER.length : FORMAT_ORDER.indexOf(f);
  return all.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * The lightweight-techniques table: per variant its trained model (metrics from the train or
 * compress stage, size = float32 weights, latency = its first fp32 format measured on each device),
 * then one row per fp16 / int8 / TFLite file with that file's size and Dice (export stage, else bench).
 */
export function segTableRows(track: SegTrack): SegTableRow[] {
  const devices = segDevices(track);
  const perDevice = Object.fromEntries(devices.map((d) => [d, rowsOnDevice(track, d)]));
  const find = (device: string, variant: string, format: string) =>
    perDevice[device].find((r) => r.variant === variant && r.format === format);
  const out: SegTableRow[] = [];
  for (const variant of variantNames(track)) {
    const own = (track.rows ?? []).filter((r) => r.variant === variant);
    const model = track.models?.[variant];
    const facts: SegRow = own.find((r) => num(r.latency_ms_mean) === undefined) ?? own[0] ??
      { variant, technique: model?.technique ?? "" };
    const technique = facts.technique || model?.technique || "";
    const test = isRecord(model?.test) ? model.test : undefined;
    out.push({
      variant,
      technique,
      format: "fp32",
      facts,
      size_bytes: num(facts.weight_bytes) ?? num(facts.size_bytes),
      dice: num(facts.dice) ?? num(test?.dice),
      iou: num(facts.iou) ?? num(test?.iou),
      loss: num(facts.loss) ?? num(test?.loss),
      train_seconds: num(facts.train_seconds) ?? num(model?.train_seconds),
      measured: Object.fromEntries(devices.map((d) => {
        const f = FP32_FORMATS.find((f) => find(d, variant, f));
        return [d, f && find(d, variant, f)];
      })),
    });
    for (const format of otherFormats(track, variant)) {
      const e = exportRecord(track, variant, format);
      const scores = exportedScores(e);
      const measured = Object.fromEntries(devices.map((d) => [d, find(d, variant, format)]));
      const bench = Object.values(measured).find((r) => num(r?.dice) !== undefined);
      out.push({
        variant,
        technique,
        format,
        facts,
        size_bytes: num(e?.size_bytes) ?? pickNum(Object.values(measured), "size_bytes"),
        dice: scores.dice ?? num(bench?.dice),
        iou: scores.iou ?? num(bench?.iou),
        loss: scores.loss ?? num(bench?.loss),
        measured,
      });
    }
  }
  return out;
}

function pickNum(rows: (SegRow | undefined)[], key: keyof SegRow): number | undefined {
  for (const r of rows) if (num(r?.[key]) !== undefined) return num(r?.[key]);
  return undefined;
}

/** Dice per million non-zero parameters of a trained model's row. */
export function dicePerMParams(row: SegTableRow): number | undefined {
  const p = num(row.facts.params_nonzero);
  return row.dice === undefined || !p ? undefined : row.dice / (p / 1e6);
}

/**
 * The trained model with the highest Dice per non-zero parameter (fp32 rows only: a file of
 * another format has the same parameters); the first on a tie.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bestPerParameter, type SegTableRow } from "./segmentation_data.ts";
 * const row = (variant: string, dice: number, p: number): SegTableRow =>
 *   ({ variant, technique: "", format: "fp32", facts: { variant, technique: "", params_nonzero: p }, dice, measured: {} });
 * assert.equal(bestPerParameter([row("a", 0.8, 2e6), row("b", 0.7, 4e5)])?.variant, "b");
 * ```
 */
export function bestPerParameter(rows: SegTableRow[]): SegTableRow | undefined {
  let best: SegTableRow | undefined;
  for (const r of rows.filter((r) => r.format === "fp32")) {
    const v = dicePerMParams(r);
    if (v !== undefined && (best === undefined || v > dicePerMParams(best)!)) best = r;
  }
  return best;
}

/** The row with the highest Dice per millisecond of batch-1 latency on `device`; the first on a tie. */
export function bestPerMs(rows: SegTableRow[], device: string): SegTableRow | undefined {
  const score = (r: SegTableRow) => {
    const ms = num(r.measured[device]?.latency_ms_mean);
    return r.dice === undefined || !ms ? undefined : r.dice / ms;
  };
  let best: SegTableRow | undefined;
  for (const r of rows) {
    const v = score(r);
    if (v !== undefined && (best === undefined || v > score(best)!)) best = r;
  }
  return best;
}

/** The reference U-Net: technique "reference", else the variant named unet_standard. */
export function referenceVariant(rows: SegTableRow[]): string | undefined {
  return (rows.find((r) => r.technique === "reference") ?? rows.find((r) => r.variant === "unet_standard"))
    ?.variant;
}

/** The depthwise-separable U-Net: technique "depthwise_separable", else the variant named unet_depthwise. */
export function depthwiseVariant(rows: SegTableRow[]): string | undefined {
  return (rows.find((r) => r.technique === "depthwise_separable") ??
    rows.find((r) => r.variant === "unet_depthwise"))?.variant;
}

/** One set of recorded predicted masks: which stage role recorded it and under which key. */
export interface PredictionSource {
  /** The key in the stage's `predictions` (a variant, or a variant and format). */
  key: string;
  /** The role of the stage that wrote it (train, compress, …). */
  role: string;
  record: MaskPredictions;
}

/**
 * Every predicted-mask set the track's stages recorded (`extra.<role>.predictions`: key →
 * {file, count, size}), in stage order. The report never runs a model: no record, no overlay.
 */
export function predictionSources(track: SegTrack): PredictionSource[] {
  const out: PredictionSource[] = [];
  for (const [role, extra] of Object.entries(track.extra ?? {})) {
    const p = extra?.predictions;
    if (!isRecord(p)) continue;
    for (const [key, r] of Object.entries(p)) {
      if (
        isRecord(r) && typeof r.file === "string" && num(r.count) !== undefined && num(r.size) !== undefined
      ) {
        out.push({ key, role, record: { file: r.file, count: r.count as number, size: r.size as number } });
      }
    }
  }
  return out;
}

/**
 * The prediction sets the overlay grid shows: the reference, the depthwise U-Net, the best per
 * parameter, and any int8 set, when recorded; else the first four recorded.
 */
export function chosenPredictions(rows: SegTableRow[], sources: PredictionSource[]): PredictionSource[] {
  const wanted = [referenceVariant(rows), depthwiseVariant(rows), bestPerParameter(rows)?.variant];
  const chosen: PredictionSource[] = [];
  const add = (s: PredictionSource | undefined) => s && !chosen.includes(s) && chosen.push(s);
  for (const v of wanted) add(sources.find((s) => s.key === v));
  for (const s of sources.filter((s) => /int8/.test(s.key))) add(s);
  return chosen.length > 0 ? chosen : sources.slice(0, 4);
}
