/**
 * Read what the fetch stage wrote: dataset.json + raw uint8 NHWC split files.
 */
import { join } from "node:path";
import { type SplitName, SPLITS } from "./split.ts";

/** One split of `dataset.json`. */
export interface SplitInfo {
  /** File name (in the same folder) of count×size×size×3 uint8 bytes, NHWC. */
  file: string;
  count: number;
  /** Class index per image, in file order. */
  labels: number[];
}

/** The shape of `dataset.json`. */
export interface DatasetInfo {
  classes: string[];
  size: number;
  source: string;
  /** Resize mode used by sharp (`fill`: stretched, not cropped). */
  fit: string;
  seed: number;
  /** counts[split][class] */
  counts: Record<SplitName, Record<string, number>>;
  splits: Record<SplitName, SplitInfo>;
}

/** One split in memory. */
export interface DatasetSplit {
  /** count×size×size×3 RGB bytes, NHWC. */
  images: Uint8Array;
  labels: Int32Array;
  count: number;
}

/** A dataset in memory. */
export interface Dataset {
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
    if (images.length !== s.count * per || s.labels.length !== s.count) {
      throw new Error(
        `Dataset file "${join(dir, s.file)}" has ${images.length} bytes; expected ${s.count * per}`,
      );
    }
    splits[name] = { images, labels: Int32Array.from(s.labels), count: s.count };
  }
  return { classes: info.classes, size: info.size, splits };
}

/**
 * Gather images `indices` from an NHWC uint8 buffer into a float batch scaled to [0, 1].
 *
 * @example
 * ```ts
 * import { toFloatBatch } from "./dataset.ts";
 * const images = new Uint8Array([0, 0, 0, 255, 255, 255]); // two 1×1 RGB images
 * const batch = toFloatBatch(images, [1], 1);
 * console.assert(batch.length === 3 && batch[0] === 1);
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
