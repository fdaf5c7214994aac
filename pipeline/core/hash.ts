/**
 * Content hashing for cache keys and out-folder manifests.
 *
 * Folders are walked in sorted order; `node_modules`, `artifacts`, `.git` and the runner's
 * own temp folders (`*.tmp-<pid>`, `*.old-<pid>`) are skipped, so the hash only depends on
 * the source files that matter.
 */
import { createHash } from "node:crypto";

/** Names never descended into when walking a dep folder. */
const SKIP_NAMES = new Set(["node_modules", "artifacts", ".git"]);
const GARBAGE = /\.(tmp|old)-\d+(-[0-9a-f]+)?$/;

/** One file of an out folder as recorded in the lock file. */
export interface ManifestEntry {
  /** Path relative to the out folder, "/"-separated. */
  path: string;
  size: number;
  /** Modification time in ms since the epoch (0 when the platform gives none). */
  mtime_ms: number;
  sha256: string;
}

/** Hex sha256 of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * JSON with object keys sorted at every level, so equal values always hash equally.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalJson } from "./hash.ts";
 * assert(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) === '{"a":[2,{"c":4,"d":3}],"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, sortKeys(obj[k])]));
  }
  return value;
}

/** Hex sha256 of one file's contents, streamed so large files are not held in memory. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  while (true) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("hex");
}

/** Files under `dir` (relative, "/"-separated, sorted), skipping the names above. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (SKIP_NAMES.has(e.name) || GARBAGE.test(e.name)) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(child);
      else if (e.isFile || e.isSymlink) out.push(child);
    }
  }
  await walk("");
  return out;
}

/**
 * Hash a dep path (file or folder): sha256 over each file's relative path and content hash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPath } from "./hash.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "x");
 * const before = await hashPath(dir);
 * await Deno.writeTextFile(`${dir}/a.txt`, "y");
 * assert(before !== await hashPath(dir));
 * ```
 */
export async function hashPath(path: string): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isDirectory) return await hashFile(path);
  const lines: string[] = [];
  for (const rel of await listFiles(path)) lines.push(`${rel}\0${await hashFile(`${path}/${rel}`)}`);
  return sha256(lines.join("\n"));
}

/** Hash every file of an out folder once, recording size and mtime for cheap later checks. */
export async function buildManifest(dir: string): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (const rel of await listFiles(dir)) {
    const full = `${dir}/${rel}`;
    const info = await Deno.stat(full);
    entries.push({
      path: rel,
      size: info.size,
      mtime_ms: info.mtime?.getTime() ?? 0,
      sha256: await hashFile(full),
    });
  }
  return entries;
}

/** The out hash of a manifest: depends on file paths and contents only, not on mtimes. */
export function manifestHash(entries: ManifestEntry[]): string {
  return sha256(entries.map((e) => `${e.path}\0${e.sha256}`).join("\n"));
}
