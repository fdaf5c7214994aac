/**
 * The report library: results.json → language-neutral blocks → Markdown / HTML, with
 * Vega-Lite figures rendered headless to SVG.
 */
export * from "./document.ts";
export * from "./figures.ts";
export * from "./format.ts";
export * from "./html.ts";
export * from "./i18n.ts";
export * from "./load.ts";
export * from "./markdown.ts";
export * from "./render.ts";
