/**
 * The `dir` source: one sub-folder per class (Kaggle's face-mask-detection layout:
 * with_mask/, without_mask/, mask_weared_incorrect/). Only the requested classes are read.
 */
import { join, relative, sep } from "node:path";

/** File extensions treated as images; anything else in a class folder is ignored. */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"];

/** One image file of a class. */
export interface ImageEntry {
  /** Path relative to the dataset root, with forward slashes. */
  path: string;
  /** Absolute (or root-joined) path to read. */
  file: string;
  /** Index into the classes array. */
  label: number;
}

async function statKind(path: string): Promise<"dir" | "file" | "missing"> {
  try {
    return (await Deno.stat(path)).isDirectory ? "dir" : "file";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    throw e;
  }
}

async function walk(dir: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) await walk(p, out);
    else if (e.isFile && IMAGE_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) out.push(p);
  }
}

/**
 * List the image files of each class under `root`, sorted by path (so the result does
 * not depend on file-system order). Throws, naming the folder, when the root or a class
 * folder is missing or a class folder holds no image files.
 */
export async function listClassImages(root: string, classes: string[]): Promise<ImageEntry[]> {
  const kind = await statKind(root);
  if (kind !== "dir") {
    throw new Error(
      `Cannot read dataset folder "${root}": ${kind === "missing" ? "not found" : "not a folder"}`,
    );
  }
  const entries: ImageEntry[] = [];
  for (const [label, name] of classes.entries()) {
    const dir = join(root, name);
    const k = await statKind(dir);
    if (k !== "dir") {
      throw new Error(`Cannot read class folder "${dir}": ${k === "missing" ? "not found" : "not a folder"}`);
    }
    const files: string[] = [];
    await walk(dir, files);
    if (files.length === 0) {
      throw new Error(`Class folder "${dir}" is empty: no ${IMAGE_EXTENSIONS.join("/")} files`);
    }
    for (const file of files) {
      entries.push({ path: relative(root, file).split(sep).join("/"), file, label });
    }
  }
  return entries.sort((a, b) => a.label - b.label || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Find the folder under `dir` (itself or up to `depth` levels down) that holds every class
 * folder, e.g. `Dataset/` inside Kaggle's zip. Returns `dir` itself when none matches,
 * so {@link listClassImages} reports the missing class folder.
 */
export async function findClassRoot(dir: string, classes: string[], depth = 2): Promise<string> {
  const has = async (d: string) => {
    for (const c of classes) if (await statKind(join(d, c)) !== "dir") return false;
    return true;
  };
  let level = [dir];
  for (let i = 0; i <= depth; i++) {
    const next: string[] = [];
    for (const d of level.sort()) {
      if (await has(d)) return d;
      for await (const e of Deno.readDir(d)) {
        if (e.isDirectory && e.name !== "__MACOSX") next.push(join(d, e.name));
      }
    }
    level = next;
  }
  return dir;
}
