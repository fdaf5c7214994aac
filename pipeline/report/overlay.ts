/**
 * The segmentation overlay grid: the first test images of the segmentation fetch stage's output,
 * the ground-truth mask overlaid on each, and the masks recorded by the train / compress stages
 * (255 = predicted foreground) overlaid beside them, as PNGs (sharp, nearest-neighbour scaling).
 * Only cached files are read: the report never runs a model.
 */
import { join } from "node:path";
import sharp from "sharp";
import type { MaskPredictions } from "../tasks/segmentation_records.ts";

/** Ground truth green, predictions orange; each mixed half-and-half with the image. */
const TRUTH_RGB = [0, 200, 80] as const;
const PREDICTED_RGB = [255, 110, 0] as const;
const ALPHA = 0.5;
/** Images are scaled by a whole factor to at least this many pixels a side. */
const MIN_PX = 96;

/** A set of predicted masks to overlay, with the folder its file is in. */
export interface OverlayInput {
  /** Column label, e.g. the variant. */
  label: string;
  dir: string;
  record: MaskPredictions;
}

/** One PNG of the grid. */
export interface OverlayImage {
  /** Path relative to the report folder, e.g. "figures/segmentation/test_0000_truth.png". */
  file: string;
  png: Uint8Array;
}

/** The grid: one row per test image; columns: the image, the ground truth, then one per prediction set. */
export interface OverlayGrid {
  /** Column labels after "image" and "ground truth" (the prediction sets shown). */
  labels: string[];
  rows: { index: number; images: OverlayImage[] }[];
  /** Side of each PNG in pixels. */
  px: number;
  /** Prediction sets left out, each with the reason. */
  skipped: string[];
}

interface TestSplit {
  size: number;
  count: number;
  file: string;
  masks?: string;
}

/**
 * Blend `rgb` (size×size×3) with `color` where `mask` is non-zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blendMask } from "./overlay.ts";
 * const out = blendMask(new Uint8Array([100, 100, 100, 100, 100, 100]), new Uint8Array([0, 255]), [0, 200, 80]);
 * assert.deepEqual([...out], [100, 100, 100, 50, 150, 90]);
 * ```
 */
export function blendMask(rgb: Uint8Array, mask: Uint8Array, color: readonly number[]): Uint8Array {
  const out = new Uint8Array(rgb);
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] === 0) continue;
    for (let c = 0; c < 3; c++) out[3 * p + c] = Math.round((1 - ALPHA) * rgb[3 * p + c] + ALPHA * color[c]);
  }
  return out;
}

/** The first `bytes` bytes of `path`. */
async function readPrefix(path: string, bytes: number): Promise<Uint8Array> {
  const file = await Deno.open(path);
  try {
    const out = new Uint8Array(bytes);
    let got = 0;
    while (got < bytes) {
      const read = await file.read(out.subarray(got));
      if (read === null) throw new Error(`"${path}" ends after ${got} bytes; expected at least ${bytes}`);
      got += read;
    }
    return out;
  } finally {
    file.close();
  }
}

async function png(rgb: Uint8Array, size: number, px: number): Promise<Uint8Array> {
  const buf = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
    .resize(px, px, { kernel: "nearest" }).png().toBuffer();
  return new Uint8Array(buf);
}

function slug(label: string): string {
  return label.replace(/[^\w.-]+/g, "_");
}

/**
 * The overlay grid of the first `count` test images of the fetch out folder `fetchDir` with each
 * of `inputs` overlaid. Undefined when the folder has no segmentation dataset.json (no test
 * masks); a prediction set whose file is missing, too short or of another size is skipped and
 * listed in `skipped`.
 */
export async function overlayGrid(
  fetchDir: string,
  inputs: OverlayInput[],
  count: number,
): Promise<OverlayGrid | undefined> {
  let test: TestSplit;
  try {
    const info = JSON.parse(await Deno.readTextFile(join(fetchDir, "dataset.json")));
    test = { ...info.splits.test, size: info.size };
  } catch {
    return undefined;
  }
  if (typeof test.masks !== "string" || !(test.size > 0)) return undefined;
  const n = Math.min(count, test.count);
  const size = test.size, per = size * size;
  const images = await readPrefix(join(fetchDir, test.file), n * per * 3);
  const truth = await readPrefix(join(fetchDir, test.masks), n * per);
  const skipped: string[] = [];
  const shown: { label: string; masks: Uint8Array }[] = [];
  for (const input of inputs) {
    const path = join(input.dir, input.record.file);
    if (input.record.size !== size) {
      skipped.push(`${input.label}: masks of ${input.record.size} px, the test images are ${size} px`);
    } else if (input.record.count < n) {
      skipped.push(`${input.label}: ${input.record.count} masks recorded, ${n} images shown`);
    } else {
      try {
        shown.push({ label: input.label, masks: await readPrefix(path, n * per) });
      } catch (e) {
        skipped.push(`${input.label}: ${(e as Error).message}`);
      }
    }
  }
  const px = size * Math.max(1, Math.ceil(MIN_PX / size));
  if (shown.length === 0) return { labels: [], rows: [], px, skipped };
  const rows: OverlayGrid["rows"] = [];
  for (let i = 0; i < n; i++) {
    const rgb = images.subarray(i * per * 3, (i + 1) * per * 3);
    const stem = `figures/segmentation/test_${String(i).padStart(4, "0")}`;
    const row: OverlayImage[] = [
      { file: `${stem}.png`, png: await png(rgb, size, px) },
      {
        file: `${stem}_truth.png`,
        png: await png(blendMask(rgb, truth.subarray(i * per, (i + 1) * per), TRUTH_RGB), size, px),
      },
    ];
    for (const s of shown) {
      const mask = s.masks.subarray(i * per, (i + 1) * per);
      row.push({
        file: `${stem}_${slug(s.label)}.png`,
        png: await png(blendMask(rgb, mask, PREDICTED_RGB), size, px),
      });
    }
    rows.push({ index: i, images: row });
  }
  return { labels: shown.map((s) => s.label), rows, px, skipped };
}
