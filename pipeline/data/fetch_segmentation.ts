/**
 * The fetch stage for `task: segmentation`: images with a mask each, from the synthetic scenes or
 * from image / mask pairs on disk, split with the profile seed and written as the segmentation
 * data set dataset.ts reads: `<split>.u8` (count×size×size×3 RGB) and `<split>_masks.bin`
 * (count×size×size class indices), dataset.json, manifest.csv and results.part.json.
 *
 * Images are decoded and resized as the classifier's (decode.ts, cached by content); masks by
 * nearest neighbour after their values are mapped to classes (decode_mask.ts). A pair that cannot
 * be used (no mask, a mask of another size, a corrupt file, a value outside mask_values) is skipped
 * and listed with the file and the reason; too few usable pairs stop the stage, naming the folder.
 */
import { join, relative } from "node:path";
import { stringify } from "csv-stringify/sync";
import { ExpectedError } from "../core/errors.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import { sha256Hex } from "./_hash.ts";
import type { DatasetInfo } from "./dataset.ts";
import { decodeImage, RESIZE_FIT, TensorCache } from "./decode.ts";
import { decodeMask, imageSize, MASK_KERNEL, maskLookup } from "./decode_mask.ts";
import { type IgnoredFile, readImageFile } from "./sources/dir.ts";
import { listMaskPairs, type MaskPair } from "./sources/mask_pairs.ts";
import type { ZipLimits } from "./sources/zip.ts";
import {
  MIN_PER_CLASS,
  minImagesPerClass,
  splitCounts,
  type SplitFractions,
  type SplitName,
  SPLITS,
  stratifiedSplit,
} from "./split.ts";
import { generateScene, type SceneLayout } from "./synthetic_scenes.ts";

/** Validated params of the fetch stage for `task: segmentation` (see stages/fetch.ts). */
export interface SegmentationParams {
  task: "segmentation";
  source: "synthetic" | "dir" | "zip" | "kaggle";
  /** Class names by mask index: background first, then the target. */
  classes: string[];
  size: number;
  /** synthetic: how many scenes. */
  count: number;
  /** dir/zip/kaggle: how images and masks are laid out. */
  layout: "pairs" | "oxford_pet";
  images_dir: string;
  masks_dir: string;
  /** Pixel values of each class in the mask files. */
  mask_values: Record<string, number[]>;
  split: SplitFractions;
  path?: string;
  url?: string;
  sha256?: string;
  dataset?: string;
  zip_limits: ZipLimits;
}

/** One usable image and its mask, decoded. */
interface Item {
  path: string;
  maskPath: string;
  sha: string;
  maskSha: string;
  pixels: Uint8Array;
  mask: Uint8Array;
}

const reasonOf = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e));

/** Run `fn`; a failure becomes "<file>: <reason>", the line a skipped pair is listed with. */
async function about<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${file}: ${reasonOf(e)}`);
  }
}

/** The synthetic scenes, drawn at the data set's size (nothing to decode, nothing skipped). */
async function scenes(ctx: StageContext<SegmentationParams>) {
  const { count, size } = ctx.params, bar = ctx.progress("generate", count, "img");
  const items: Item[] = [],
    layouts: Record<SceneLayout, number> = { portrait: 0, group: 0, crowd: 0, empty: 0 };
  for (let i = 0; i < count; i++) {
    const s = generateScene(ctx.seed, i, size);
    layouts[s.layout]++;
    const path = `scene/${String(i).padStart(5, "0")}`;
    items.push({
      path,
      maskPath: "",
      sha: await sha256Hex(s.rgb),
      maskSha: await sha256Hex(s.mask),
      pixels: s.rgb,
      mask: s.mask,
    });
    bar.tick();
  }
  bar.done();
  return { items, layouts };
}

/** Decode every pair (images through the tensor cache), a few at a time; unusable pairs are skipped. */
async function decodePairs(ctx: StageContext<SegmentationParams>, pairs: MaskPair[]) {
  const p = ctx.params, cache = await TensorCache.open(ctx.cacheDir, p.size);
  const lookup = maskLookup(p.classes.map((c) => p.mask_values[c]));
  const bar = ctx.progress("decode", pairs.length, "img");
  const out: (Item | null)[] = new Array(pairs.length).fill(null), skipped: IgnoredFile[] = [];
  let decoded = 0, fromCache = 0, next = 0;
  const one = async (pair: MaskPair): Promise<Item> => {
    const image = await about(pair.path, async () => {
      const bytes = await readImageFile(pair.file), sha = await sha256Hex(bytes);
      let pixels = await cache.get(sha);
      if (pixels) fromCache++;
      else {
        pixels = await decodeImage(bytes, p.size);
        await cache.put(sha, pixels);
        decoded++;
      }
      return { sha, pixels, dims: await imageSize(bytes) };
    });
    return await about(pair.maskPath, async () => {
      const bytes = await readImageFile(pair.maskFile);
      const mask = await decodeMask(bytes, { size: p.size, lookup, image: image.dims });
      const { sha, pixels } = image;
      return { path: pair.path, maskPath: pair.maskPath, sha, maskSha: await sha256Hex(bytes), pixels, mask };
    });
  };
  const worker = async () => {
    while (next < pairs.length) {
      const i = next++;
      try {
        out[i] = await one(pairs[i]);
      } catch (e) {
        skipped.push({ path: pairs[i].path, reason: reasonOf(e) });
        ctx.log.warn(`skipped "${pairs[i].path}": ${reasonOf(e)}`);
      }
      bar.tick(1, { decoded, cached: fromCache, skipped: skipped.length });
    }
  };
  // sharp decodes on its own thread pool; four in flight keep both cores busy.
  await Promise.all(Array.from({ length: 4 }, worker));
  bar.done({ decoded, cached: fromCache, skipped: skipped.length });
  return { items: out.filter((d): d is Item => d !== null), skipped, decoded, fromCache };
}

/** Throw, naming `where`, when `n` items cannot give every split its minimum. */
function checkCount(n: number, fractions: SplitFractions, where: string, why: string): void {
  const got = splitCounts(n, fractions);
  if (SPLITS.every((s) => got[s] >= MIN_PER_CLASS[s])) return;
  const need = minImagesPerClass(fractions);
  const f = SPLITS.map((s) => fractions[s]).join("/");
  const fix = need === null
    ? "no number does with these fractions (a split with fraction 0 gets none); give every split a fraction above 0"
    : `with fractions ${f} (train/val/test) that takes at least ${need}`;
  throw new ExpectedError(
    `Too few usable images with masks in ${where}: ${n}${why}, which gives ` +
      `${SPLITS.map((s) => `${got[s]} ${s}`).join(", ")}. A segmentation data set needs at least ` +
      `${MIN_PER_CLASS.train} train, ${MIN_PER_CLASS.val} val and ${MIN_PER_CLASS.test} test images; ${fix}.`,
  );
}

/** Per split and class: images in which the class has a pixel, and its share of all pixels. */
function maskStats(items: Item[], idx: number[], classes: string[]) {
  const images = classes.map(() => 0), pixels = classes.map(() => 0);
  let empty = 0;
  for (const i of idx) {
    const seen = classes.map(() => 0);
    for (const v of items[i].mask) seen[v]++;
    seen.forEach((n, c) => (pixels[c] += n, images[c] += n > 0 ? 1 : 0));
    if (seen.slice(1).every((n) => n === 0)) empty++;
  }
  const total = Math.max(1, idx.length * (items[0]?.mask.length ?? 0));
  const byClass = (v: number[]) => Object.fromEntries(classes.map((c, k) => [c, v[k]]));
  return {
    images: byClass(images),
    share: byClass(pixels.map((n) => Math.round((n / total) * 1e4) / 1e4)),
    empty,
  };
}

/** Where the items come from: generated scenes, or the decoded pairs of a folder. */
async function gather(ctx: StageContext<SegmentationParams>, source: SourceRoot | null) {
  const p = ctx.params;
  if (source === null) {
    const { items, layouts } = await scenes(ctx);
    checkCount(items.length, p.split, "the synthetic scenes", " scenes (fetch.params.count)");
    return { items, layouts, skipped: [], ignored: [], decoded: 0, fromCache: 0 };
  }
  const listed = await listMaskPairs(source.root, p.images_dir, p.masks_dir);
  const ignored = [...source.ignored, ...listed.ignored];
  for (const f of listed.skipped) ctx.log.warn(`skipped "${f.path}": ${f.reason}`);
  if (ignored.length > 0) ctx.log.info(`${ignored.length} files ignored (listed in the summary)`);
  const { items, skipped: bad, decoded, fromCache } = await decodePairs(ctx, listed.pairs);
  const skipped = [...listed.skipped, ...bad].sort((a, b) => (a.path < b.path ? -1 : 1));
  const of = ` of ${items.length + skipped.length} (${skipped.length} skipped, listed in the summary)`;
  checkCount(items.length, p.split, `"${source.root}"`, of);
  return { items, layouts: undefined, skipped, ignored, decoded, fromCache };
}

/** Split with the seed (stratified by empty / non-empty mask) and write `<split>.u8`, `<split>_masks.bin` and manifest.csv; the splits' stats. */
async function writeSplits(ctx: StageContext<SegmentationParams>, items: Item[]) {
  const p = ctx.params, per = p.size * p.size;
  // Stratified by whether a mask has any target, so val and test get their share of empty masks;
  // a tiny set whose strata round a split below its minimum is split as one (checkCount's promise).
  const empties = items.map((d) => (d.mask.some((v) => v > 0) ? 0 : 1));
  let split = stratifiedSplit(empties, 2, p.split, ctx.seed);
  if (SPLITS.some((s) => split[s].length < MIN_PER_CLASS[s])) {
    split = stratifiedSplit(empties.map(() => 0), 1, p.split, ctx.seed);
  }
  const counts = {} as DatasetInfo["counts"], splits = {} as DatasetInfo["splits"];
  const share = {} as Record<SplitName, Record<string, number>>, empty = {} as Record<SplitName, number>;
  const header = ["path", "mask", "split", "sha256", "mask_sha256", "foreground_px"];
  const manifest: (string | number)[][] = [header];
  for (const name of SPLITS) {
    const idx = split[name],
      images = new Uint8Array(idx.length * per * 3),
      masks = new Uint8Array(idx.length * per);
    idx.forEach((i, k) => {
      const d = items[i], fg = d.mask.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);
      images.set(d.pixels, k * per * 3);
      masks.set(d.mask, k * per);
      manifest.push([d.path, d.maskPath, name, d.sha, d.maskSha, fg]);
    });
    await Deno.writeFile(join(ctx.outDir, `${name}.u8`), images);
    await Deno.writeFile(join(ctx.outDir, `${name}_masks.bin`), masks);
    splits[name] = { file: `${name}.u8`, count: idx.length, labels: [], masks: `${name}_masks.bin` };
    const stats = maskStats(items, idx, p.classes);
    [counts[name], share[name], empty[name]] = [stats.images, stats.share, stats.empty];
  }
  // Rows are in split-file order: row k of a split is image k of <split>.u8 and mask k of <split>_masks.bin.
  await Deno.writeTextFile(join(ctx.outDir, "manifest.csv"), stringify(manifest));
  return { counts, splits, share, empty };
}

/** The folder holding `images_dir` and `masks_dir`, and the zip entries left out of it. */
export interface SourceRoot {
  root: string;
  ignored: IgnoredFile[];
}

/**
 * Run the segmentation fetch: `source` is the folder of a dir/zip/kaggle source (the stage finds
 * and extracts it), or null for the synthetic scenes.
 */
export async function fetchSegmentation(
  ctx: StageContext<SegmentationParams>,
  source: SourceRoot | null,
): Promise<StageResult> {
  const p = ctx.params;
  const { items, layouts, skipped, ignored, decoded, fromCache } = await gather(ctx, source);
  const { counts, splits, share, empty } = await writeSplits(ctx, items);
  const fromFiles = source === null ? {} : { mask_values: p.mask_values };
  const info: DatasetInfo = {
    task: "segmentation",
    classes: p.classes,
    size: p.size,
    source: p.source,
    fit: RESIZE_FIT,
    mask_resize: MASK_KERNEL,
    ...fromFiles,
    seed: ctx.seed,
    counts,
    splits,
  };
  await Deno.writeTextFile(join(ctx.outDir, "dataset.json"), JSON.stringify(info) + "\n");
  const rel = source && relative(ctx.root, source.root);
  const dataset = {
    source: p.source,
    ...(source ? { root: rel!.startsWith("..") ? source.root : rel, layout: p.layout } : {}),
    ...(source ? { images_dir: p.images_dir, masks_dir: p.masks_dir, ...fromFiles } : {}),
    classes: p.classes,
    size: p.size,
    fit: RESIZE_FIT,
    mask_resize: MASK_KERNEL,
    images: items.length,
    total: Object.fromEntries(SPLITS.map((s) => [s, splits[s].count])),
    counts, // images in which each class has at least one pixel
    pixel_share: share,
    empty_masks: empty,
    ...(layouts ? { layouts } : {}),
    skipped,
    ignored,
  };
  await Deno.writeTextFile(
    join(ctx.outDir, "results.part.json"),
    JSON.stringify({ task: "segmentation", dataset }, null, 2) + "\n",
  );
  const none = SPLITS.reduce((n, s) => n + empty[s], 0);
  ctx.log.info(
    source === null
      ? `${items.length} synthetic scenes at ${p.size}×${p.size}, ${none} without a mask`
      : `${items.length} images with masks: ${decoded} decoded, ${fromCache} from cache, ${skipped.length} skipped`,
  );
  return {
    summary: {
      ...dataset,
      decoded,
      from_cache: fromCache,
      skipped: skipped.length,
      skipped_files: skipped,
      ignored: ignored.length,
      ignored_files: ignored,
    },
  };
}
