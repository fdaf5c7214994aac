/**
 * Vega-Lite specs of the comparison figures: metrics per variant, accuracy against latency with
 * the Pareto front, FLOPs reduction against measured speed-up, confusion-matrix heatmaps.
 * Each takes ready points (built from results.json by document sections) and returns a
 * self-contained spec, or null when there is nothing to plot.
 */
import type { TopLevelSpec } from "vega-lite";
import type { ModelRecord } from "../tasks/classification_records.ts";
import type { MetricLabels } from "./metric.ts";
import { BASE_CONFIG, type FigureSpec } from "./figures.ts";
import { type Lang, t } from "./i18n.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** One bar of the metrics figure. */
export interface MetricPoint {
  variant: string;
  technique: string;
  /** Translated metric name (facet title). */
  metric: string;
  value: number;
}

/** Params, size, FLOPs, latency and FPS per variant: one small bar chart per metric. */
export function metricBarsSpec(points: MetricPoint[], variants: string[], lang: Lang): FigureSpec | null {
  if (points.length === 0) return null;
  const metrics = [...new Set(points.map((p) => p.metric))];
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    data: { values: points as unknown as Record<string, unknown>[] },
    facet: { field: "metric", type: "nominal", sort: metrics, title: null, header: { labelFontSize: 12 } },
    columns: 3,
    spec: {
      width: 220,
      height: Math.max(60, 16 * variants.length),
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: "variant", type: "nominal", sort: variants, title: null },
        x: { field: "value", type: "quantitative", title: null, axis: { format: "~s" } },
        color: { field: "technique", type: "nominal", title: t(lang, "col.technique") },
      },
    },
    resolve: { scale: { x: "independent" } },
    config: BASE_CONFIG,
  };
  return { name: `metrics.${lang}`, caption: t(lang, "fig.metrics.caption"), spec };
}

/** One point of the primary-metric-against-latency figure. */
export interface ParetoPoint {
  variant: string;
  technique: string;
  format: string;
  latency: number;
  /** The task's primary metric (accuracy, Dice), as a fraction. */
  score: number;
  front: boolean;
}

/** Options of {@linkcode paretoSpec}. */
export interface ParetoOptions {
  /** File stem before the language. @default `pareto_<index>` */
  name?: string;
  /** d3 format of the score axis. @default ".1%" */
  scoreFormat?: string;
}

/** The primary metric against measured latency on one device, the Pareto front joined and labelled. */
export function paretoSpec(
  points: ParetoPoint[],
  device: string,
  index: number,
  metric: MetricLabels,
  lang: Lang,
  options: ParetoOptions = {},
): FigureSpec | null {
  if (points.length === 0) return null;
  const x = {
    field: "latency",
    type: "quantitative" as const,
    title: t(lang, "fig.latencyAxis"),
    scale: { zero: false, nice: true },
  };
  const y = {
    field: "score",
    type: "quantitative" as const,
    title: metric.axis,
    scale: { zero: false },
    axis: { format: options.scoreFormat ?? ".1%" },
  };
  const front = { filter: "datum.front" };
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    width: 560,
    height: 320,
    data: { values: points as unknown as Record<string, unknown>[] },
    layer: [
      {
        transform: [front],
        mark: { type: "line", color: "#444", strokeDash: [4, 3] },
        encoding: { x, y, order: { field: "latency", type: "quantitative" } },
      },
      {
        mark: { type: "point", filled: true, size: 70, tooltip: true },
        encoding: {
          x,
          y,
          color: { field: "technique", type: "nominal", title: t(lang, "col.technique") },
          shape: { field: "format", type: "nominal", title: t(lang, "col.format") },
        },
      },
      {
        transform: [front],
        mark: { type: "text", align: "left", dx: 6, dy: -6, fontSize: 10 },
        encoding: { x, y, text: { field: "variant" } },
      },
    ],
    config: BASE_CONFIG,
  };
  return {
    name: `${options.name ?? `pareto_${index}`}.${lang}`,
    caption: t(lang, "fig.pareto.caption", { device, metric: metric.word }),
    spec,
  };
}

/** One point of the speed-up figure. */
export interface SpeedupPoint {
  variant: string;
  format: string;
  predicted: number;
  measured: number;
}

/** FLOPs reduction (predicted speed-up) against measured speed-up, with the y = x line. */
export function speedupSpec(
  points: SpeedupPoint[],
  device: string,
  index: number,
  lang: Lang,
): FigureSpec | null {
  if (points.length === 0) return null;
  const all = points.flatMap((p) => [p.predicted, p.measured]);
  const diagonal = [{ v: Math.min(1, ...all) }, { v: Math.max(...all) }];
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    width: 560,
    height: 320,
    layer: [
      {
        data: { values: diagonal },
        mark: { type: "line", color: "#999", strokeDash: [2, 2] },
        encoding: {
          x: { field: "v", type: "quantitative", scale: { type: "log" } },
          y: { field: "v", type: "quantitative", scale: { type: "log" } },
        },
      },
      {
        data: { values: points as unknown as Record<string, unknown>[] },
        mark: { type: "point", filled: true, size: 60, tooltip: true },
        encoding: {
          x: {
            field: "predicted",
            type: "quantitative",
            title: t(lang, "fig.speedup.x"),
            scale: { type: "log" },
          },
          y: {
            field: "measured",
            type: "quantitative",
            title: t(lang, "fig.speedup.y"),
            scale: { type: "log" },
          },
          color: { field: "format", type: "nominal", title: t(lang, "col.format") },
        },
      },
    ],
    config: BASE_CONFIG,
  };
  return { name: `speedup_${index}.${lang}`, caption: t(lang, "fig.speedup.caption", { device }), spec };
}

/** Confusion matrices of the models as heatmaps, one small panel per model. */
export function confusionSpec(models: Record<string, ModelRecord>, lang: Lang): FigureSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const [model, m] of Object.entries(models)) {
    const matrix = m.test?.confusion;
    if (!Array.isArray(matrix)) continue;
    const classes = Array.isArray(m.test.classes) ? m.test.classes : [];
    matrix.forEach((row, i) =>
      row.forEach((count, j) =>
        values.push({ model, truth: classes[i] ?? String(i), predicted: classes[j] ?? String(j), count })
      )
    );
  }
  if (values.length === 0) return null;
  const encoding = {
    x: { field: "predicted", type: "nominal" as const, title: t(lang, "fig.predicted") },
    y: { field: "truth", type: "nominal" as const, title: t(lang, "fig.truth") },
  };
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    data: { values },
    facet: { field: "model", type: "nominal", title: null, sort: Object.keys(models) },
    columns: 4,
    spec: {
      width: 110,
      height: 110,
      layer: [
        {
          mark: "rect",
          encoding: {
            ...encoding,
            color: {
              field: "count",
              type: "quantitative",
              title: t(lang, "fig.count"),
              scale: { scheme: "blues" },
            },
          },
        },
        {
          mark: { type: "text", fontSize: 12 },
          encoding: { ...encoding, text: { field: "count", type: "quantitative" } },
        },
      ],
    },
    config: { ...BASE_CONFIG, axis: { ...BASE_CONFIG.axis, labelAngle: 0, labelLimit: 90 } },
  };
  return { name: `confusion.${lang}`, caption: t(lang, "confusion.intro"), spec };
}

/** One point of the recovery figure: a pruned variant's test accuracy at one step. */
export interface RecoveryPoint {
  variant: string;
  /** Share of channels (structured) or weights (unstructured) removed, in %. */
  amount: number;
  /** Translated step name: after the cut, BN recalibrated, fine-tuned, fine-tuned with the teacher. */
  step: string;
  accuracy: number;
}

/** Test accuracy against the amount pruned, one line per step, the teacher's accuracy dashed. */
export function recoverySpec(
  points: RecoveryPoint[],
  steps: string[],
  teacherAccuracy: number,
  name: string,
  xTitle: string,
  lang: Lang,
): FigureSpec | null {
  if (points.length === 0) return null;
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    width: 420,
    height: 260,
    layer: [
      {
        data: { values: points as unknown as Record<string, unknown>[] },
        mark: { type: "line", point: true, tooltip: true },
        encoding: {
          x: {
            field: "amount",
            type: "quantitative",
            title: xTitle,
            scale: { zero: false, nice: false },
            axis: { values: [...new Set(points.map((p) => p.amount))] },
          },
          y: {
            field: "accuracy",
            type: "quantitative",
            title: t(lang, "curves.accAxis"),
            axis: { format: ".0%" },
          },
          color: { field: "step", type: "nominal", sort: steps, title: null, legend: { labelLimit: 320 } },
        },
      },
      {
        data: { values: [{ accuracy: teacherAccuracy, label: t(lang, "fig.recovery.teacher") }] },
        mark: { type: "rule", strokeDash: [5, 4], color: "#555" },
        encoding: { y: { field: "accuracy", type: "quantitative" } },
      },
    ],
    config: BASE_CONFIG,
  };
  return { name: `${name}.${lang}`, caption: t(lang, "fig.recovery.caption"), spec };
}
