/**
 * The report's live-inference section (seed 003's camera loop): per variant × format the
 * end-to-end FPS beside the classifier-only rate and the seed's Jetson Nano figures, a stacked
 * bar of where a frame's milliseconds go, an FPS comparison, and a strip of annotated frames.
 * Everything comes from the live stage's part (results.json `extra.live`) and its strip images.
 */
import type { TopLevelSpec } from "vega-lite";
import type { LivePart, LiveRunRecord } from "../stages/live.ts";
import type { Block } from "./document.ts";
import { BASE_CONFIG, type FigureSpec } from "./figures.ts";
import { fixed, MISSING } from "./format.ts";
import { type Lang, t } from "./i18n.ts";
import { renderFigure } from "./render.ts";
import { SEED_LABEL, seedFigure } from "./seed_figures.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const STAGES = ["capture", "detect", "preprocess", "classify", "draw"] as const;

/** A strip image as the report stage read it from the live stage's out folder. */
export interface LiveStripImage {
  file: string;
  png: Uint8Array;
  caption: string;
}

/** The section's blocks; none when results.json has no live part. */
export async function liveSection(
  live: LivePart | undefined,
  strip: LiveStripImage[],
  lang: Lang,
): Promise<Block[]> {
  if (!live?.runs?.length) return [];
  const s = live.settings, runs = live.runs;
  const blocks: Block[] = [
    { kind: "heading", level: 2, text: t(lang, "live.heading"), id: "live" },
    {
      kind: "paragraph",
      text: t(lang, "live.intro", {
        video: `\`${live.video.split("/").pop()}\``,
        width: live.width,
        height: live.height,
        frames: s.frames,
        scaleFactor: s.scaleFactor,
        minNeighbors: s.minNeighbors,
        minSize: s.minSize,
        detectScale: s.detectScale,
        detectEvery: s.detectEvery,
        device: runs[0].device,
        seed: SEED_LABEL[lang],
      }),
    },
    liveTable(runs, lang),
  ];
  const slowest = runs.reduce((a, b) => (b.ms_median.total > a.ms_median.total ? b : a));
  blocks.push({
    kind: "paragraph",
    text: t(lang, "live.hidden", {
      variant: slowest.variant,
      format: slowest.format,
      classify: fixed(slowest.ms_median.classify, 2),
      classifierFps: fixed(slowest.classifier_fps, 0),
      total: fixed(slowest.ms_median.total, 1),
      fps: fixed(slowest.fps, 1),
      detect: fixed(slowest.ms_median.detect, 1),
    }),
  });
  blocks.push({ kind: "figure", figure: await renderFigure(stagesSpec(runs, lang)) });
  blocks.push({ kind: "figure", figure: await renderFigure(fpsSpec(runs, lang)) });
  if (strip.length) {
    blocks.push({ kind: "heading", level: 3, text: t(lang, "live.strip"), id: "live-strip" });
    blocks.push({ kind: "images", items: strip });
  }
  return blocks;
}

/** Our rows, then the seed's FPS and classifier ms (Jetson Nano) for the same architecture. */
function liveTable(runs: LiveRunRecord[], lang: Lang): Block {
  const seed = SEED_LABEL[lang];
  return {
    kind: "table",
    header: [
      t(lang, "live.variant"),
      t(lang, "live.format"),
      t(lang, "live.fps"),
      t(lang, "live.classifierFps"),
      ...STAGES.map((k) => `${k} (ms)`),
      "total (ms)",
      t(lang, "live.faces"),
      `${seed}: ${t(lang, "live.seedFps")}`,
      `${seed}: ${t(lang, "live.seedMs")}`,
    ],
    align: ["left", "left", ...Array(11).fill("right")],
    rows: runs.map((r) => {
      const f = seedFigure("pruning", r.variant);
      return [
        r.variant,
        r.format,
        fixed(r.fps, 1),
        fixed(r.classifier_fps, 0),
        ...STAGES.map((k) => fixed(r.ms_median[k], 2)),
        fixed(r.ms_median.total, 2),
        String(r.faces),
        f?.fps !== undefined ? fixed(f.fps, 1) : MISSING,
        f?.latency_ms !== undefined ? fixed(f.latency_ms, 2) : MISSING,
      ];
    }),
  };
}

/** Stacked horizontal bars: a frame's median ms per stage, one bar per variant × format. */
export function stagesSpec(runs: LiveRunRecord[], lang: Lang): FigureSpec {
  const values = runs.flatMap((r) =>
    STAGES.map((stage, order) => ({ run: `${r.variant} ${r.format}`, stage, order, ms: r.ms_median[stage] }))
  );
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    data: { values },
    width: 480,
    height: { step: 22 },
    mark: "bar",
    encoding: {
      y: { field: "run", type: "nominal", title: null, sort: runs.map((r) => `${r.variant} ${r.format}`) },
      x: { field: "ms", type: "quantitative", stack: "zero", title: t(lang, "fig.ms") },
      color: { field: "stage", type: "nominal", title: t(lang, "fig.stage"), sort: [...STAGES] },
      order: { field: "order", type: "ordinal" },
      tooltip: [{ field: "run" }, { field: "stage" }, { field: "ms", format: ".2f" }],
    },
    config: BASE_CONFIG,
  };
  return { name: `live_stages.${lang}`, caption: t(lang, "live.stages.caption"), spec };
}

/** End-to-end FPS against the classifier-only rate per variant × format (log scale). */
export function fpsSpec(runs: LiveRunRecord[], lang: Lang): FigureSpec {
  const values = runs.flatMap((r) => [
    { run: `${r.variant} ${r.format}`, kind: t(lang, "live.kind.endToEnd"), rate: r.fps },
    { run: `${r.variant} ${r.format}`, kind: t(lang, "live.kind.classifier"), rate: r.classifier_fps },
  ]);
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    data: { values },
    width: 480,
    height: { step: 12 },
    mark: "bar",
    encoding: {
      y: { field: "run", type: "nominal", title: null, sort: runs.map((r) => `${r.variant} ${r.format}`) },
      yOffset: { field: "kind", type: "nominal" },
      x: { field: "rate", type: "quantitative", scale: { type: "log" }, title: t(lang, "fig.rate") },
      color: { field: "kind", type: "nominal", title: null },
      tooltip: [{ field: "run" }, { field: "kind" }, { field: "rate", format: ".1f" }],
    },
    config: BASE_CONFIG,
  };
  return { name: `live_fps.${lang}`, caption: t(lang, "live.fps.caption"), spec };
}
