/**
 * Stage `report`: the bilingual (Korean/English) report of one profile, built only from
 * artifacts/<profile>/results.json.
 *
 * Writes report.<lang>.md for each language, one self-contained index.html with a language
 * switch, and figures/<name>.svg plus figures/<name>.vl.json (the Vega-Lite spec).
 */
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";
import { buildDocument, type ReportDocument } from "../report/document.ts";
import { renderHtml } from "../report/html.ts";
import { LANGS } from "../report/i18n.ts";
import { loadResults } from "../report/load.ts";
import { renderMarkdown } from "../report/markdown.ts";

export const paramsSchema = z.strictObject({
  /** Languages to write, in order; the first is the HTML page's default. */
  languages: z.array(z.enum(["ko", "en"])).min(1)
    .refine((l) => new Set(l).size === l.length, { message: "languages must not repeat" })
    .default([...LANGS]),
  /** Title in place of "edgeslim report — <profile>" (same in every language). */
  title: z.string().min(1).optional(),
});

export type ReportParams = z.infer<typeof paramsSchema>;

/** Build the report of `ctx.profile` into `ctx.outDir`. */
export async function run(ctx: StageContext<ReportParams>): Promise<StageResult> {
  const resultsPath = `${ctx.artifactsDir}/results.json`;
  const results = await loadResults(resultsPath);
  const languages = ctx.params.languages ?? [...LANGS];
  await Deno.mkdir(`${ctx.outDir}/figures`, { recursive: true });

  const docs: ReportDocument[] = [];
  const files: string[] = [];
  for (const lang of languages) {
    const doc = await buildDocument(results, lang, { title: ctx.params.title });
    docs.push(doc);
    for (const fig of doc.figures) {
      await Deno.writeTextFile(`${ctx.outDir}/${fig.file}`, fig.svg);
      await Deno.writeTextFile(`${ctx.outDir}/${fig.specFile}`, JSON.stringify(fig.spec, null, 2) + "\n");
      files.push(fig.file, fig.specFile);
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
      files: files.sort(),
    },
  };
}
