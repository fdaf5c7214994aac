/**
 * The report as a list of language-neutral blocks (headings, paragraphs, tables, figures,
 * notices), built from results.json for one language. markdown.ts and html.ts only print
 * these blocks, so a new section is added here once and shows up in every output.
 */
import type { StageStatus } from "../core/types.ts";
import type { Results } from "../stages/parts.ts";
import type { ModelRecord } from "../tasks/classification_records.ts";
import { type AnyTask, primaryOf, taskOf } from "../tasks/mod.ts";
import { metricLabels } from "./metric.ts";
import { duration, fixed, integer, MISSING, percent, scalar, shortSha } from "./format.ts";
import { trainingCurvesSpec } from "./figures.ts";
import { confusionSpec } from "./result_figures.ts";
import { type Lang, stageName, t } from "./i18n.ts";
import { type RenderedFigure, renderFigure } from "./render.ts";
import type { ReportEnvironment } from "./environment.ts";
import type { SampleImage } from "./images.ts";
import { describeObject, kvTable } from "./describe.ts";
import { isRecord } from "./variants.ts";
import { type SegmentationInput, segmentationSection } from "./segmentation.ts";
import { liveSection, type LiveStripImage } from "./live.ts";
import type { LivePart } from "../stages/live.ts";
import {
  comparisonSection,
  conclusionSection,
  devicesSection,
  modelsOf,
  techniquesSection,
} from "./sections.ts";

/** Text alignment of a table column. */
export type Align = "left" | "right";

export type Block =
  | { kind: "heading"; level: 1 | 2 | 3; text: string; id?: string }
  | { kind: "paragraph"; text: string }
  | { kind: "table"; header: string[]; rows: string[][]; align?: Align[] }
  | { kind: "figure"; figure: RenderedFigure }
  | { kind: "notice"; status: StageStatus; text: string }
  | { kind: "list"; items: string[] }
  | { kind: "images"; items: { file: string; png: Uint8Array; caption: string }[] }
  | {
    kind: "imageGrid";
    header: string[];
    rows: { file: string; png: Uint8Array; caption: string }[][];
    px: number;
  };

/** The report in one language. */
export interface ReportDocument {
  lang: Lang;
  title: string;
  blocks: Block[];
  figures: RenderedFigure[];
}

export interface BuildOptions {
  /** Title to use in place of the default "edgeslim report — <profile>". */
  title?: string;
  /** Test images for the sample grid (read from the fetch stage's out folder by the stage). */
  samples?: SampleImage[];
  /** Model whose recorded predictions the samples carry, if any. */
  predictionsModel?: string;
  /** Where and when the report was built. */
  environment?: ReportEnvironment;
  /** The segmentation track (seed 000) and its overlay grid, when results.json has one. */
  segmentation?: SegmentationInput;
  /** Annotated frames of the live stage (read from its out folder by the report stage). */
  liveStrip?: LiveStripImage[];
  /** Show the classification track's sections; false when results.json has only the segmentation track. @default true */
  classification?: boolean;
}

/** Stages the pipeline declares, in order; each gets a status row and, if not run, a notice. */
export const PIPELINE_STAGES = ["fetch", "train", "compress", "export", "bench"] as const;

function statusOf(results: Results, stage: string): StageStatus {
  return results.stages[stage]?.status ?? "missing";
}

function hasResults(status: StageStatus): boolean {
  return status === "done" || status === "cached";
}

function notice(lang: Lang, stage: string, status: StageStatus): Block {
  const key = status === "not_implemented"
    ? "notice.not_implemented"
    : status === "failed"
    ? "notice.failed"
    : "notice.missing";
  return { kind: "notice", status, text: t(lang, key, { stage: stageName(lang, stage) }) };
}

/**
 * Build the report for `lang`: the blocks and the rendered figures they show. Every number comes
 * from `results` (the classification track) and `options.segmentation` (the segmentation track);
 * with both, the title and overview say that the report covers both seeds.
 */
export async function buildDocument(
  results: Results,
  lang: Lang,
  options: BuildOptions = {},
): Promise<ReportDocument> {
  const seg = options.segmentation;
  const withClassification = options.classification ?? true;
  const scope = !seg ? undefined : withClassification ? "both" : "segOnly";
  const title = options.title ??
    t(lang, scope === "both" ? "title.both" : "title.default", { profile: results.profile });
  const blocks: Block[] = [{ kind: "heading", level: 1, text: title }];
  const figures: RenderedFigure[] = [];

  blocks.push(...overviewSection(results, lang, scope));
  blocks.push(...stagesSection(results, lang, withClassification));
  if (withClassification) blocks.push(...await classificationSections(results, lang, options));
  if (seg) blocks.push(...await segmentationSection(seg, lang));
  blocks.push(...footerSection(withClassification || !seg ? results : seg.track, lang, options.environment));
  for (const b of blocks) if (b.kind === "figure") figures.push(b.figure);
  return { lang, title, blocks, figures };
}

/** The classification track (seed 003): data, models, techniques, export, devices, conclusion. */
async function classificationSections(results: Results, lang: Lang, options: BuildOptions): Promise<Block[]> {
  const blocks: Block[] = [];
  blocks.push(...datasetSection(results, lang));
  blocks.push(...samplesSection(lang, options));

  const models = results.models ?? {};
  const trainStatus = statusOf(results, "train");
  blocks.push({ kind: "heading", level: 2, text: t(lang, "models.heading"), id: "models" });
  if (Object.keys(models).length === 0) {
    blocks.push(
      hasResults(trainStatus) ? { kind: "paragraph", text: t(lang, "models.none") } : notice(
        lang,
        "train",
        trainStatus,
      ),
    );
  } else {
    blocks.push(...architectureSection(models, lang));
    blocks.push(...metricsSection(models, taskOf(results), lang));
    blocks.push({ kind: "heading", level: 3, text: t(lang, "curves.heading"), id: "curves" });
    // With compress done, each technique's curves are in its own section; here the baselines.
    const compressed = hasResults(statusOf(results, "compress"));
    const curves = trainingCurvesSpec(compressed ? modelsOf(results, "baseline") : models, lang);
    if (curves) {
      blocks.push({ kind: "figure", figure: await renderFigure(curves) });
    } else {
      blocks.push({ kind: "paragraph", text: t(lang, "curves.none") });
    }
    const heat = confusionSpec(models, lang);
    if (heat) {
      blocks.push({ kind: "heading", level: 3, text: t(lang, "confusion.heading"), id: "confusion" });
      blocks.push({ kind: "figure", figure: await renderFigure(heat) });
    }
  }

  blocks.push({ kind: "heading", level: 2, text: t(lang, "compress.heading"), id: "compress" });
  if (hasResults(statusOf(results, "compress"))) {
    blocks.push({ kind: "paragraph", text: t(lang, "techniques.intro") });
    blocks.push(...await techniquesSection(results, lang));
  } else {
    blocks.push(notice(lang, "compress", statusOf(results, "compress")));
  }
  blocks.push(...await comparisonSection(results, lang));
  blocks.push(...laterStageSection(results, "export", lang));
  blocks.push({ kind: "heading", level: 2, text: t(lang, "bench.heading"), id: "bench" });
  const device = await devicesSection(results, lang);
  blocks.push(...(device.length > 0 ? device : [notice(lang, "bench", statusOf(results, "bench"))]));
  const live = results.extra?.live;
  blocks.push(
    ...await liveSection(
      live ? { ...live, task: "classification" } as LivePart : undefined,
      options.liveStrip ?? [],
      lang,
    ),
  );
  blocks.push(...conclusionSection(results, lang, { segmentation: options.segmentation !== undefined }));
  return blocks;
}

function overviewSection(results: Results, lang: Lang, scope?: "both" | "segOnly"): Block[] {
  const intro = t(lang, "overview.intro", { profile: results.profile });
  return [
    { kind: "heading", level: 2, text: t(lang, "overview.heading"), id: "overview" },
    { kind: "paragraph", text: scope ? `${intro} ${t(lang, `overview.${scope}`)}` : intro },
    kvTable(lang, [
      [t(lang, "overview.profile"), results.profile],
      [t(lang, "overview.seed"), results.seed === undefined ? MISSING : String(results.seed)],
      [t(lang, "overview.generatedAt"), results.generated_at ?? MISSING],
      [t(lang, "overview.pipelineFile"), results.pipeline_file ?? MISSING],
      [t(lang, "overview.pipelineSha"), shortSha(results.pipeline_sha256)],
    ]),
  ];
}

/** Every stage results.json records (and, for the classification track, every one the pipeline declares). */
function stagesSection(results: Results, lang: Lang, withClassification: boolean): Block[] {
  const declared = withClassification ? PIPELINE_STAGES : [];
  const names = [...declared, ...Object.keys(results.stages).filter((s) => s !== "report")];
  const unique = [...new Set<string>(names)];
  return [
    { kind: "heading", level: 2, text: t(lang, "stages.heading"), id: "stages" },
    {
      kind: "table",
      header: [t(lang, "stages.stage"), t(lang, "stages.status"), t(lang, "stages.seconds")],
      align: ["left", "left", "right"],
      rows: unique.map((s) => [
        stageName(lang, s),
        t(lang, `status.${statusOf(results, s)}`),
        duration(results.stages[s]?.seconds, lang),
      ]),
    },
  ];
}

function datasetSection(results: Results, lang: Lang): Block[] {
  const blocks: Block[] = [{ kind: "heading", level: 2, text: t(lang, "dataset.heading"), id: "dataset" }];
  const summary = results.stages.fetch?.summary;
  const extra = results.extra?.fetch;
  const details = isRecord(extra?.dataset) ? extra.dataset : extra;
  const status = statusOf(results, "fetch");
  const hasSummary = isRecord(summary) && Object.keys(summary).length > 0;
  const hasDetails = isRecord(details) && Object.keys(details).length > 0;
  if (!hasSummary && !hasDetails) {
    blocks.push(
      hasResults(status) ? { kind: "paragraph", text: t(lang, "dataset.empty") } : notice(
        lang,
        "fetch",
        status,
      ),
    );
    return blocks;
  }
  // The fetch summary repeats most of the dataset record; show each value once, the record's first.
  const merged: Record<string, unknown> = { ...(hasDetails ? details : {}) };
  const seen = new Set(Object.values(merged).map((v) => JSON.stringify(v)));
  for (const [k, v] of Object.entries(hasSummary ? summary : {})) {
    if (!(k in merged) && !seen.has(JSON.stringify(v))) merged[k] = v;
  }
  blocks.push(...describeObject(merged, lang));
  return blocks;
}

/** Trained classifiers' test metrics: the primary one, then precision / recall / F1 (classification's). */
function metricsSection(models: Record<string, ModelRecord>, task: AnyTask, lang: Lang): Block[] {
  const positives = [
    ...new Set(Object.values(models).map((m) => m.test?.positive_class).filter((p) => typeof p === "string")),
  ];
  const rows = Object.entries(models).map(([name, m]) => {
    const epochs = Array.isArray(m.history) ? m.history.length : undefined;
    return [
      name,
      m.technique ?? MISSING,
      integer(m.params_torch),
      integer(m.params_tfjs),
      integer(m.best_epoch),
      epochs === undefined
        ? MISSING
        : integer(epochs) + (m.stopped_early ? ` ${t(lang, "col.stoppedEarly")}` : ""),
      percent(primaryOf(m.test, task)),
      fixed(m.test?.precision, 4),
      fixed(m.test?.recall, 4),
      fixed(m.test?.f1, 4),
      duration(m.train_seconds, lang),
    ];
  });
  return [
    {
      kind: "paragraph",
      text: t(lang, "models.intro", { positive: positives.length > 0 ? positives.join(", ") : MISSING }),
    },
    {
      kind: "table",
      header: [
        t(lang, "col.model"),
        t(lang, "col.technique"),
        t(lang, "col.paramsTorch"),
        t(lang, "col.paramsTfjs"),
        t(lang, "col.bestEpoch"),
        t(lang, "col.epochs"),
        metricLabels(task.primary, lang).column,
        t(lang, "col.precision"),
        t(lang, "col.recall"),
        t(lang, "col.f1"),
        t(lang, "col.trainTime"),
      ],
      align: [
        "left",
        "left",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
        "right",
      ],
      rows,
    },
  ];
}

/** The sample grid: true labels, and predictions only where a stage recorded them. */
function samplesSection(lang: Lang, options: BuildOptions): Block[] {
  const samples = options.samples;
  const blocks: Block[] = [{ kind: "heading", level: 3, text: t(lang, "samples.heading"), id: "samples" }];
  if (!samples || samples.length === 0) {
    return [...blocks, { kind: "paragraph", text: t(lang, "samples.none") }];
  }
  const predicted = samples.some((s) => s.predicted !== undefined);
  blocks.push({
    kind: "paragraph",
    text: predicted
      ? t(lang, "samples.withPredictions", { n: samples.length, model: options.predictionsModel ?? MISSING })
      : t(lang, "samples.trueOnly", { n: samples.length }),
  });
  blocks.push({
    kind: "images",
    items: samples.map((s) => ({
      file: s.file,
      png: s.png,
      caption: `#${s.index} ${t(lang, "samples.true")}: ${s.label}` +
        (s.predicted === undefined ? "" : ` · ${t(lang, "samples.pred")}: ${s.predicted}` +
          (s.probability === undefined ? "" : ` (${percent(s.probability, 1)} %)`)),
    })),
  });
  return blocks;
}

/** Channels and dropout of each trained model, as the seed's architecture description. */
function architectureSection(models: Record<string, ModelRecord>, lang: Lang): Block[] {
  const rows = Object.entries(models)
    .filter(([, m]) => m.technique === "baseline" && isRecord(m.spec))
    .map(([name, m]) => [
      name,
      Array.isArray(m.spec.channels) ? m.spec.channels.join("-") : MISSING,
      scalar(m.spec.dropout),
      integer(m.params_torch),
    ]);
  if (rows.length === 0) return [];
  return [
    { kind: "paragraph", text: t(lang, "base.intro") },
    {
      kind: "table",
      header: [
        t(lang, "col.model"),
        t(lang, "col.channels"),
        t(lang, "col.dropout"),
        t(lang, "col.paramsTorch"),
      ],
      align: ["left", "left", "right", "right"],
      rows,
    },
  ];
}

/** The export stage: one row per variant, file size (KiB) per format and the fp32 parity. */
function laterStageSection(results: Results, stage: "export", lang: Lang): Block[] {
  const blocks: Block[] = [{ kind: "heading", level: 2, text: t(lang, `${stage}.heading`), id: stage }];
  const status = statusOf(results, stage);
  if (!hasResults(status)) return [...blocks, notice(lang, stage, status)];
  const exports = results.extra?.export?.exports;
  if (!isRecord(exports) || Object.keys(exports).length === 0) {
    return [...blocks, {
      kind: "paragraph",
      text: t(lang, "notice.noRows", { stage: stageName(lang, stage) }),
    }];
  }
  const formatsOf = (e: unknown) => isRecord(e) && isRecord(e.formats) ? e.formats : {};
  const formats = [...new Set(Object.values(exports).flatMap((e) => Object.keys(formatsOf(e))))];
  const field = (e: unknown, f: string, key: string) => {
    const r = formatsOf(e)[f];
    return isRecord(r) ? r[key] : undefined;
  };
  blocks.push({
    kind: "table",
    header: [
      t(lang, "col.variant"),
      ...formats.map((f) => `${f} (KiB)`),
      "max |Δ| onnx-fp32 vs tfjs",
    ],
    align: ["left", ...formats.map(() => "right" as const), "right"],
    rows: Object.entries(exports).map(([name, e]) => [
      name,
      ...formats.map((f) => {
        const bytes = field(e, f, "size_bytes");
        return typeof bytes === "number" ? fixed(bytes / 1024, 1) : MISSING;
      }),
      (() => {
        const d = field(e, "onnx-fp32", "max_abs_diff_vs_tfjs");
        return typeof d === "number" ? d.toExponential(1) : MISSING;
      })(),
    ]),
  });
  return blocks;
}

/** What the footer reads: the file's header and the stages' extras (bench machine, devices) of one track. */
type FooterSource = Pick<Results, "profile" | "generated_at" | "pipeline_file" | "pipeline_sha256"> & {
  extra?: Record<string, Record<string, unknown> | undefined>;
};

function footerSection(results: FooterSource, lang: Lang, env?: ReportEnvironment): Block[] {
  const rows: [string, string][] = [
    [t(lang, "overview.profile"), results.profile],
    [t(lang, "overview.generatedAt"), results.generated_at ?? MISSING],
    [t(lang, "overview.pipelineFile"), results.pipeline_file ?? MISSING],
    [t(lang, "overview.pipelineSha"), shortSha(results.pipeline_sha256)],
  ];
  if (env) {
    rows.push([t(lang, "env.deno"), env.deno]);
    for (const [name, version] of Object.entries(env.packages)) rows.push([name, version]);
    rows.push([t(lang, "env.commit"), env.commit], [t(lang, "env.date"), env.date]);
  }
  const machine = results.extra?.bench?.machine;
  if (isRecord(machine)) {
    rows.push([
      t(lang, "env.machine"),
      Object.entries(machine).map(([k, v]) =>
        `${k}: ${k === "ram_bytes" ? fixed(Number(v) / 2 ** 30, 1) + " GiB" : scalar(v)}`
      )
        .join(" · "),
    ]);
  }
  for (const extra of Object.values(results.extra ?? {})) {
    if (isRecord(extra?.devices) || Array.isArray(extra?.devices)) {
      rows.push([t(lang, "env.devices"), scalar(extra!.devices)]);
    }
  }
  return [
    { kind: "heading", level: 2, text: t(lang, "footer.heading"), id: "environment" },
    kvTable(lang, rows),
    { kind: "paragraph", text: t(lang, "footer.generatedBy") },
  ];
}
