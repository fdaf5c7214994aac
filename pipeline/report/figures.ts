/**
 * Vega-Lite specs of the report's figures. Each builder takes results.json data and a
 * language and returns a self-contained spec (data inlined), so the same JSON can be saved
 * next to the SVG and shown again by a notebook.
 */
import type { TopLevelSpec } from "vega-lite";
import type { ModelRecord } from "../tasks/classification_records.ts";
import { type Lang, t } from "./i18n.ts";

/** Font stack of every figure: Korean glyphs first, then any sans-serif. */
export const FONT_FAMILY = "'Noto Sans CJK KR', 'Noto Sans KR', 'Noto Sans', sans-serif";

/** Shared look of every figure: fonts, sizes, white background. */
export const BASE_CONFIG = {
  font: FONT_FAMILY,
  background: "white",
  view: { stroke: "#ccc" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: "start" as const },
};

/** A figure before rendering: its file stem (no extension) and its spec. */
export interface FigureSpec {
  /** File stem under figures/, e.g. "training_curves.ko". */
  name: string;
  /** Caption shown under the figure. */
  caption: string;
  spec: TopLevelSpec;
}

/** One point of a training curve in the long format the curves figure plots. */
export interface CurvePoint {
  model: string;
  epoch: number;
  panel: "loss" | "accuracy";
  split: string;
  value: number;
}

/** The per-epoch history of every model as long-format points, with split names in `lang`. */
export function curvePoints(models: Record<string, ModelRecord>, lang: Lang): CurvePoint[] {
  const train = t(lang, "curves.train");
  const val = t(lang, "curves.val");
  const points: CurvePoint[] = [];
  for (const [model, record] of Object.entries(models)) {
    for (const e of Array.isArray(record.history) ? record.history : []) {
      const add = (panel: CurvePoint["panel"], split: string, value: unknown) => {
        if (typeof value === "number" && Number.isFinite(value)) {
          points.push({ model, epoch: e.epoch, panel, split, value });
        }
      };
      add("loss", train, e.train_loss);
      add("loss", val, e.val_loss);
      add("accuracy", train, e.train_acc);
      add("accuracy", val, e.val_acc);
    }
  }
  return points;
}

/** Panel size of the curves figure, in pixels. */
export const CURVE_PANEL = { width: 380, height: 240 };

/**
 * Training curves: two panels (loss, accuracy) against epoch, one colour per model, solid
 * for training and dashed for validation. `null` when no model has a history.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainingCurvesSpec } from "./figures.ts";
 * assert(trainingCurvesSpec({}, "en") === null);
 * ```
 */
export function trainingCurvesSpec(models: Record<string, ModelRecord>, lang: Lang): FigureSpec | null {
  const values = curvePoints(models, lang);
  if (values.length === 0) return null;
  const modelNames = Object.keys(models).filter((m) => values.some((p) => p.model === m));
  const splits = [t(lang, "curves.train"), t(lang, "curves.val")];
  const panel = (which: CurvePoint["panel"], title: string, yTitle: string) => ({
    width: CURVE_PANEL.width,
    height: CURVE_PANEL.height,
    title,
    transform: [{ filter: { field: "panel", equal: which } }],
    mark: { type: "line" as const, point: true, strokeWidth: 2 },
    encoding: {
      x: {
        field: "epoch",
        type: "quantitative" as const,
        title: t(lang, "curves.epoch"),
        axis: { tickMinStep: 1, format: "d" },
      },
      y: {
        field: "value",
        type: "quantitative" as const,
        title: yTitle,
        scale: { zero: which === "loss" },
        ...(which === "accuracy" ? { axis: { format: ".0%" } } : {}),
      },
      color: {
        field: "model",
        type: "nominal" as const,
        title: t(lang, "col.model"),
        scale: { domain: modelNames, scheme: "tableau10" },
        legend: { symbolType: "stroke", symbolStrokeWidth: 3 },
      },
      strokeDash: {
        field: "split",
        type: "nominal" as const,
        title: t(lang, "curves.split"),
        scale: { domain: splits, range: [[1, 0], [6, 4]] },
        legend: {
          symbolType: "stroke",
          symbolStrokeWidth: 2,
          symbolSize: 300,
          encode: { symbols: { update: { stroke: { value: "#555" } } } },
        },
      },
      detail: { field: "split", type: "nominal" as const },
    },
  });
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values: values as unknown as Record<string, unknown>[] },
    hconcat: [
      panel("loss", t(lang, "curves.loss"), t(lang, "curves.lossAxis")),
      panel("accuracy", t(lang, "curves.accuracy"), t(lang, "curves.accAxis")),
    ],
    config: BASE_CONFIG,
  };
  return { name: `training_curves.${lang}`, caption: t(lang, "curves.caption"), spec };
}
