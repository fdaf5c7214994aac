/**
 * Image / mask pairs of a segmentation data set on disk: the images under one folder, the masks
 * under another, paired by their path inside the folder without the extension (the stem):
 * `images/x.jpg` + `masks/x.png`, or the Oxford-IIIT Pet layout `images/x.jpg` +
 * `annotations/trimaps/x.png`. Both folders are walked as the `dir` source walks a class folder
 * (the same rules for links, non-image files listed).
 */
import { listFolderImages } from "./dir.ts";
import type { IgnoredFile } from "./dir.ts";

/** One image and its mask. */
export interface MaskPair {
  /** Image path relative to the data set root, with forward slashes (`images/x.jpg`). */
  path: string;
  /** The image file to read. */
  file: string;
  /** Mask path relative to the root (`masks/x.png`). */
  maskPath: string;
  maskFile: string;
}

/** The pairs found, the images that have no usable mask, and the files left out. */
export interface MaskPairs {
  pairs: MaskPair[];
  /** Images that cannot be paired (no mask, two masks, two images of one stem), with the reason. */
  skipped: IgnoredFile[];
  /** Non-image files, links left out and masks without an image. */
  ignored: IgnoredFile[];
}

/** `images/sub/x.jpg` in folder `images` → `sub/x`. */
function stemOf(path: string, folder: string): string {
  const inner = path.slice(folder.length + 1);
  const dot = inner.lastIndexOf(".");
  return dot > inner.lastIndexOf("/") ? inner.slice(0, dot) : inner;
}

function byStem(files: { path: string; file: string }[], folder: string) {
  const out = new Map<string, { path: string; file: string }[]>();
  for (const f of files) {
    const stem = stemOf(f.path, folder);
    out.set(stem, [...(out.get(stem) ?? []), f]);
  }
  return out;
}

/**
 * Pair the images under `root/imagesDir` with the masks under `root/masksDir` by stem, sorted by
 * image path. Throws (ExpectedError, naming the folder) when either folder is missing or holds no
 * image files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listMaskPairs } from "./mask_pairs.ts";
 * const root = await Deno.makeTempDir();
 * for (const d of ["images", "masks"]) await Deno.mkdir(`${root}/${d}`);
 * for (const f of ["images/a.jpg", "images/b.jpg", "masks/a.png", "masks/c.png"]) {
 *   await Deno.writeFile(`${root}/${f}`, new Uint8Array([1]));
 * }
 * const { pairs, skipped, ignored } = await listMaskPairs(root, "images", "masks");
 * assert.deepEqual(pairs.map((p) => p.maskPath), ["masks/a.png"]);
 * assert.deepEqual([skipped[0].path, ignored[0].path], ["images/b.jpg", "masks/c.png"]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function listMaskPairs(root: string, imagesDir: string, masksDir: string): Promise<MaskPairs> {
  const images = await listFolderImages(root, imagesDir, "image folder");
  const masks = await listFolderImages(root, masksDir, "mask folder");
  const maskByStem = byStem(masks.files, masksDir), imageByStem = byStem(images.files, imagesDir);
  const pairs: MaskPair[] = [], skipped: IgnoredFile[] = [];
  const ignored = [...images.ignored, ...masks.ignored];
  for (const [stem, found] of imageByStem) {
    const mine = maskByStem.get(stem) ?? [];
    if (found.length > 1) {
      const all = found.map((f) => f.path).join(", ");
      for (const f of found) {
        skipped.push({ path: f.path, reason: `${found.length} images share the stem "${stem}": ${all}` });
      }
    } else if (mine.length === 0) {
      skipped.push({ path: found[0].path, reason: `${masksDir}/${stem}.*: no mask for this image` });
    } else if (mine.length > 1) {
      skipped.push({
        path: found[0].path,
        reason: `${mine.map((m) => m.path).join(", ")}: ${mine.length} masks for this image`,
      });
    } else pairs.push({ ...found[0], maskPath: mine[0].path, maskFile: mine[0].file });
  }
  for (const [stem, found] of maskByStem) {
    if (imageByStem.has(stem)) continue;
    for (const m of found) {
      ignored.push({ path: m.path, reason: `no image ${imagesDir}/${stem}.* for this mask` });
    }
  }
  const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return { pairs: pairs.sort(byPath), skipped: skipped.sort(byPath), ignored: ignored.sort(byPath) };
}
