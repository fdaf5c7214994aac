/**
 * Run one pipeline stage from a notebook, with the params the pipeline file gives it for a
 * profile (so a notebook's numbers are the pipeline's: same settings, same seed), into a temp
 * out folder, its log and per-epoch progress printed in the cell. Also a figure as a cell output:
 * Vega-Lite's own MIME type, with a PNG as the fallback nbconvert's HTML and GitHub show.
 */
import { join } from "node:path";
import { loadPipeline } from "../core/config.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import type { FigureSpec } from "./figures.ts";
import { base64, type JupyterDisplayable } from "./notebook.ts";
import { renderSvg } from "./render.ts";
import { svgToPng } from "./images.ts";

/** A stage run in a notebook: its out folder and what it returned. */
export interface NotebookStage {
  outDir: string;
  result: StageResult;
  /** Its results.part.json. */
  part: Record<string, unknown>;
}

/**
 * Run stage `name` of `pipelineFile` for `profile` with `depDirs` (stage name → out folder), in
 * `work`; `overrides` replace params (e.g. fewer models).
 */
export async function runStage(o: {
  pipelineFile: string;
  profile: string;
  name: string;
  work: string;
  depDirs?: Record<string, string>;
  overrides?: Record<string, unknown>;
}): Promise<NotebookStage> {
  const config = await loadPipeline(o.pipelineFile, { profile: o.profile });
  const stage = config.stages[o.name];
  // The raw params (after the profile) with the overrides, parsed as the runner parses them.
  const params = o.overrides
    ? stage.mod.paramsSchema.parse({ ...stage.params, ...o.overrides })
    : stage.parsed_params;
  const outDir = await Deno.makeTempDir({ dir: o.work, prefix: `${o.name}-` });
  const ctx: StageContext = {
    name: o.name,
    profile: o.profile,
    params: params as Record<string, unknown>,
    seed: config.seed,
    root: config.root,
    outDir,
    depDirs: o.depDirs ?? {},
    artifactsDir: join(o.work, "artifacts"),
    cacheDir: join(config.root, "data", "cache"),
    log: { info: (m) => console.log(`[${o.name}] ${m}`), warn: (m) => console.warn(`[${o.name}] ${m}`) },
    progress: (label, total, unit) => epochProgress(label, total, unit),
  };
  const result = await stage.mod.run(ctx);
  const part = JSON.parse(await Deno.readTextFile(join(outDir, "results.part.json")).catch(() => "{}"));
  return { outDir, result, part };
}

/** A progress that prints one line when it is done (a line per epoch for the training loop). */
function epochProgress(label: string, total: number, unit = "") {
  const t0 = performance.now();
  let last: Record<string, string | number> = {};
  return {
    tick: (_n?: number, fields?: Record<string, string | number>) => void (last = fields ?? last),
    done: (fields?: Record<string, string | number>) => {
      const all = { ...last, ...fields };
      const shown = Object.entries(all).map(([k, v]) => `${k} ${v}`).join("  ");
      console.log(
        `${label}: ${total} ${unit} in ${((performance.now() - t0) / 1000).toFixed(1)} s  ${shown}`,
      );
    },
  };
}

/**
 * A report figure as a cell output: Vega-Lite (v5 MIME, which Jupyter renders) with a PNG fallback
 * (nbconvert's HTML strips an inline SVG's elements, and GitHub shows PNGs).
 */
export async function figure(f: FigureSpec | null): Promise<JupyterDisplayable> {
  if (!f) return { [Symbol.for("Jupyter.display")]: () => ({ "text/plain": "(no data for this figure)" }) };
  const png = await svgToPng(await renderSvg(f.spec));
  return {
    [Symbol.for("Jupyter.display")]: () => ({
      "application/vnd.vegalite.v5+json": f.spec,
      "image/png": base64(png),
      "text/plain": f.caption,
    }),
  };
}
