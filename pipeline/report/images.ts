/**
 * Raster output of the report, through sharp (libvips + librsvg): figures as PNG beside their
 * SVG, and a few test images of the fetch stage's output as PNG samples.
 * Korean text in a PNG needs a CJK font installed (Debian `fonts-noto-cjk`); the figures'
 * font-family stack (figures.ts FONT_FAMILY) names it first.
 */
import { join } from "node:path";
import sharp from "sharp";
import type { Results } from "../stages/parts.ts";

/**
 * Render SVG text to PNG bytes at `density` dpi (72 = 1 px per SVG unit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { svgToPng } from "./images.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
 * assert(png[1] === 0x50); // "PNG"
 * ```
 */
export async function svgToPng(svg: string, density = 144): Promise<Uint8Array> {
  return new Uint8Array(await sharp(new TextEncoder().encode(svg), { density }).png().toBuffer());
}

/** One test image of the sample grid. */
export interface SampleImage {
  /** Index in the test split. */
  index: number;
  /** True class name. */
  label: string;
  /** Predicted class and its probability, only when a stage recorded them. */
  predicted?: string;
  probability?: number;
  png: Uint8Array;
  /** Path relative to the report folder, e.g. "figures/samples/test_0003.png". */
  file: string;
}

/** A per-image prediction as a stage may record it in results.json (`extra.<stage>.predictions`). */
export interface PredictionRecord {
  index: number;
  label?: number | string;
  predicted: number | string;
  probability?: number;
}

/**
 * Per-image predictions recorded by any stage (`extra.<stage>.predictions`, an array, or an
 * object of arrays by model: the first model is used). Undefined when no stage recorded them:
 * the report never runs a model itself.
 */
export function recordedPredictions(
  results: Results,
): { model?: string; items: PredictionRecord[] } | undefined {
  for (const extra of Object.values(results.extra ?? {})) {
    const p = extra?.predictions;
    if (Array.isArray(p)) return { items: p as PredictionRecord[] };
    if (p && typeof p === "object") {
      const [model, items] = Object.entries(p)[0] ?? [];
      if (Array.isArray(items)) return { model, items: items as PredictionRecord[] };
    }
  }
  return undefined;
}

/**
 * The first `count` test images of the fetch stage's out folder `fetchDir` as PNG (scaled to
 * `px`), with their true labels and, when `predictions` has them, predicted label and probability.
 * Undefined when the folder has no dataset.json.
 */
export async function sampleImages(
  fetchDir: string,
  count: number,
  predictions?: PredictionRecord[],
  px = 96,
): Promise<SampleImage[] | undefined> {
  let info: {
    classes: string[];
    size: number;
    splits: { test: { file: string; count: number; labels: number[] } };
  };
  try {
    info = JSON.parse(await Deno.readTextFile(join(fetchDir, "dataset.json")));
  } catch {
    return undefined;
  }
  const test = info.splits.test;
  const per = info.size * info.size * 3;
  const n = Math.min(count, test.count);
  const file = await Deno.open(join(fetchDir, test.file));
  try {
    const bytes = new Uint8Array(n * per);
    let got = 0;
    while (got < bytes.length) {
      const read = await file.read(bytes.subarray(got));
      if (read === null) throw new Error(`Test images "${join(fetchDir, test.file)}" end after ${got} bytes`);
      got += read;
    }
    const name = (c: number | string | undefined) => typeof c === "number" ? info.classes[c] ?? String(c) : c;
    const out: SampleImage[] = [];
    for (let i = 0; i < n; i++) {
      const png = await sharp(bytes.subarray(i * per, (i + 1) * per), {
        raw: { width: info.size, height: info.size, channels: 3 },
      }).resize(px, px, { kernel: "nearest" }).png().toBuffer();
      const p = predictions?.find((r) => r.index === i);
      out.push({
        index: i,
        label: info.classes[test.labels[i]] ?? String(test.labels[i]),
        predicted: p ? name(p.predicted) : undefined,
        probability: p?.probability,
        png: new Uint8Array(png),
        file: `figures/samples/test_${String(i).padStart(4, "0")}.png`,
      });
    }
    return out;
  } finally {
    file.close();
  }
}

/** A PNG as a data: URI for inlining in HTML. */
export function pngDataUri(png: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < png.length; i += 0x8000) binary += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(binary)}`;
}
