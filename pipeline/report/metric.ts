/**
 * The report's words for the run's primary metric: a table heading, an axis title and the word
 * a sentence uses ("accuracy" / "정확도", "Dice"), from the task results.json records.
 */
import type { MetricInfo } from "../tasks/mod.ts";
import { type Lang, type StringKey, t } from "./i18n.ts";

/** Labels of a primary metric in one language. */
export interface MetricLabels {
  /** Table column heading, e.g. "Accuracy (%)". */
  column: string;
  /** Figure axis title, e.g. "Accuracy". */
  axis: string;
  /** In a sentence, e.g. "accuracy". */
  word: string;
}

/**
 * Labels of `primary` in `lang`; an unknown metric is shown by its name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricLabels } from "./metric.ts";
 * assert(metricLabels({ name: "accuracy", higherIsBetter: true }, "en").column === "Accuracy (%)");
 * assert(metricLabels({ name: "dice", higherIsBetter: true }, "ko").word === "Dice");
 * ```
 */
export function metricLabels(primary: MetricInfo, lang: Lang): MetricLabels {
  const known = primary.name === "accuracy" || primary.name === "dice";
  if (!known) return { column: `${primary.name} (%)`, axis: primary.name, word: primary.name };
  return {
    column: t(lang, `col.${primary.name}` as StringKey),
    axis: t(lang, primary.name === "accuracy" ? "curves.accAxis" : "axis.dice"),
    word: t(lang, `metric.${primary.name}` as StringKey),
  };
}
