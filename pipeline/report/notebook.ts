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
  [key: symbol]: () => Record<string, unknown>;
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

/** The kernel's display function, when this code runs in a Deno Jupyter kernel. */
type JupyterApi = { display(x: unknown): Promise<void> };

/**
 * Show `x` as this cell's output, then give the kernel a moment to send it. Deno 2.9's kernel
 * can report a cell idle before it has sent the cell's output, and `jupyter nbconvert --execute`
 * stops listening at idle, so a result left as a cell's last expression was lost in some runs
 * (4 of 7 runs of an inference notebook lost one; 0 of 5 with this). Outside a kernel: a no-op.
 */
export async function show(x: JupyterDisplayable): Promise<void> {
  const jupyter = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
  if (!jupyter) return;
  await jupyter.display(x);
  await new Promise((resolve) => setTimeout(resolve, 200));
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

/** Bytes as base64 (for images in cell outputs). */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
