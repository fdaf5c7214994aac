/**
 * Vega-Lite specs of the U-Net section's figures: validation Dice and combined loss per epoch per
 * model, and test Dice against non-zero parameters. (Dice against latency per device is
 * result_figures.ts's Pareto figure.) Each returns a self-contained spec, or null when there is
 * nothing to plot.
 */
import type { TopLevelSpec } from "vega-lite";
import { BASE_CONFIG, CURVE_PANEL, type FigureSpec } from "./figures.ts";
import { type Lang, t } from "./i18n.ts";
import type { SegModel } from "./segmentation_data.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** One point of the segmentation curves. */
export interface SegCurvePoint {
  model: string;
  epoch: number;
  panel: "dice" | "loss";
  value: number;
}

/** Validation Dice and validation combined loss of every model's history, finite values only. */
export function segCurvePoints(models: Record<string, SegModel>): SegCurvePoint[] {
  const points: SegCurvePoint[] = [];
  for (const [model, record] of Object.entries(models)) {
    for (const e of Array.isArray(record.history) ? record.history : []) {
      if (typeof e?.epoch !== "number") continue;
      for (const [panel, value] of [["dice", e.val_dice], ["loss", e.val_loss]] as const) {
        if (typeof value === "number" && Number.isFinite(value)) {
          points.push({ model, epoch: e.epoch, panel, value });
        }
      }
    }
  }
  return points;
}

/**
 * Validation Dice and validation combined loss against epoch, one line per model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segCurvesSpec } from "./segmentation_figures.ts";
 * assert.equal(segCurvesSpec({}, "en"), null);
 * const history = [{ epoch: 1, val_dice: 0.5, val_loss: 0.9 }, { epoch: 2, val_dice: 0.6, val_loss: 0.7 }];
 * assert.equal(segCurvesSpec({ u: { history } } as never, "ko")?.name, "seg_training_curves.ko");
 * ```
 */
export function segCurvesSpec(models: Record<string, SegModel>, lang: Lang): FigureSpec | null {
  const values = segCurvePoints(models);
  if (values.length === 0) return null;
  const names = Object.keys(models).filter((m) => values.some((p) => p.model === m));
  const panel = (which: SegCurvePoint["panel"], title: string, yTitle: string) => ({
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
      y: { field: "value", type: "quantitative" as const, title: yTitle, scale: { zero: which === "loss" } },
      color: {
        field: "model",
        type: "nominal" as const,
        title: t(lang, "col.model"),
        scale: { domain: names, scheme: names.length > 10 ? "tableau20" : "tableau10" },
      },
    },
  });
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    data: { values: values as unknown as Record<string, unknown>[] },
    hconcat: [
      panel("dice", t(lang, "seg.curves.dice"), t(lang, "axis.dice")),
      panel("loss", t(lang, "seg.curves.loss"), t(lang, "seg.col.loss")),
    ],
    config: BASE_CONFIG,
  };
  return { name: `seg_training_curves.${lang}`, caption: t(lang, "seg.curves.caption"), spec };
}

/** One trained model in the Dice-per-parameter figure. */
export interface DiceParamsPoint {
  variant: string;
  technique: string;
  params: number;
  dice: number;
  /** The best Dice per parameter (labelled). */
  best: boolean;
}

/** Test Dice against non-zero parameters (log scale), one point per trained model, all labelled. */
export function diceParamsSpec(points: DiceParamsPoint[], lang: Lang): FigureSpec | null {
  if (points.length === 0) return null;
  const x = {
    field: "params",
    type: "quantitative" as const,
    title: t(lang, "seg.fig.paramsAxis"),
    scale: { type: "log" as const },
    axis: { format: "~s" },
  };
  const y = {
    field: "dice",
    type: "quantitative" as const,
    title: t(lang, "axis.dice"),
    scale: { zero: false },
  };
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    width: 560,
    height: 320,
    data: { values: points as unknown as Record<string, unknown>[] },
    layer: [
      {
        mark: { type: "point", filled: true, size: 80, tooltip: true },
        encoding: {
          x,
          y,
          color: { field: "technique", type: "nominal", title: t(lang, "col.technique") },
          shape: {
            field: "best",
            type: "nominal",
            title: t(lang, "seg.fig.best"),
            scale: { domain: [false, true], range: ["circle", "diamond"] },
          },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 7, dy: -5, fontSize: 10 },
        encoding: { x, y, text: { field: "variant" } },
      },
    ],
    config: BASE_CONFIG,
  };
  return { name: `seg_dice_params.${lang}`, caption: t(lang, "seg.fig.paramsCaption"), spec };
}
