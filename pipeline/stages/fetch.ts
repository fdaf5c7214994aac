/**
 * Stage `fetch`: get the images (synthetic, a folder, a zip or Kaggle), decode and resize
 * them with sharp, split them stratified with the profile seed, and write raw uint8 NHWC
 * split files plus dataset.json, manifest.csv and results.part.json. With `task: segmentation`
 * each image comes with a mask (synthetic scenes, or image / mask pairs): see
 * data/fetch_segmentation.ts.
 *
 * Bad images (empty, truncated, not an image) are skipped, listed and warned about; files
 * never read (non-image files and zip entries, symbolic links outside the source folder)
 * are listed as ignored. Structural problems (missing folder or class, empty class, checksum
 * mismatch, zip slip, a zip over its limits, a split too small) stop the stage with an
 * ExpectedError naming the path, entry or field.
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { stringify } from "csv-stringify/sync";
import { ExpectedError } from "../core/errors.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import { sha256Hex } from "../data/_hash.ts";
import type { DatasetInfo } from "../data/dataset.ts";
import { decodeImage, RESIZE_FIT, TensorCache } from "../data/decode.ts";
import type { ClassificationParams, FetchParams } from "../data/fetch_params.ts";
import { fetchSegmentation, type SegmentationParams } from "../data/fetch_segmentation.ts";
import {
  findClassRoot,
  type IgnoredFile,
  type ImageEntry,
  listClassImages,
  readImageFile,
} from "../data/sources/dir.ts";
import { downloadKaggle, type KaggleOptions } from "../data/sources/kaggle.ts";
import { syntheticDir } from "../data/sources/synthetic.ts";
import { type FetchFn, resolveZip } from "../data/sources/zip.ts";
import { checkSplitSizes, type SplitName, SPLITS, stratifiedSplit } from "../data/split.ts";

export { type ClassificationParams, type FetchParams, paramsSchema } from "../data/fetch_params.ts";

/** Side inputs a test can replace; the runner passes none. */
export interface FetchDeps {
  fetch?: FetchFn;
  env?: KaggleOptions["env"];
  home?: string;
}

interface Decoded {
  entry: ImageEntry;
  sha: string;
  pixels: Uint8Array;
}

/**
 * The folder holding `folders` (the class folders, or the image and mask folders) of a dir, zip or
 * kaggle source, and the zip entries that were not extracted.
 */
async function sourceRoot(
  ctx: StageContext<FetchParams>,
  deps: FetchDeps,
  folders: string[],
): Promise<{ root: string; ignored: IgnoredFile[] }> {
  const p = ctx.params, abs = (x: string) => (isAbsolute(x) ? x : resolve(ctx.root, x));
  const fetchFn = deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
  if (p.source === "dir") return { root: abs(p.path!), ignored: [] };
  const zipOpts = { cacheDir: ctx.cacheDir, fetch: fetchFn, sha256: p.sha256 };
  const { dir, skipped } = p.source === "zip"
    ? await resolveZip({ ...zipOpts, path: p.path && abs(p.path), url: p.url, limits: p.zip_limits })
    : await resolveZip({
      cacheDir: ctx.cacheDir,
      path: await downloadKaggle(p.dataset!, { ...zipOpts, env: deps.env, home: deps.home }),
      limits: p.zip_limits,
    });
  return { root: await findClassRoot(dir, folders), ignored: skipped };
}

/** The synthetic faces' folder (generated into the cache when missing), read like a dir source. */
async function syntheticRoot(ctx: StageContext<ClassificationParams>): Promise<string> {
  const { dir, generated } = await syntheticDir(
    ctx.cacheDir,
    ctx.seed,
    ctx.params.count_per_class,
    (total) => {
      const bar = ctx.progress("generate", total, "img");
      let left = total;
      return () => (bar.tick(), --left === 0 && bar.done());
    },
  );
  ctx.log.info(`synthetic faces ${generated ? "generated into" : "reused from"} ${dir}`);
  return dir;
}

/** Hash, then decode (or read from the tensor cache) every entry, a few at a time. */
async function decodeAll(ctx: StageContext<FetchParams>, entries: ImageEntry[]) {
  const cache = await TensorCache.open(ctx.cacheDir, ctx.params.size);
  const bar = ctx.progress("decode", entries.length, "img");
  const out: (Decoded | null)[] = new Array(entries.length).fill(null);
  const skipped: { path: string; reason: string }[] = [];
  let decoded = 0, fromCache = 0, next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++, entry = entries[i];
      try {
        const bytes = await readImageFile(entry.file);
        const sha = await sha256Hex(bytes);
        let pixels = await cache.get(sha);
        if (pixels) fromCache++;
        else {
          pixels = await decodeImage(bytes, ctx.params.size);
          await cache.put(sha, pixels);
          decoded++;
        }
        out[i] = { entry, sha, pixels };
      } catch (e) {
        const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
        skipped.push({ path: entry.path, reason });
        ctx.log.warn(`skipped image "${entry.path}": ${reason}`);
      }
      bar.tick(1, { decoded, cached: fromCache, skipped: skipped.length });
    }
  };
  // sharp decodes on its own thread pool; four in flight keep both cores busy.
  await Promise.all(Array.from({ length: 4 }, worker));
  bar.done({ decoded, cached: fromCache, skipped: skipped.length });
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { items: out.filter((d): d is Decoded => d !== null), skipped, decoded, fromCache };
}

/** Run the fetch stage: a classification data set, or a segmentation one (`task: segmentation`). */
export async function run(ctx: StageContext<FetchParams>, deps: FetchDeps = {}): Promise<StageResult> {
  const p = ctx.params;
  if (p.task === "segmentation") {
    const seg = ctx as StageContext<SegmentationParams>;
    const source = p.source === "synthetic" ? null : await sourceRoot(ctx, deps, [p.images_dir, p.masks_dir]);
    return await fetchSegmentation(seg, source);
  }
  return await runClassification(ctx as StageContext<ClassificationParams>, deps);
}

async function runClassification(
  ctx: StageContext<ClassificationParams>,
  deps: FetchDeps,
): Promise<StageResult> {
  const p = ctx.params;
  const source = p.source === "synthetic"
    ? { root: await syntheticRoot(ctx), ignored: [] }
    : await sourceRoot(ctx, deps, p.classes);
  const root = source.root;
  const listed = await listClassImages(root, p.classes);
  const ignored = [...source.ignored, ...listed.ignored];
  // Links and special files are worth a warning; non-image files and zip entries only a count.
  for (const f of ignored.filter((f) => /symbolic link|not a regular file/.test(f.reason))) {
    ctx.log.warn(`ignored "${f.path}": ${f.reason}`);
  }
  if (ignored.length > 0) ctx.log.info(`${ignored.length} files ignored (listed in the summary)`);
  const { items, skipped, decoded, fromCache } = await decodeAll(ctx, listed.entries);
  for (const [c, name] of p.classes.entries()) {
    if (!items.some((d) => d.entry.label === c)) {
      throw new ExpectedError(
        `Class "${name}" has no readable images in "${join(root, name)}" (all ${skipped.length} skipped)`,
      );
    }
  }
  checkSplitSizes(
    p.classes.map((_, c) => items.filter((d) => d.entry.label === c).length),
    p.classes,
    p.split,
  );

  const split = stratifiedSplit(items.map((d) => d.entry.label), p.classes.length, p.split, ctx.seed);
  const per = p.size * p.size * 3;
  const counts = {} as DatasetInfo["counts"];
  const splits = {} as DatasetInfo["splits"];
  const manifest: string[][] = [["path", "label", "split", "sha256"]];
  for (const name of SPLITS) {
    const idx = split[name], buf = new Uint8Array(idx.length * per);
    counts[name] = Object.fromEntries(p.classes.map((c) => [c, 0]));
    idx.forEach((i, k) => {
      const d = items[i];
      buf.set(d.pixels, k * per);
      counts[name][p.classes[d.entry.label]]++;
      manifest.push([d.entry.path, p.classes[d.entry.label], name, d.sha]);
    });
    await Deno.writeFile(join(ctx.outDir, `${name}.u8`), buf);
    splits[name] = { file: `${name}.u8`, count: idx.length, labels: idx.map((i) => items[i].entry.label) };
  }

  const where = relative(ctx.root, root).startsWith("..") ? root : relative(ctx.root, root);
  const info: DatasetInfo = {
    task: "classification",
    classes: p.classes,
    size: p.size,
    source: p.source,
    fit: RESIZE_FIT,
    seed: ctx.seed,
    counts,
    splits,
  };
  await Deno.writeTextFile(join(ctx.outDir, "dataset.json"), JSON.stringify(info) + "\n");
  // Rows are in split-file order: row k of a split is image k of <split>.u8.
  await Deno.writeTextFile(join(ctx.outDir, "manifest.csv"), stringify(manifest));
  const total = Object.fromEntries(SPLITS.map((s) => [s, splits[s].count])) as Record<SplitName, number>;
  const dataset = {
    source: p.source,
    root: where,
    classes: p.classes,
    size: p.size,
    fit: RESIZE_FIT,
    images: items.length,
    total,
    counts,
    skipped,
    ignored,
  };
  await Deno.writeTextFile(
    join(ctx.outDir, "results.part.json"),
    JSON.stringify({ dataset }, null, 2) + "\n",
  );
  ctx.log.info(
    `${items.length} images: ${decoded} decoded, ${fromCache} from cache, ${skipped.length} skipped`,
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
