/**
 * A tiny segmentation data set for the train and compress tests, written as the fetch stage writes
 * one (dataset.json + uint8 split files): noisy images with one bright square each, whose pixels
 * are the mask.
 */
import { join } from "node:path";
import { seededRandom } from "../pipeline/core/random.ts";
import type { DatasetInfo } from "../pipeline/data/dataset.ts";

/** Images per split (24 in all). */
export const SQUARE_COUNTS = { train: 12, val: 6, test: 6 } as const;

/** Write the data set (side `size`) into a new folder under `base`; returns the folder. */
export async function squaresDataset(base: string, size = 32, seed = 3): Promise<string> {
  const random = seededRandom(seed);
  const splits: Record<string, { images: Uint8Array; masks: Uint8Array }> = {};
  for (const [name, count] of Object.entries(SQUARE_COUNTS)) {
    const images = new Uint8Array(count * size * size * 3), masks = new Uint8Array(count * size * size);
    for (let b = 0; b < count; b++) {
      const side = Math.floor(size / 4 + random() * size / 3);
      const y0 = Math.floor(random() * (size - side)), x0 = Math.floor(random() * (size - side));
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inside = y >= y0 && y < y0 + side && x >= x0 && x < x0 + side;
          const px = (b * size + y) * size + x;
          masks[px] = inside ? 1 : 0;
          for (let c = 0; c < 3; c++) images[px * 3 + c] = Math.floor(random() * 110) + (inside ? 120 : 0);
        }
      }
    }
    splits[name] = { images, masks };
  }
  return await writeSegDataset(base, "squares-", {
    classes: ["background", "square"],
    size,
    source: "test-squares",
    seed,
  }, splits);
}

/**
 * Write a segmentation data set as the fetch stage does (dataset.json + `<split>.u8` images and
 * `<split>.masks.u8` masks) into a new folder under `base`; returns the folder.
 */
export async function writeSegDataset(
  base: string,
  prefix: string,
  meta: Pick<DatasetInfo, "classes" | "size" | "source" | "seed">,
  data: Record<string, { images: Uint8Array; masks: Uint8Array }>,
): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: base, prefix });
  const splits = {} as DatasetInfo["splits"];
  for (const [name, { images, masks }] of Object.entries(data)) {
    await Deno.writeFile(join(dir, `${name}.u8`), images);
    await Deno.writeFile(join(dir, `${name}.masks.u8`), masks);
    const count = masks.length / (meta.size * meta.size);
    splits[name as keyof DatasetInfo["splits"]] = {
      file: `${name}.u8`,
      count,
      labels: [],
      masks: `${name}.masks.u8`,
    };
  }
  const info: DatasetInfo = {
    task: "segmentation",
    ...meta,
    fit: "fill",
    counts: { train: {}, val: {}, test: {} },
    splits,
  };
  await Deno.writeTextFile(join(dir, "dataset.json"), JSON.stringify(info));
  return dir;
}
