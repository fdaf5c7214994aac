/**
 * The report library: results.json → language-neutral blocks → Markdown / HTML, with
 * Vega-Lite figures rendered headless to SVG.
 */
export * from "./describe.ts";
export * from "./document.ts";
export * from "./figures.ts";
export * from "./format.ts";
export * from "./html.ts";
export * from "./i18n.ts";
export * from "./load.ts";
export * from "./markdown.ts";
export * from "./render.ts";
export * from "./notebook.ts";
export * from "./sections.ts";
export * from "./seed_figures.ts";
export * from "./variants.ts";
export * from "./result_figures.ts";
export * from "./images.ts";
export * from "./environment.ts";
export * from "./overlay.ts";
export * from "./segmentation.ts";
export * from "./segmentation_data.ts";
export * from "./segmentation_figures.ts";
export * from "./segmentation_seed.ts";
