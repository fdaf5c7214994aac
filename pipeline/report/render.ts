/**
 * Headless figure rendering: Vega-Lite spec → Vega spec → Vega View (no renderer) → SVG text.
 * Needs no browser, canvas or fonts; text widths are estimated by Vega.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { FigureSpec } from "./figures.ts";

/** A figure ready to be written and inlined. */
export interface RenderedFigure extends FigureSpec {
  /** Path relative to the report folder, e.g. "figures/training_curves.ko.svg". */
  file: string;
  /** Path of the Vega-Lite JSON beside it, e.g. "figures/training_curves.ko.vl.json". */
  specFile: string;
  svg: string;
}

/**
 * Render a Vega-Lite spec to SVG text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderSvg } from "./render.ts";
 * const svg = await renderSvg({
 *   width: 100, height: 50, mark: "bar",
 *   data: { values: [{ a: "x", b: 1 }] },
 *   encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
 * });
 * assert(svg.startsWith("<svg"));
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Render a figure spec and name its files under figures/. */
export async function renderFigure(figure: FigureSpec): Promise<RenderedFigure> {
  return {
    ...figure,
    file: `figures/${figure.name}.svg`,
    specFile: `figures/${figure.name}.vl.json`,
    svg: await renderSvg(figure.spec),
  };
}

/**
 * Prefix every `id` an SVG defines (and every `url(#…)` / `href="#…"` pointing at one), so
 * several SVGs can be inlined in one HTML page without their clip-path ids colliding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namespaceSvgIds } from "./render.ts";
 * const svg = '<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"/></svg>';
 * assert(namespaceSvgIds(svg, "f1") === '<svg><clipPath id="f1-clip1"/><g clip-path="url(#f1-clip1)"/></svg>');
 * ```
 */
export function namespaceSvgIds(svg: string, prefix: string): string {
  const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
  if (ids.size === 0) return svg;
  return svg
    .replace(/(\sid=")([^"]+)"/g, (_all, head: string, id: string) => `${head}${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => ids.has(id) ? `url(#${prefix}-${id})` : all)
    .replace(
      /(href=")#([^"]+)"/g,
      (all, head: string, id: string) => ids.has(id) ? `${head}#${prefix}-${id}"` : all,
    );
}
