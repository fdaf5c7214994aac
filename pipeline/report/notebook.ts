/**
 * Helpers the notebooks use to show report sections inline: the same blocks as the report,
 * as an HTML fragment a Deno Jupyter cell displays (figures as inline SVG).
 */
import type { Results } from "../stages/parts.ts";
import type { Block } from "./document.ts";
import { blocksHtml } from "./html.ts";
import type { Lang } from "./i18n.ts";
import { loadResults } from "./load.ts";

/** What a Deno Jupyter cell displays when it evaluates to this object. */
export interface JupyterDisplayable {
  [key: symbol]: () => Record<string, string>;
}

/**
 * Blocks as a displayable cell output (HTML).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { view } from "./notebook.ts";
 * const out = view([{ kind: "paragraph", text: "hi" }]);
 * assert(out[Symbol.for("Jupyter.display")]()["text/html"] === "<p>hi</p>");
 * ```
 */
export function view(blocks: Block[], lang: Lang = "en"): JupyterDisplayable {
  const html = blocksHtml(blocks, lang);
  return { [Symbol.for("Jupyter.display")]: () => ({ "text/html": html }) };
}

/** A Markdown text as a displayable cell output. */
export function markdown(text: string): JupyterDisplayable {
  return { [Symbol.for("Jupyter.display")]: () => ({ "text/markdown": text }) };
}

/**
 * The results of `profile` (artifacts/<profile>/results.json under `root`), or undefined with
 * the command that makes them when they are absent.
 */
export async function cachedResults(
  root: string,
  profile = "quick",
): Promise<{ results?: Results; message: string }> {
  const path = `${root}/artifacts/${profile}/results.json`;
  try {
    await Deno.stat(path);
  } catch {
    return {
      message:
        `No cached results at \`${path}\`. Make them with \`deno task pipeline --profile ${profile}\` ` +
        `(a few minutes on 2 cores), then run this notebook again.`,
    };
  }
  return { results: await loadResults(path), message: `Read \`${path}\`.` };
}

/** A copy of `results` whose rows and models are only those of `variants`. */
export function onlyVariants(results: Results, variants: (name: string) => boolean): Results {
  return {
    ...results,
    rows: results.rows.filter((r) => variants(r.variant)),
    models: Object.fromEntries(Object.entries(results.models).filter(([name]) => variants(name))),
  };
}
