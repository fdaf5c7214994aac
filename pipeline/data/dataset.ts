/**
 * Read what the fetch stage wrote: dataset.json + raw uint8 NHWC split files, and for the
 * segmentation task a mask file per split (one class index per pixel).
 */
import { join } from "node:path";
import { type SplitName, SPLITS } from "./split.ts";

/** One split of `dataset.json`. */
export interface SplitInfo {
  /** File name (in the same folder) of count×size×size×3 uint8 bytes, NHWC. */
  file: string;
  count: number;
  /** Class index per image, in file order (classification; empty for segmentation). */
  labels: number[];
  /** Segmentation: file of count×size×size uint8 class indices per pixel (0 background, 1 foreground). */
  masks?: string;
}

/** The shape of `dataset.json`. */
export interface DatasetInfo {
  /** What the targets are: a label per image or a mask per image. @default "classification" */
  task?: "classification" | "segmentation";
  classes: string[];
  size: number;
  source: string;
  /** Resize mode used by sharp (`fill`: stretched, not cropped). */
  fit: string;
  /** Segmentation: how masks were resized (`nearest`: class indices are never blended). */
  mask_resize?: string;
  /** Segmentation from mask files: the pixel values read as each class. */
  mask_values?: Record<string, number[]>;
  seed: number;
  /**
   * counts[split][class]: images of the class (classification), or images in which the class has
   * at least one pixel (segmentation).
   */
  counts: Record<SplitName, Record<string, number>>;
  splits: Record<SplitName, SplitInfo>;
}

/** One split in memory. */
export interface DatasetSplit {
  /** count×size×size×3 RGB bytes, NHWC. */
  images: Uint8Array;
  labels: Int32Array;
  /** Segmentation: count×size×size class indices per pixel. */
  masks?: Uint8Array;
  count: number;
}

/** A dataset in memory. */
export interface Dataset {
  task: "classification" | "segmentation";
  classes: string[];
  size: number;
  splits: Record<SplitName, DatasetSplit>;
}

/** Load the fetch stage's output folder; checks every file's length against dataset.json. */
export async function loadDataset(dir: string): Promise<Dataset> {
  const info = JSON.parse(await Deno.readTextFile(join(dir, "dataset.json"))) as DatasetInfo;
  const per = info.size * info.size * 3;
  const splits = {} as Record<SplitName, DatasetSplit>;
  for (const name of SPLITS) {
    const s = info.splits[name];
    const images = await Deno.readFile(join(dir, s.file));
    if (images.length !== s.count * per) {
      throw new Error(
        `Dataset file "${join(dir, s.file)}" has ${images.length} bytes; expected ${s.count * per}`,
      );
    }
    const task = info.task ?? "classification";
    if (task === "classification" && s.labels.length !== s.count) {
      throw new Error(
        `dataset.json: splits.${name}.labels has ${s.labels.length} labels for ${s.count} images`,
      );
    }
    let masks: Uint8Array | undefined;
    if (task === "segmentation") {
      if (!s.masks) throw new Error(`dataset.json: splits.${name}.masks is missing (task "segmentation")`);
      masks = await Deno.readFile(join(dir, s.masks));
      const want = s.count * info.size * info.size;
      if (masks.length !== want) {
        throw new Error(`Dataset file "${join(dir, s.masks)}" has ${masks.length} bytes; expected ${want}`);
      }
    }
    splits[name] = { images, labels: Int32Array.from(s.labels), masks, count: s.count };
  }
  return { task: info.task ?? "classification", classes: info.classes, size: info.size, splits };
}

/**
 * Gather masks `indices` into a float batch of per-pixel targets (1 where the class is `foreground`).
 *
 * @example
 * ```ts
 * import { toMaskBatch } from "./dataset.ts";
 * const masks = new Uint8Array([0, 1, 1, 0, 0, 0, 0, 1]); // two 2×2 masks
 * const batch = toMaskBatch(masks, [1], 2);
 * if (batch.join() !== "0,0,0,1") throw new Error(batch.join());
 * ```
 */
export function toMaskBatch(
  masks: Uint8Array,
  indices: ArrayLike<number>,
  size: number,
  foreground = 1,
): Float32Array {
  const per = size * size, out = new Float32Array(indices.length * per);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * per;
    for (let j = 0; j < per; j++) out[b * per + j] = masks[src + j] === foreground ? 1 : 0;
  }
  return out;
}

/**
 * Gather images `indices` from an NHWC uint8 buffer into a float batch scaled to [0, 1].
 *
 * @example
 * ```ts
 * import { toFloatBatch } from "./dataset.ts";
 * const images = new Uint8Array([0, 0, 0, 255, 255, 255]); // two 1×1 RGB images
 * const batch = toFloatBatch(images, [1], 1);
 * if (batch.length !== 3 || batch[0] !== 1) throw new Error(batch.join());
 * ```
 */
export function toFloatBatch(images: Uint8Array, indices: ArrayLike<number>, size: number): Float32Array {
  const per = size * size * 3, out = new Float32Array(indices.length * per);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * per;
    for (let j = 0; j < per; j++) out[b * per + j] = images[src + j] / 255;
  }
  return out;
}
