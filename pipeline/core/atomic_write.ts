/**
 * Atomic file writes: write a sibling temp file, then rename it over the target,
 * so a reader (or a killed run) never sees half a file.
 */

/**
 * Write `data` to `path` atomically (temp file + rename), creating parent folders.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.json`, "{}\n");
 * assert(await Deno.readTextFile(`${dir}/a.json`) === "{}\n");
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || ".";
  await Deno.mkdir(dir, { recursive: true });
  // pid + random: several writers of one process (e.g. parallel decodes) never share a temp file.
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

/** True when `path` exists (file, folder or link). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** True when `path` exists (file, folder or link); synchronous, for validation code. */
export function pathExistsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Remove `path` recursively; no error when it does not exist. */
export async function removePath(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
