/**
 * Stage `report`: the bilingual (Korean/English) report of one profile, built only from
 * artifacts/<profile>/results.json and the cached outputs of the upstream stages.
 *
 * Writes report.<lang>.md for each language, one self-contained index.html with a language
 * switch, figures/<name>.svg, .png and .vl.json (the Vega-Lite spec) for every figure,
 * figures/samples/*.png (test images of the fetch stage's output) and, when results.json has a
 * segmentation track, figures/segmentation/*.png (test images with their true and predicted masks
 * overlaid, from the segmentation stages' out folders, found by the track's `stage_names`).
 * A results.json with only a classification track gives the classification report alone, one with
 * only a segmentation track the U-Net section alone.
 */
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";
import { buildDocument, type ReportDocument } from "../report/document.ts";
import { reportEnvironment } from "../report/environment.ts";
import { renderHtml } from "../report/html.ts";
import { LANGS } from "../report/i18n.ts";
import { recordedPredictions, sampleImages, svgToPng } from "../report/images.ts";
import { loadResultsFile } from "../report/load.ts";
import { renderMarkdown } from "../report/markdown.ts";
import { type OverlayGrid, overlayGrid } from "../report/overlay.ts";
import type { SegmentationInput } from "../report/segmentation.ts";
import type { LiveStripImage } from "../report/live.ts";
import {
  chosenPredictions,
  predictionSources,
  segTableRows,
  type SegTrack,
} from "../report/segmentation_data.ts";
import { trackOf } from "../core/results.ts";
import type { Results } from "./parts.ts";

export const paramsSchema = z.strictObject({
  /** Languages to write, in order; the first is the HTML page's default. */
  languages: z.array(z.enum(["ko", "en"])).min(1)
    .refine((l) => new Set(l).size === l.length, { message: "languages must not repeat" })
    .default([...LANGS]),
  /** Title in place of "edgeslim report — <profile>" (same in every language). */
  title: z.string().min(1).optional(),
  /** Test images shown in the sample grid (0 leaves it out). */
  samples: z.int().min(0).max(64).default(12),
  /** Test images of the segmentation overlay grid (0 leaves it out). */
  overlays: z.int().min(0).max(32).default(6),
});

export type ReportParams = z.infer<typeof paramsSchema>;

/** Build the report of `ctx.profile` into `ctx.outDir`. */
export async function run(ctx: StageContext<ReportParams>): Promise<StageResult> {
  const resultsPath = `${ctx.artifactsDir}/results.json`;
  const file = await loadResultsFile(resultsPath);
  const track = trackOf(file, "segmentation") as unknown as SegTrack | undefined;
  const classification = trackOf(file, "classification") !== undefined || track === undefined;
  const results: Results = trackOf(file, "classification") ??
    { ...file, task: "classification", stage_names: {}, models: {}, rows: [], extra: {} };
  const languages = ctx.params.languages ?? [...LANGS];
  await Deno.mkdir(`${ctx.outDir}/figures/samples`, { recursive: true });

  // Sample images come from the fetch stage's cached output; predictions only if a stage recorded them.
  const predictions = classification ? recordedPredictions(results) : undefined;
  const fetchDir = classification ? ctx.depDirs.fetch : undefined;
  const samples = fetchDir && (ctx.params.samples ?? 12) > 0
    ? await sampleImages(fetchDir, ctx.params.samples ?? 12, predictions?.items)
    : undefined;
  if (fetchDir && !samples) ctx.log.warn(`report: no dataset.json in "${fetchDir}"; sample grid left out`);
  const files: string[] = [];
  for (const s of samples ?? []) {
    await Deno.writeFile(`${ctx.outDir}/${s.file}`, s.png);
    files.push(s.file);
  }
  const segmentation = track ? { track, overlays: await overlays(ctx, track) } : undefined;
  for (const row of segmentation?.overlays?.rows ?? []) {
    for (const image of row.images) {
      await Deno.writeFile(`${ctx.outDir}/${image.file}`, image.png);
      files.push(image.file);
    }
  }
  const liveStrip = await liveStripImages(ctx, results);
  for (const image of liveStrip) {
    await Deno.mkdir(`${ctx.outDir}/figures/live`, { recursive: true });
    await Deno.writeFile(`${ctx.outDir}/${image.file}`, image.png);
    files.push(image.file);
  }
  const environment = await reportEnvironment(ctx.root);

  const docs: ReportDocument[] = [];
  for (const lang of languages) {
    const doc = await buildDocument(results, lang, {
      title: ctx.params.title,
      samples,
      predictionsModel: predictions?.model,
      environment,
      segmentation,
      classification,
      liveStrip,
    });
    docs.push(doc);
    for (const fig of doc.figures) {
      const png = fig.file.replace(/\.svg$/, ".png");
      await Deno.writeTextFile(`${ctx.outDir}/${fig.file}`, fig.svg);
      await Deno.writeFile(`${ctx.outDir}/${png}`, await svgToPng(fig.svg));
      await Deno.writeTextFile(`${ctx.outDir}/${fig.specFile}`, JSON.stringify(fig.spec, null, 2) + "\n");
      files.push(fig.file, png, fig.specFile);
    }
    const md = `report.${lang}.md`;
    await Deno.writeTextFile(`${ctx.outDir}/${md}`, renderMarkdown(doc));
    files.push(md);
    ctx.log.info(`report: wrote ${md} (${doc.figures.length} figure(s))`);
  }
  await Deno.writeTextFile(`${ctx.outDir}/index.html`, renderHtml(docs));
  files.push("index.html");
  ctx.log.info(`report: wrote index.html (${languages.join(", ")})`);

  return {
    summary: {
      results: resultsPath,
      languages,
      models: Object.keys(results.models ?? {}).length,
      figures: docs.reduce((n, d) => n + d.figures.length, 0),
      samples: samples?.length ?? 0,
      predictions: predictions ? "recorded" : "not recorded (true labels only)",
      ...(segmentation ? { segmentation: segmentationSummary(segmentation) } : {}),
      files: files.sort(),
    },
  };
}

/**
 * The overlay grid of the segmentation track: the test images of its fetch stage's out folder and
 * the chosen recorded masks from the out folders of the stages that wrote them. Undefined (and
 * said so) when the fetch folder or every prediction file is unavailable.
 */
async function overlays(ctx: StageContext<ReportParams>, track: SegTrack): Promise<OverlayGrid | undefined> {
  const count = ctx.params.overlays ?? 6;
  const stage = (role: string) => track.stage_names?.[role] ?? `seg_${role}`;
  const chosen = chosenPredictions(segTableRows(track), predictionSources(track));
  if (count === 0 || chosen.length === 0) return undefined;
  const fetchDir = ctx.depDirs[stage("fetch")];
  const log = ctx.log;
  if (!fetchDir) {
    log.warn(
      `report: stage "${stage("fetch")}" is not a dep of "report"; segmentation overlay grid left out`,
    );
    return undefined;
  }
  const inputs = chosen.flatMap((s) => {
    const dir = ctx.depDirs[stage(s.role)];
    if (!dir) {
      log.warn(`report: stage "${stage(s.role)}" is not a dep of "report"; masks of ${s.key} left out`);
    }
    return dir ? [{ label: s.key, dir, record: s.record }] : [];
  });
  if (inputs.length === 0) return undefined;
  const grid = await overlayGrid(fetchDir, inputs, count);
  if (!grid) log.warn(`report: no segmentation dataset.json in "${fetchDir}"; overlay grid left out`);
  for (const reason of grid?.skipped ?? []) log.warn(`report: overlay masks left out: ${reason}`);
  if (grid && grid.rows.length > 0) {
    await Deno.mkdir(`${ctx.outDir}/figures/segmentation`, { recursive: true });
  }
  return grid;
}

/** The live stage's strip of annotated frames (from its out folder), as figures/live/*.png. */
async function liveStripImages(ctx: StageContext<ReportParams>, results: Results): Promise<LiveStripImage[]> {
  const strip = results.extra?.live?.strip ?? [];
  const dir = ctx.depDirs[results.stage_names?.live ?? "live"];
  if (!strip.length || !dir) return [];
  const images: LiveStripImage[] = [];
  for (const s of strip) {
    try {
      images.push({
        file: `figures/live/${s.file.split("/").pop()}`,
        png: await Deno.readFile(`${dir}/${s.file}`),
        caption: s.caption,
      });
    } catch {
      ctx.log.warn(`report: live strip image "${dir}/${s.file}" is missing; left out`);
    }
  }
  return images;
}

function segmentationSummary(s: SegmentationInput): Record<string, unknown> {
  return {
    models: Object.keys(s.track.models ?? {}).length,
    rows: s.track.rows?.length ?? 0,
    overlays: s.overlays ? `${s.overlays.rows.length} image(s) × ${s.overlays.labels.join(", ")}` : "none",
  };
}
