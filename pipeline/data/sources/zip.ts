/**
 * The `zip` source: a local zip or an https URL (sha256 required), downloaded into the
 * cache through a temp file and extracted with fflate, refusing entries that would land
 * outside the target folder (zip slip).
 */
import { dirname, join, resolve, sep } from "node:path";
import { unzipSync } from "fflate";
import { writeFileAtomic } from "../../core/atomic_write.ts";
import { sha256Hex } from "../_hash.ts";

/** The fetch function; injectable so tests never touch the network. */
export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Check that a zip entry name stays inside `dest` and return its target path.
 * Throws naming the entry for `../x`, absolute paths, drive letters and backslash tricks.
 */
export function safeEntryPath(dest: string, name: string): string {
  const parts = name.split(/[\\/]+/);
  const bad = name.includes("\0") || /^[\\/]/.test(name) || /^[a-zA-Z]:/.test(name) || parts.includes("..");
  const target = resolve(dest, ...parts.filter((p) => p !== "" && p !== "."));
  if (bad || !(target + sep).startsWith(resolve(dest) + sep)) {
    throw new Error(`Refusing zip entry "${name}": it would be written outside "${dest}" (zip slip)`);
  }
  return target;
}

/**
 * Extract `zipBytes` into `dest` (created through a temp folder renamed into place).
 * Every entry name is checked before anything is written.
 */
export async function extractZip(zipBytes: Uint8Array, dest: string): Promise<void> {
  const tmp = `${dest}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const files = unzipSync(zipBytes, { filter: (f) => (safeEntryPath(dest, f.name), true) });
  try {
    for (const [name, data] of Object.entries(files)) {
      const target = safeEntryPath(tmp, name);
      if (/[\\/]$/.test(name)) {
        await Deno.mkdir(target, { recursive: true });
        continue;
      }
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.writeFile(target, data);
    }
    await Deno.mkdir(tmp, { recursive: true });
    await Deno.rename(tmp, dest);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {}); // only our own half-written temp
    throw e;
  }
}

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  fetch?: FetchFn;
  headers?: Record<string, string>;
  /** Expected hex sha256; a mismatch throws and the temp file is removed. */
  sha256?: string;
  /** Name of the thing in error messages (never contains credentials). */
  label?: string;
}

/** Download `url` to `dest` through a temp file; verify sha256 when given. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const label = opts.label ?? url;
  const res = await (opts.fetch ?? fetch)(url, { headers: opts.headers, redirect: "follow" });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Download of "${label}" failed: HTTP ${res.status} ${res.statusText}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (opts.sha256) checkSha256(label, opts.sha256, await sha256Hex(bytes));
  await Deno.mkdir(dirname(dest), { recursive: true });
  await writeFileAtomic(dest, bytes);
}

/** Throw a clear error when `actual` differs from `expected` (hex, case-insensitive). */
export function checkSha256(label: string, expected: string, actual: string): void {
  if (expected.toLowerCase() !== actual) {
    throw new Error(
      `Checksum mismatch for "${label}": expected sha256 ${expected.toLowerCase()}, got ${actual}`,
    );
  }
}

/** Options of {@link resolveZip}. */
export interface ZipSourceOptions {
  path?: string;
  url?: string;
  sha256?: string;
  cacheDir: string;
  fetch?: FetchFn;
}

/**
 * Return the folder a zip is extracted to (cacheDir/zip/<sha256>/), downloading a URL to
 * cacheDir/downloads/<sha256>.zip first. Already extracted zips are reused.
 */
export async function resolveZip(opts: ZipSourceOptions): Promise<string> {
  let zipPath = opts.path;
  if (opts.url) {
    if (!opts.sha256) throw new Error(`Zip URL "${opts.url}" needs a sha256`);
    zipPath = join(opts.cacheDir, "downloads", `${opts.sha256.toLowerCase()}.zip`);
    const have = await Deno.stat(zipPath).then(() => true, () => false);
    if (!have) await downloadFile(opts.url, zipPath, { fetch: opts.fetch, sha256: opts.sha256 });
  }
  if (!zipPath) throw new Error(`The zip source needs "path" or "url"`);
  const bytes = await Deno.readFile(zipPath).catch((e) => {
    throw new Error(
      `Cannot read zip "${zipPath}": ${e instanceof Deno.errors.NotFound ? "not found" : e.message}`,
    );
  });
  const sha = await sha256Hex(bytes);
  if (opts.sha256) checkSha256(opts.url ?? zipPath, opts.sha256, sha);
  const dest = join(opts.cacheDir, "zip", sha);
  if (!(await Deno.stat(dest).then(() => true, () => false))) {
    await Deno.mkdir(dirname(dest), { recursive: true });
    await extractZip(bytes, dest);
  }
  return dest;
}
