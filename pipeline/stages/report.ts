/**
 * Stage `report`: the bilingual (Korean/English) report of one profile, built only from
 * artifacts/<profile>/results.json and the cached outputs of the upstream stages.
 *
 * Writes report.<lang>.md for each language, one self-contained index.html with a language
 * switch, figures/<name>.svg, .png and .vl.json (the Vega-Lite spec) for every figure, and
 * figures/samples/*.png (test images of the fetch stage's output).
 */
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";
import { buildDocument, type ReportDocument } from "../report/document.ts";
import { reportEnvironment } from "../report/environment.ts";
import { renderHtml } from "../report/html.ts";
import { LANGS } from "../report/i18n.ts";
import { recordedPredictions, sampleImages, svgToPng } from "../report/images.ts";
import { loadResults } from "../report/load.ts";
import { renderMarkdown } from "../report/markdown.ts";

export const paramsSchema = z.strictObject({
  /** Languages to write, in order; the first is the HTML page's default. */
  languages: z.array(z.enum(["ko", "en"])).min(1)
    .refine((l) => new Set(l).size === l.length, { message: "languages must not repeat" })
    .default([...LANGS]),
  /** Title in place of "edgeslim report — <profile>" (same in every language). */
  title: z.string().min(1).optional(),
  /** Test images shown in the sample grid (0 leaves it out). */
  samples: z.int().min(0).max(64).default(12),
});

export type ReportParams = z.infer<typeof paramsSchema>;

/** Build the report of `ctx.profile` into `ctx.outDir`. */
export async function run(ctx: StageContext<ReportParams>): Promise<StageResult> {
  const resultsPath = `${ctx.artifactsDir}/results.json`;
  const results = await loadResults(resultsPath);
  const languages = ctx.params.languages ?? [...LANGS];
  await Deno.mkdir(`${ctx.outDir}/figures/samples`, { recursive: true });

  // Sample images come from the fetch stage's cached output; predictions only if a stage recorded them.
  const predictions = recordedPredictions(results);
  const fetchDir = ctx.depDirs.fetch;
  const samples = fetchDir && (ctx.params.samples ?? 12) > 0
    ? await sampleImages(fetchDir, ctx.params.samples ?? 12, predictions?.items)
    : undefined;
  if (fetchDir && !samples) ctx.log.warn(`report: no dataset.json in "${fetchDir}"; sample grid left out`);
  const files: string[] = [];
  for (const s of samples ?? []) {
    await Deno.writeFile(`${ctx.outDir}/${s.file}`, s.png);
    files.push(s.file);
  }
  const environment = await reportEnvironment(ctx.root);

  const docs: ReportDocument[] = [];
  for (const lang of languages) {
    const doc = await buildDocument(results, lang, {
      title: ctx.params.title,
      samples,
      predictionsModel: predictions?.model,
      environment,
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
      files: files.sort(),
    },
  };
}
