/**
 * The `dir` source: one sub-folder per class (Kaggle's face-mask-detection layout:
 * with_mask/, without_mask/, mask_weared_incorrect/). Only the requested classes are read.
 *
 * The folders are walked without following links blindly: a link to a file is used only when
 * its real path lies inside the source folder, a link to a folder only when it lies inside the
 * class folder (and was not read already). Everything left out (links outside or broken,
 * non-image files) is returned with the reason, so the stage can list it.
 */
import { join, relative, sep } from "node:path";
import { ExpectedError } from "../../core/errors.ts";

/** File extensions treated as images; anything else in a class folder is ignored. */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"];

/** Larger files are skipped unread: a photo this size is not a training image, and reading it whole costs memory. */
export const MAX_IMAGE_BYTES = 64 * 2 ** 20;

/** Read an image file, refusing one over {@link MAX_IMAGE_BYTES} before reading it. */
export async function readImageFile(file: string): Promise<Uint8Array> {
  const { size } = await Deno.stat(file);
  if (size > MAX_IMAGE_BYTES) {
    throw new Error(
      `file of ${(size / 2 ** 20).toFixed(0)} MiB, over the ${
        MAX_IMAGE_BYTES / 2 ** 20
      } MiB an image may have`,
    );
  }
  return await Deno.readFile(file);
}

/** Whether a file name has one of {@link IMAGE_EXTENSIONS} (any case). */
export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((x) => lower.endsWith(x));
}

/** One image file of a class. */
export interface ImageEntry {
  /** Path relative to the dataset root, with forward slashes. */
  path: string;
  /** Absolute (or root-joined) path to read; a link's real path. */
  file: string;
  /** Index into the classes array. */
  label: number;
}

/** A file, folder or link that was not used, and why. */
export interface IgnoredFile {
  /** Path relative to the dataset root (or the zip entry name), with forward slashes. */
  path: string;
  reason: string;
}

/** The images of the requested classes and what was left out of their folders. */
export interface ClassImages {
  entries: ImageEntry[];
  ignored: IgnoredFile[];
}

async function statKind(path: string): Promise<"dir" | "file" | "missing"> {
  try {
    return (await Deno.stat(path)).isDirectory ? "dir" : "file";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    throw e;
  }
}

const inside = (path: string, folder: string) => path === folder || path.startsWith(folder + sep);
const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

interface Walk {
  root: string;
  realRoot: string;
  /** Real path of the class folder: a link to a folder outside it would pull in other classes. */
  realClass: string;
  /** Real paths of the folders already walked (a link loop or a second link to one is not re-read). */
  seen: Set<string>;
  files: { path: string; file: string }[];
  ignored: IgnoredFile[];
}

async function walk(dir: string, w: Walk): Promise<void> {
  const names: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e);
  names.sort((a, b) => (a.name < b.name ? -1 : 1)); // the first of two ways to one folder is the same on any file system
  for (const e of names) {
    const p = join(dir, e.name), rel = relative(w.root, p).split(sep).join("/");
    const ignore = (reason: string) => w.ignored.push({ path: rel, reason });
    let real = p, isDir = e.isDirectory, isFile = e.isFile;
    if (e.isSymlink) {
      const target = await Deno.readLink(p).catch(() => "?");
      const resolved = await Deno.realPath(p).catch(() => null);
      if (resolved === null) {
        ignore(`broken symbolic link to ${target}`);
        continue;
      }
      if (!inside(resolved, w.realRoot)) {
        ignore(`symbolic link to a path outside the source folder: ${resolved}`);
        continue;
      }
      const st = await Deno.stat(resolved);
      [real, isDir, isFile] = [resolved, st.isDirectory, st.isFile];
      if (isDir && !inside(resolved, w.realClass)) {
        ignore(`symbolic link to a folder outside its class folder: ${resolved}`);
        continue;
      }
    }
    if (isDir) {
      const key = await Deno.realPath(real);
      if (w.seen.has(key)) {
        ignore(`symbolic link to a folder already read: ${relative(w.realRoot, key) || "."}`);
        continue;
      }
      w.seen.add(key);
      await walk(p, w);
    } else if (isFile && isImageName(e.name)) w.files.push({ path: rel, file: real });
    else if (isFile) ignore(`not an image (by extension: ${IMAGE_EXTENSIONS.join(" ")})`);
    else ignore("not a regular file");
  }
}

/**
 * List the image files of each class under `root`, sorted by path (so the result does
 * not depend on file-system order), and what was ignored. Throws, naming the folder, when
 * the root or a class folder is missing, a class folder is a link outside the root, or a
 * class folder holds no image files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listClassImages } from "./dir.ts";
 * const root = await Deno.makeTempDir();
 * for (const c of ["a", "b"]) await Deno.mkdir(`${root}/${c}`);
 * await Deno.writeFile(`${root}/a/1.png`, new Uint8Array([1]));
 * await Deno.writeFile(`${root}/b/2.jpg`, new Uint8Array([1]));
 * const outside = await Deno.makeTempFile({ suffix: ".png" });
 * await Deno.symlink(outside, `${root}/b/3.png`); // a link to a file outside the root
 * const { entries, ignored } = await listClassImages(root, ["a", "b"]);
 * assert(entries.length === 2 && ignored[0].reason.includes("outside the source folder"));
 * await Deno.remove(root, { recursive: true });
 * await Deno.remove(outside);
 * ```
 */
export async function listClassImages(root: string, classes: string[]): Promise<ClassImages> {
  const entries: ImageEntry[] = [];
  const ignored: IgnoredFile[] = [];
  for (const [label, name] of classes.entries()) {
    const listed = await listFolderImages(root, name, "class folder");
    for (const f of listed.files) entries.push({ ...f, label });
    ignored.push(...listed.ignored);
  }
  return {
    entries: entries.sort((a, b) => a.label - b.label || byPath(a, b)),
    ignored: ignored.sort(byPath),
  };
}

/**
 * The image files under `root/folder` (walked as {@link listClassImages} walks a class folder: the
 * same rules for links), sorted by path, and what was ignored. Throws, calling the folder `what`
 * ("class folder", "mask folder"), when the root or the folder is missing, the folder is a link
 * outside the root, or it holds no image files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listFolderImages } from "./dir.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/masks/sub`, { recursive: true });
 * await Deno.writeFile(`${root}/masks/sub/a.png`, new Uint8Array([1]));
 * await Deno.writeTextFile(`${root}/masks/notes.txt`, "x");
 * const { files, ignored } = await listFolderImages(root, "masks", "mask folder");
 * assert(files[0].path === "masks/sub/a.png" && ignored[0].path === "masks/notes.txt");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function listFolderImages(
  root: string,
  folder: string,
  what: string,
): Promise<{ files: { path: string; file: string }[]; ignored: IgnoredFile[] }> {
  const kind = await statKind(root);
  if (kind !== "dir") {
    throw new ExpectedError(
      `Cannot read dataset folder "${root}": ${kind === "missing" ? "not found" : "not a folder"}`,
    );
  }
  const realRoot = await Deno.realPath(root);
  const dir = join(root, folder);
  const k = await statKind(dir);
  if (k !== "dir") {
    throw new ExpectedError(
      `Cannot read ${what} "${dir}": ${k === "missing" ? "not found" : "not a folder"}`,
    );
  }
  const realDir = await Deno.realPath(dir);
  const What = what[0].toUpperCase() + what.slice(1);
  if (!inside(realDir, realRoot)) {
    throw new ExpectedError(
      `${What} "${dir}" is a symbolic link to a path outside the source folder: ${realDir}; ` +
        `point fetch.params.path at a folder that holds the ${what}s themselves`,
    );
  }
  const w: Walk = { root, realRoot, realClass: realDir, seen: new Set([realDir]), files: [], ignored: [] };
  await walk(dir, w);
  if (w.files.length === 0) {
    throw new ExpectedError(`${What} "${dir}" is empty: no ${IMAGE_EXTENSIONS.join("/")} files`);
  }
  return { files: w.files.sort(byPath), ignored: w.ignored.sort(byPath) };
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
