/**
 * The report's result sections: each compression technique with its parameters and the seed's
 * figures beside ours, the variants compared, the on-device measurements per device, and the
 * conclusion generated from the numbers. Every value is read from results.json rows.
 */
import type { ResultRow, Results } from "../stages/parts.ts";
import type { ModelRecord } from "../tasks/classification_records.ts";
import { type AnyTask, better, primaryOf, taskOf } from "../tasks/mod.ts";
import type { Block } from "./document.ts";
import { trainingCurvesSpec } from "./figures.ts";
import { fixed, integer, MISSING, percent, scalar } from "./format.ts";
import { type Lang, type StringKey, t } from "./i18n.ts";
import { metricLabels } from "./metric.ts";
import { renderFigure } from "./render.ts";
import {
  metricBarsSpec,
  type MetricPoint,
  paretoSpec,
  type RecoveryPoint,
  recoverySpec,
  speedupSpec,
} from "./result_figures.ts";
import { SEED_LABEL, type SeedExperiment, seedFigure } from "./seed_figures.ts";
import {
  devicesOf,
  headlineRows,
  measuredRows,
  num,
  paretoFront,
  pick,
  techniquesOf,
  variantSummaries,
  type VariantSummary,
} from "./variants.ts";

const MIB = 2 ** 20;
const KNOWN_TECHNIQUES = ["distillation", "pruning", "pruning+distillation", "unstructured"];
/** Row fields that are a technique's parameters (recorded by the compress stage). */
const PARAM_KEYS: (keyof ResultRow)[] = [
  "student",
  "temperature",
  "alpha",
  "prune_ratio",
  "channels",
  "sparsity",
  "finetune_epochs",
];

/** Size in MiB of a variant: its measured file, else its checkpoint. */
function sizeMiB(s: VariantSummary): number | undefined {
  const bytes = pick([s.measured, s.facts], "size_bytes");
  return bytes === undefined ? undefined : bytes / MIB;
}

/** The task's primary metric of a variant: its training/compression facts, else its measurement. */
function primaryOfSummary(s: VariantSummary, task: AnyTask): number | undefined {
  return primaryOf(s.facts, task) ?? primaryOf(s.measured, task);
}

/** The reference (teacher) summary: variant named as the bench reference, else the first baseline. */
function referenceOf(summaries: VariantSummary[]): VariantSummary | undefined {
  return summaries.find((s) => s.variant === "teacher") ?? summaries.find((s) => s.technique === "baseline");
}

function techniqueName(lang: Lang, technique: string): string {
  return KNOWN_TECHNIQUES.includes(technique) ? t(lang, `technique.${technique}` as StringKey) : technique;
}

/** Columns of the per-variant table, with the seed's columns appended for `experiment`. */
function variantTable(
  summaries: VariantSummary[],
  task: AnyTask,
  lang: Lang,
  experiment?: SeedExperiment,
): Block {
  const header = [
    t(lang, "col.variant"),
    t(lang, "col.technique"),
    t(lang, "col.paramsTotal"),
    t(lang, "col.paramsNonzero"),
    t(lang, "col.sizeMiB"),
    t(lang, "col.flopsM"),
    t(lang, "col.latency"),
    t(lang, "col.fps"),
    metricLabels(task.primary, lang).column,
  ];
  const seed = SEED_LABEL[lang];
  if (experiment) {
    header.push(
      `${t(lang, "col.paramsTotal")} — ${seed}`,
      `${t(lang, "col.sizeMB")} — ${seed}`,
      `${t(lang, "col.latency")} — ${seed}`,
      `${t(lang, "col.fps")} — ${seed}`,
    );
  }
  const rows = summaries.map((s) => {
    const flops = num(s.facts.flops);
    const row = [
      s.variant,
      techniqueName(lang, s.technique),
      integer(s.facts.params_total),
      integer(s.facts.params_nonzero),
      fixed(sizeMiB(s), 3),
      flops === undefined ? MISSING : fixed(flops / 1e6, 2),
      fixed(s.measured?.latency_ms_mean, 3),
      fixed(s.measured?.fps, 1),
      percent(primaryOfSummary(s, task)),
    ];
    if (experiment) {
      const f = seedFigure(experiment, s.variant);
      row.push(integer(f?.params), fixed(f?.size_mb, 2), fixed(f?.latency_ms, 2), fixed(f?.fps, 1));
    }
    return row;
  });
  return { kind: "table", header, rows, align: header.map((_, i) => i < 2 ? "left" : "right") };
}

/** "device local, onnx-fp32 (onnxruntime-node), 1 thread(s), mean of 30 runs" for the measured columns. */
function measuredNote(summaries: VariantSummary[], device: string | undefined, lang: Lang): Block {
  const m = summaries.find((s) => s.measured)?.measured;
  if (!m || !device) return { kind: "paragraph", text: t(lang, "variants.notMeasured") };
  return {
    kind: "paragraph",
    text: t(lang, "variants.measuredNote", {
      device,
      format: String(m.format ?? MISSING),
      runtime: String(m.runtime ?? MISSING),
      threads: scalar(m.threads),
      runs: scalar(m.runs),
    }),
  };
}

/** One technique: method, parameters, table (reference + its variants), curves. */
async function techniqueBlocks(
  results: Results,
  technique: string,
  summaries: VariantSummary[],
  device: string | undefined,
  lang: Lang,
): Promise<Block[]> {
  const own = summaries.filter((s) => s.technique === technique);
  const blocks: Block[] = [{ kind: "heading", level: 3, text: techniqueName(lang, technique) }];
  if (KNOWN_TECHNIQUES.includes(technique)) {
    blocks.push({ kind: "paragraph", text: t(lang, `method.${technique}` as StringKey) });
  }
  const params: [string, string][] = [];
  for (const key of PARAM_KEYS) {
    const values = [...new Set(own.map((s) => s.facts[key]).filter((v) => v !== undefined).map(scalar))];
    if (values.length > 0) params.push([key, values.join(", ")]);
  }
  if (params.length > 0) {
    blocks.push({ kind: "table", header: [t(lang, "col.param"), t(lang, "kv.value")], rows: params });
  }
  const students = new Set(own.map((s) => s.facts.student));
  const alone = technique === "distillation"
    ? summaries.filter((s) => s.technique === "baseline" && students.has(s.facts.student) && s.facts.student)
    : [];
  const reference = referenceOf(summaries);
  const shown = [...(reference ? [reference] : []), ...alone, ...own];
  const experiment: SeedExperiment | undefined = technique === "distillation"
    ? "distillation"
    : technique.startsWith("pruning")
    ? "pruning"
    : undefined;
  const task = taskOf(results);
  blocks.push(variantTable(shown, task, lang, experiment));
  if (experiment) blocks.push({ kind: "paragraph", text: t(lang, "seed.note") });
  blocks.push(measuredNote(shown, device, lang));
  blocks.push(...recoveryBlocks(own, task, lang));
  const figure = await recoveryFigure(technique, summaries, task, lang);
  if (figure) blocks.push({ kind: "figure", figure });
  const models = Object.fromEntries(
    Object.entries(results.models ?? {}).filter(([, m]) => m.technique === technique),
  );
  const curves = trainingCurvesSpec(models, lang);
  if (curves) {
    const slug = technique.replace(/[^a-z0-9]+/gi, "_");
    blocks.push({
      kind: "figure",
      figure: await renderFigure({ ...curves, name: `training_curves_${slug}.${lang}` }),
    });
  }
  return blocks;
}

/**
 * Pruned variants: the primary metric straight after the cut, after BN recalibration, after
 * fine-tuning. The compress stage records the first two for classification (`accuracy_pruned`,
 * `accuracy_recalibrated`), so this section is classification-only.
 */
function recoveryBlocks(own: VariantSummary[], task: AnyTask, lang: Lang): Block[] {
  const pruned = own.filter((s) => num(s.facts.accuracy_pruned) !== undefined);
  if (pruned.length === 0) return [];
  const header = [
    t(lang, "col.variant"),
    t(lang, "col.accPruned"),
    t(lang, "col.accRecalibrated"),
    t(lang, "col.accFinetuned"),
  ];
  return [
    {
      kind: "table",
      header,
      align: header.map((_, i) => i === 0 ? "left" : "right"),
      rows: pruned.map((s) => [
        s.variant,
        percent(s.facts.accuracy_pruned),
        percent(s.facts.accuracy_recalibrated),
        percent(primaryOf(s.facts, task)),
      ]),
    },
    { kind: "paragraph", text: t(lang, "recovery.note") },
  ];
}

/**
 * Accuracy against the share pruned, per step (cut, BN recalibrated, fine-tuned, and for channel
 * pruning also fine-tuned with the teacher): in the pruning and unstructured sections.
 */
function recoveryFigure(technique: string, summaries: VariantSummary[], task: AnyTask, lang: Lang) {
  const ref = referenceOf(summaries);
  const refAcc = ref && primaryOfSummary(ref, task);
  const field = technique === "pruning"
    ? "prune_ratio"
    : technique === "unstructured"
    ? "sparsity"
    : undefined;
  if (!field || refAcc === undefined) return undefined;
  const step = (key: StringKey) => t(lang, key);
  const steps = [
    step("fig.recovery.pruned"),
    step("fig.recovery.recalibrated"),
    step("fig.recovery.finetuned"),
    step("fig.recovery.withTeacher"),
  ];
  const points: RecoveryPoint[] = [];
  for (const s of summaries) {
    const amount = num(s.facts[field]);
    if (amount === undefined) continue;
    const add = (label: string, value: unknown) => {
      const accuracy = num(value);
      if (accuracy !== undefined) {
        points.push({ variant: s.variant, amount: Math.round(amount * 100), step: label, accuracy });
      }
    };
    if (s.technique === technique) {
      add(steps[0], s.facts.accuracy_pruned);
      add(steps[1], s.facts.accuracy_recalibrated);
      add(steps[2], primaryOfSummary(s, task));
    } else if (technique === "pruning" && s.technique === "pruning+distillation") {
      add(steps[3], primaryOfSummary(s, task));
    }
  }
  const xTitle = t(lang, field === "prune_ratio" ? "fig.recovery.ratio" : "fig.recovery.sparsity");
  const spec = recoverySpec(points, steps, refAcc, `recovery_${technique}`, xTitle, lang);
  return spec ? renderFigure(spec) : undefined;
}

/**
 * Each compressed variant against the teacher on the same test images (paired on labels,
 * McNemar): classification-only, the compress stage records the pairing for classifiers.
 */
function versusTeacherBlocks(results: Results, summaries: VariantSummary[], lang: Lang): Block[] {
  const task = taskOf(results);
  const paired = summaries.filter((s) => num(s.facts.mcnemar_p) !== undefined);
  const ref = referenceOf(summaries);
  const refAcc = ref && primaryOfSummary(ref, task);
  if (paired.length === 0 || refAcc === undefined) return [];
  const header = [
    t(lang, "col.variant"),
    metricLabels(task.primary, lang).column,
    t(lang, "col.pointsVsTeacher"),
    t(lang, "col.onlyTeacherRight"),
    t(lang, "col.onlyVariantRight"),
    t(lang, "col.mcnemar"),
  ];
  const comparison = results.extra?.compress?.comparison;
  return [
    { kind: "heading", level: 3, text: t(lang, "versus.heading", { ref: ref!.variant }) },
    {
      kind: "table",
      header,
      align: header.map((_, i) => i === 0 ? "left" : "right"),
      rows: paired.map((s) => {
        const acc = primaryOfSummary(s, task);
        return [
          s.variant,
          percent(acc),
          acc === undefined ? MISSING : fixed((acc - refAcc) * 100, 2),
          integer(s.facts.test_only_teacher_right),
          integer(s.facts.test_only_variant_right),
          fixed(s.facts.mcnemar_p, 3),
        ];
      }),
    },
    {
      kind: "paragraph",
      text: t(lang, "versus.note", {
        n: integer(comparison?.test_images),
        p: fixed(comparison?.points_per_image, 2),
      }),
    },
  ];
}

/** One technique's sub-section (method, parameters, table with seed columns, curves), e.g. for a notebook. */
export function techniqueSection(results: Results, technique: string, lang: Lang): Promise<Block[]> {
  const device = devicesOf(results)[0];
  return techniqueBlocks(results, technique, variantSummaries(results, device), device, lang);
}

/** Techniques section: one sub-section per technique the rows or models hold. */
export async function techniquesSection(results: Results, lang: Lang): Promise<Block[]> {
  const device = devicesOf(results)[0];
  const summaries = variantSummaries(results, device);
  const blocks: Block[] = [];
  for (const technique of techniquesOf(results)) {
    blocks.push(...await techniqueBlocks(results, technique, summaries, device, lang));
  }
  return blocks;
}

/** All variants side by side: the table and the metric bars. */
export async function comparisonSection(results: Results, lang: Lang): Promise<Block[]> {
  const device = devicesOf(results)[0];
  const summaries = variantSummaries(results, device);
  if (summaries.length === 0) return [];
  const blocks: Block[] = [
    { kind: "heading", level: 2, text: t(lang, "variants.heading"), id: "variants" },
    variantTable(summaries, taskOf(results), lang),
    measuredNote(summaries, device, lang),
    ...versusTeacherBlocks(results, summaries, lang),
  ];
  const points: MetricPoint[] = [];
  const add = (s: VariantSummary, key: StringKey, value: number | undefined) => {
    if (value !== undefined) {
      points.push({ variant: s.variant, technique: s.technique, metric: t(lang, key), value });
    }
  };
  for (const s of summaries) {
    add(s, "col.paramsNonzero", num(s.facts.params_nonzero));
    add(s, "col.sizeMiB", sizeMiB(s));
    add(s, "col.flopsM", num(s.facts.flops) === undefined ? undefined : num(s.facts.flops)! / 1e6);
    add(s, "col.latency", num(s.measured?.latency_ms_mean));
    add(s, "col.fps", num(s.measured?.fps));
  }
  const bars = metricBarsSpec(points, summaries.map((s) => s.variant), lang);
  if (bars) blocks.push({ kind: "figure", figure: await renderFigure(bars) });
  return blocks;
}

/** Measured rows of one device, at the fewest threads of each format. */
function deviceRows(results: Results, device: string): ResultRow[] {
  const rows = measuredRows(results).filter((r) => String(r.device ?? "local") === device);
  const fewest = new Map<string, number>();
  for (const r of rows) {
    const k = String(r.format), n = num(r.threads) ?? 0;
    if (!fewest.has(k) || n < fewest.get(k)!) fewest.set(k, n);
  }
  return rows.filter((r) => (num(r.threads) ?? 0) === fewest.get(String(r.format)));
}

/** On-device results: per device a latency table by format, the Pareto and speed-up figures. */
export async function devicesSection(results: Results, lang: Lang): Promise<Block[]> {
  const blocks: Block[] = [];
  const devices = devicesOf(results);
  const machine = results.extra?.bench?.machine;
  const task = taskOf(results);
  const metric = metricLabels(task.primary, lang);
  for (const [index, device] of devices.entries()) {
    blocks.push({ kind: "heading", level: 3, text: t(lang, "devices.device", { device }) });
    if (device === "local" && machine && typeof machine === "object") {
      blocks.push({
        kind: "paragraph",
        text: t(lang, "devices.machine", { cpu: scalar(machine.cpu), cores: scalar(machine.cores) }),
      });
    }
    const rows = deviceRows(results, device);
    const formats = [...new Set(rows.map((r) => String(r.format)))];
    const variants = [...new Set(rows.map((r) => r.variant))];
    const cell = (v: string, f: string, key: keyof ResultRow, digits: number) =>
      fixed(rows.find((r) => r.variant === v && r.format === f)?.[key], digits);
    blocks.push({
      kind: "table",
      header: [
        t(lang, "col.variant"),
        ...formats.flatMap((f) => [`${f} ${t(lang, "col.latency")}`, `${f} ${metric.column}`]),
      ],
      align: ["left", ...formats.flatMap(() => ["right", "right"] as const)],
      rows: variants.map((v) => [
        v,
        ...formats.flatMap((f) => {
          const score = primaryOf(rows.find((r) => r.variant === v && r.format === f), task);
          return [cell(v, f, "latency_ms_mean", 3), percent(score)];
        }),
      ]),
    });
    const threads = [...new Set(rows.map((r) => scalar(r.threads)))].join(", ");
    blocks.push({
      kind: "paragraph",
      text: t(lang, "devices.tableNote", { threads, runs: scalar(rows[0]?.runs), metric: metric.word }),
    });
    const pts = rows.filter((r) => primaryOf(r, task) !== undefined).map((r) => ({
      variant: r.variant,
      technique: r.technique,
      format: String(r.format),
      latency: r.latency_ms_mean!,
      score: primaryOf(r, task)!,
      front: false,
    }));
    for (const i of paretoFront(pts, task.primary)) pts[i].front = true;
    const pareto = paretoSpec(pts, device, index, metric, lang);
    if (pareto) blocks.push({ kind: "figure", figure: await renderFigure(pareto) });
    const speed = rows.filter((r) =>
      num(r.predicted_speedup) !== undefined && num(r.measured_speedup) !== undefined
    )
      .map((r) => ({
        variant: r.variant,
        format: String(r.format),
        predicted: r.predicted_speedup!,
        measured: r.measured_speedup!,
      }));
    const speedup = speedupSpec(speed, device, index, lang);
    if (speedup) blocks.push({ kind: "figure", figure: await renderFigure(speedup) });
  }
  return blocks;
}

/** Options of {@linkcode conclusionSection}. */
export interface ConclusionOptions {
  /** The report also has the segmentation track: "add the U-Net" is no longer future work. @default false */
  segmentation?: boolean;
}

/** Conclusion sentences, each computed from the rows; future work as a list. */
export function conclusionSection(results: Results, lang: Lang, options: ConclusionOptions = {}): Block[] {
  const blocks: Block[] = [{
    kind: "heading",
    level: 2,
    text: t(lang, "conclusion.heading"),
    id: "conclusion",
  }];
  const items: string[] = [];
  const devices = devicesOf(results);
  const task = taskOf(results);
  const metric = metricLabels(task.primary, lang).word;
  for (const device of devices) {
    const head = [...headlineRows(results, device).values()].filter((r) => primaryOf(r, task) !== undefined);
    const pts = head.map((r) => ({ latency: r.latency_ms_mean!, score: primaryOf(r, task)! }));
    const front = paretoFront(pts, task.primary).map((i) => head[i]).sort((a, b) =>
      a.latency_ms_mean! - b.latency_ms_mean!
    );
    if (front.length > 0) {
      items.push(t(lang, "conclusion.front", {
        device,
        metric,
        list: front.map((r) =>
          `${r.variant} (${fixed(r.latency_ms_mean, 3)} ms, ${percent(primaryOf(r, task))} %)`
        ).join(", "),
      }));
    }
  }
  const summaries = variantSummaries(results, devices[0]);
  for (const kd of summaries.filter((s) => s.technique === "distillation" && s.facts.student)) {
    const alone = summaries.find((s) => s.technique === "baseline" && s.facts.student === kd.facts.student);
    const a = alone && primaryOfSummary(alone, task), k = primaryOfSummary(kd, task);
    if (a === undefined || k === undefined) continue;
    const delta = (k - a) * 100;
    const key: StringKey = Math.abs(delta) < 1e-9
      ? "conclusion.kdTie"
      : better(k, a, task.primary)
      ? "conclusion.kdWon"
      : "conclusion.kdLost";
    items.push(t(lang, key, {
      kd: kd.variant,
      alone: alone!.variant,
      k: percent(k),
      a: percent(a),
      d: fixed(Math.abs(delta), 2),
      metric,
    }));
  }
  const ref = referenceOf(summaries);
  const measured = summaries.filter((s) => s.measured && s !== ref);
  if (ref?.measured && measured.length > 0) {
    const fastest = measured.reduce((a, b) =>
      a.measured!.latency_ms_mean! <= b.measured!.latency_ms_mean! ? a : b
    );
    items.push(t(lang, "conclusion.fastest", {
      v: fastest.variant,
      ms: fixed(fastest.measured!.latency_ms_mean, 3),
      x: fixed(ref.measured.latency_ms_mean! / fastest.measured!.latency_ms_mean!, 2),
      ref: ref.variant,
      acc: percent(primaryOfSummary(fastest, task)),
      refAcc: percent(primaryOfSummary(ref, task)),
      metric,
    }));
  }
  for (
    const s of summaries.filter((s) => s.technique === "unstructured" && num(s.measured?.measured_speedup))
  ) {
    items.push(t(lang, "conclusion.unstructured", {
      v: s.variant,
      zeros: percent(num(s.facts.params_zero)! / num(s.facts.params_total)!, 1),
      x: fixed(s.measured!.measured_speedup, 2),
    }));
  }
  blocks.push(
    items.length > 0 ? { kind: "list", items } : { kind: "paragraph", text: t(lang, "conclusion.none") },
    { kind: "heading", level: 3, text: t(lang, "future.heading") },
    {
      kind: "list",
      items: [
        ...(devices.every((d) => d === "local") ? [t(lang, "future.devices")] : []),
        t(lang, "future.camera"),
        t(lang, "future.int8"),
        ...(options.segmentation ? [] : [t(lang, "future.unet")]),
      ],
    },
  );
  return blocks;
}

/** Models whose technique is `technique`. */
export function modelsOf(results: Results, technique: string): Record<string, ModelRecord> {
  return Object.fromEntries(
    Object.entries(results.models ?? {}).filter(([, m]) => m.technique === technique),
  );
}
