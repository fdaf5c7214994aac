/**
 * The report's U-Net section (seed 000), from the segmentation track of results.json: the
 * lightweight-techniques table with the best Dice per parameter and per millisecond marked, the
 * seed's figures beside ours, validation curves, per device the latency of every format and the
 * Dice-against-latency Pareto front, the overlay grid of test masks, and a conclusion computed
 * from the rows. The seed's figures are in segmentation_seed.ts, beside ours.
 */
import type { StageStatus } from "../core/types.ts";
import { segmentation } from "../tasks/segmentation.ts";
import { describeObject } from "./describe.ts";
import type { Block } from "./document.ts";
import { duration, fixed, integer, MISSING, scalar } from "./format.ts";
import { type Lang, stageName, t } from "./i18n.ts";
import { metricLabels } from "./metric.ts";
import type { OverlayGrid } from "./overlay.ts";
import { renderFigure } from "./render.ts";
import { type ParetoPoint, paretoSpec } from "./result_figures.ts";
import {
  bestPerMs,
  bestPerParameter,
  depthwiseVariant,
  dicePerMParams,
  exportedScores,
  exportRecord,
  FP32_FORMATS,
  rowsOnDevice,
  segDevices,
  type SegRow,
  type SegTableRow,
  segTableRows,
  type SegTrack,
} from "./segmentation_data.ts";
import { diceParamsSpec, segCurvesSpec } from "./segmentation_figures.ts";
import { seedBlocks } from "./segmentation_seed.ts";
import { isRecord, num, paretoFront } from "./variants.ts";

const MIB = 2 ** 20;

/** What the section is built from: the track and, when the stage could read the files, the overlay grid. */
export interface SegmentationInput {
  track: SegTrack;
  overlays?: OverlayGrid;
}

/** Dice, IoU and loss as the seed prints them: a fraction with 4 decimals. */
const frac = (v: unknown) => fixed(v, 4);

/** The stage of the track that plays `role` (its name in the pipeline file). */
function stageOf(track: SegTrack, role: string): string {
  return track.stage_names?.[role] ?? `seg_${role}`;
}

function statusOf(track: SegTrack, role: string): StageStatus {
  return track.stages?.[stageOf(track, role)]?.status ?? "missing";
}

/** The notice of a stage that has not given this sub-section its numbers. */
function stageNotice(track: SegTrack, role: string, lang: Lang): Block {
  const status = statusOf(track, role);
  const stage = stageName(lang, stageOf(track, role));
  if (status === "done" || status === "cached") {
    return { kind: "paragraph", text: t(lang, "notice.noRows", { stage }) };
  }
  const key = status === "not_implemented"
    ? "notice.not_implemented"
    : status === "failed"
    ? "notice.failed"
    : "notice.missing";
  return { kind: "notice", status, text: t(lang, key, { stage }) };
}

/**
 * The U-Net section in `lang`. Every number is read from `input.track` (or the overlay files the
 * stages wrote); a value no stage recorded is shown as "—".
 */
export async function segmentationSection(input: SegmentationInput, lang: Lang): Promise<Block[]> {
  const { track } = input;
  const rows = segTableRows(track);
  return [
    { kind: "heading", level: 2, text: t(lang, "seg.heading"), id: "segmentation" },
    { kind: "paragraph", text: t(lang, "seg.intro") },
    ...dataBlocks(track, lang),
    ...await techniquesBlocks(track, rows, lang),
    ...seedBlocks(track, rows, lang),
    ...await curvesBlocks(track, lang),
    ...await deviceBlocks(track, rows, lang),
    ...overlayBlocks(input.overlays, lang),
    ...conclusionBlocks(track, rows, lang),
  ];
}

function dataBlocks(track: SegTrack, lang: Lang): Block[] {
  const extra = track.extra?.fetch;
  const details = isRecord(extra?.dataset) ? extra.dataset : undefined;
  const head: Block = { kind: "heading", level: 3, text: t(lang, "seg.data.heading"), id: "seg-dataset" };
  if (!details || Object.keys(details).length === 0) return [head, stageNotice(track, "fetch", lang)];
  return [head, ...describeObject(details, lang)];
}

async function techniquesBlocks(track: SegTrack, rows: SegTableRow[], lang: Lang): Promise<Block[]> {
  const blocks: Block[] = [{
    kind: "heading",
    level: 3,
    text: t(lang, "seg.table.heading"),
    id: "seg-techniques",
  }];
  if (rows.length === 0) return [...blocks, stageNotice(track, "train", lang)];
  const devices = segDevices(track);
  const bestParam = bestPerParameter(rows);
  const bestMs = new Map(devices.map((d) => [d, bestPerMs(rows, d)]));
  const header = [
    t(lang, "col.variant"),
    t(lang, "col.technique"),
    t(lang, "col.format"),
    t(lang, "col.paramsTotal"),
    t(lang, "col.paramsNonzero"),
    t(lang, "col.flopsM"),
    t(lang, "col.sizeMiB"),
    t(lang, "seg.col.dice"),
    t(lang, "seg.col.iou"),
    t(lang, "seg.col.loss"),
    t(lang, "seg.col.dicePerM"),
    ...devices.flatMap((
      device,
    ) => [t(lang, "seg.col.latencyOn", { device }), t(lang, "seg.col.fpsOn", { device })]),
    t(lang, "col.trainTime"),
    t(lang, "seg.col.best"),
  ];
  const body = rows.map((r) => {
    const flops = num(r.facts.flops);
    const marks = [
      ...(r === bestParam ? [t(lang, "seg.best.param")] : []),
      ...devices.filter((d) => bestMs.get(d) === r).map((device) => t(lang, "seg.best.ms", { device })),
    ];
    return [
      r.variant,
      r.technique || MISSING,
      r.format,
      integer(r.facts.params_total),
      integer(r.facts.params_nonzero),
      flops === undefined ? MISSING : fixed(flops / 1e6, 1),
      r.size_bytes === undefined ? MISSING : fixed(r.size_bytes / MIB, 3),
      frac(r.dice),
      frac(r.iou),
      frac(r.loss),
      r.format === "fp32" ? fixed(dicePerMParams(r), 3) : MISSING,
      ...devices.flatMap((d) => [fixed(r.measured[d]?.latency_ms_mean, 2), fixed(r.measured[d]?.fps, 1)]),
      r.format === "fp32" ? duration(r.train_seconds, lang) : MISSING,
      marks.join(" · "),
    ];
  });
  blocks.push(
    {
      kind: "table",
      header,
      rows: body,
      align: header.map((_, i) => i < 3 || i === header.length - 1 ? "left" : "right"),
    },
    { kind: "paragraph", text: t(lang, "seg.table.note", { fp32: FP32_FORMATS.join(" / ") }) },
  );
  const points = rows.filter((r) =>
    r.format === "fp32" && r.dice !== undefined && num(r.facts.params_nonzero)
  )
    .map((r) => ({
      variant: r.variant,
      technique: r.technique,
      params: r.facts.params_nonzero!,
      dice: r.dice!,
      best: r === bestParam,
    }));
  const figure = diceParamsSpec(points, lang);
  if (figure) blocks.push({ kind: "figure", figure: await renderFigure(figure) });
  return blocks;
}

async function curvesBlocks(track: SegTrack, lang: Lang): Promise<Block[]> {
  const spec = segCurvesSpec(track.models ?? {}, lang);
  return [
    { kind: "heading", level: 3, text: t(lang, "curves.heading"), id: "seg-curves" },
    spec
      ? { kind: "figure", figure: await renderFigure(spec) }
      : { kind: "paragraph", text: t(lang, "curves.none") },
  ];
}

/** Dice of a measured row: measured there, else the export stage's for that file, else (tfjs) the trained model's. */
function rowDice(track: SegTrack, rows: SegTableRow[], r: SegRow): number | undefined {
  const exported = exportedScores(exportRecord(track, r.variant, String(r.format))).dice;
  const trained = r.format === "tfjs"
    ? rows.find((x) => x.variant === r.variant && x.format === "fp32")?.dice
    : undefined;
  return num(r.dice) ?? exported ?? trained;
}

/** Per device: latency, FPS and Dice of every variant × format, and the Dice-against-latency Pareto front. */
async function deviceBlocks(track: SegTrack, rows: SegTableRow[], lang: Lang): Promise<Block[]> {
  const devices = segDevices(track);
  if (devices.length === 0) {
    return [
      { kind: "heading", level: 3, text: t(lang, "seg.devices.heading"), id: "seg-devices" },
      stageNotice(track, "bench", lang),
    ];
  }
  const metric = metricLabels(segmentation().primary, lang);
  const blocks: Block[] = [];
  for (const [index, device] of devices.entries()) {
    const measured = rowsOnDevice(track, device);
    const formats = [...new Set(measured.map((r) => String(r.format)))];
    const variants = [...new Set(measured.map((r) => r.variant))];
    const cell = (v: string, f: string) => measured.find((r) => r.variant === v && r.format === f);
    blocks.push(
      { kind: "heading", level: 3, text: `${t(lang, "seg.devices.heading")} — ${device}` },
      {
        kind: "table",
        header: [
          t(lang, "col.variant"),
          ...formats.flatMap((
            f,
          ) => [`${f} ${t(lang, "col.latency")}`, `${f} ${t(lang, "col.fps")}`, `${f} Dice`]),
        ],
        align: ["left", ...formats.flatMap(() => ["right", "right", "right"] as const)],
        rows: variants.map((v) => [
          v,
          ...formats.flatMap((f) => {
            const r = cell(v, f);
            return [fixed(r?.latency_ms_mean, 2), fixed(r?.fps, 1), frac(r && rowDice(track, rows, r))];
          }),
        ]),
      },
      {
        kind: "paragraph",
        text: t(lang, "devices.tableNote", {
          threads: [...new Set(measured.map((r) => scalar(r.threads)))].join(", "),
          runs: scalar(measured[0]?.runs),
          metric: metric.word,
        }),
      },
    );
    const points: ParetoPoint[] = measured.flatMap((r) => {
      const score = rowDice(track, rows, r);
      return score === undefined ? [] : [{
        variant: r.variant,
        technique: r.technique,
        format: String(r.format),
        latency: r.latency_ms_mean!,
        score,
        front: false,
      }];
    });
    for (const i of paretoFront(points)) points[i].front = true;
    const spec = paretoSpec(points, device, index, metric, lang, {
      name: `seg_pareto_${index}`,
      scoreFormat: ".3f",
    });
    if (spec) blocks.push({ kind: "figure", figure: await renderFigure(spec) });
  }
  return blocks;
}

function overlayBlocks(grid: OverlayGrid | undefined, lang: Lang): Block[] {
  const head: Block = {
    kind: "heading",
    level: 3,
    text: t(lang, "seg.overlays.heading"),
    id: "seg-overlays",
  };
  if (!grid || grid.rows.length === 0 || grid.labels.length === 0) {
    return [head, { kind: "paragraph", text: t(lang, "seg.overlays.none") }];
  }
  const columns = [t(lang, "seg.overlays.image"), t(lang, "seg.overlays.truth"), ...grid.labels];
  return [
    head,
    {
      kind: "paragraph",
      text: t(lang, "seg.overlays.intro", { n: grid.rows.length, list: grid.labels.join(", ") }),
    },
    {
      kind: "imageGrid",
      header: columns,
      px: grid.px,
      rows: grid.rows.map((row) =>
        row.images.map((image, c) => ({ ...image, caption: `#${row.index} ${columns[c] ?? ""}`.trim() }))
      ),
    },
  ];
}

function conclusionBlocks(track: SegTrack, rows: SegTableRow[], lang: Lang): Block[] {
  const items: string[] = [];
  const best = bestPerParameter(rows);
  if (best) {
    const dw = rows.find((r) => r.variant === depthwiseVariant(rows) && r.format === "fp32");
    const vars = {
      v: best.variant,
      technique: best.technique || MISSING,
      dice: frac(best.dice),
      params: integer(best.facts.params_nonzero),
      ratio: fixed(dicePerMParams(best), 3),
      dw: dw?.variant ?? MISSING,
      dwRatio: fixed(dw && dicePerMParams(dw), 3),
    };
    const key = !dw
      ? "seg.conclusion.paramNoDw"
      : dw === best
      ? "seg.conclusion.paramMatch"
      : "seg.conclusion.paramDiffer";
    items.push(t(lang, key, vars));
  }
  for (const device of segDevices(track)) {
    const r = bestPerMs(rows, device);
    if (r) {
      const m = r.measured[device]!;
      const format = r.format === "fp32" ? String(m.format) : r.format;
      items.push(
        t(lang, "seg.conclusion.ms", {
          device,
          v: r.variant,
          format,
          dice: frac(r.dice),
          ms: fixed(m.latency_ms_mean, 2),
        }),
      );
    }
    const pts = rows.flatMap((x) => {
      const ms = num(x.measured[device]?.latency_ms_mean);
      return ms === undefined || x.dice === undefined ? [] : [{ row: x, latency: ms, score: x.dice }];
    });
    const front = paretoFront(pts).map((i) => pts[i]).sort((a, b) => a.latency - b.latency);
    if (front.length > 0) {
      const list = front.map((p) =>
        `${p.row.variant} ${
          p.row.format === "fp32" ? String(p.row.measured[device]!.format) : p.row.format
        } ` +
        `(${fixed(p.latency, 2)} ms, Dice ${frac(p.score)})`
      ).join(", ");
      items.push(t(lang, "seg.conclusion.front", { device, list }));
    }
  }
  items.push(...distillationItems(track, rows, lang));
  return [
    { kind: "heading", level: 3, text: t(lang, "seg.conclusion.heading"), id: "seg-conclusion" },
    items.length > 0 ? { kind: "list", items } : { kind: "paragraph", text: t(lang, "seg.conclusion.none") },
  ];
}

/** Each student distilled against trained alone, from the compress stage's `comparison`. */
function distillationItems(track: SegTrack, rows: SegTableRow[], lang: Lang): string[] {
  const students = track.extra?.compress?.comparison;
  const all = isRecord(students) && isRecord(students.students) ? students.students : {};
  const items: string[] = [];
  for (const [student, c] of Object.entries(all)) {
    if (!isRecord(c)) continue;
    const a = num(c.alone), k = num(c.distillation), delta = num(c.delta_points);
    if (a === undefined || k === undefined || delta === undefined) continue;
    const fp32 = rows.filter((r) => r.format === "fp32");
    const kd = fp32.find((r) => r.technique === "distillation" && r.facts.student === student)?.variant ??
      `${student} (KD)`;
    const alone = fp32.find((r) =>
      r.technique !== "distillation" && (r.variant === student || r.facts.student === student)
    )
      ?.variant ?? student;
    const key = Math.abs(delta) < 1e-9
      ? "seg.conclusion.kdTie"
      : delta > 0
      ? "seg.conclusion.kdWon"
      : "seg.conclusion.kdLost";
    items.push(t(lang, key, { kd, alone, k: frac(k), a: frac(a), d: fixed(Math.abs(delta), 2) }));
  }
  return items;
}
