/**
 * The `zip` source: a local zip or an https URL (sha256 required), downloaded into the
 * cache through a temp file and extracted entry by entry as a stream.
 *
 * Nothing is inflated before the whole central directory passes: every name stays inside
 * the target folder (zip slip), the entry count, the image entries' total uncompressed size
 * and each large entry's compression ratio are within {@link ZipLimits}. Entries that are not
 * images (by extension) are listed and never inflated. While inflating, an entry that
 * produces more bytes than it declared is stopped at once, so a lying header cannot get
 * past the limits either.
 */
import { basename, dirname, join, resolve, sep } from "node:path";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { Inflate } from "fflate";
import { writeFileAtomic } from "../../core/atomic_write.ts";
import { ExpectedError } from "../../core/errors.ts";
import { sha256Hex } from "../_hash.ts";
import { type IgnoredFile, isImageName } from "./dir.ts";

/** The fetch function; injectable so tests never touch the network. */
export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What a zip may expand to (fetch.params.zip_limits). */
export interface ZipLimits {
  /** Sum of the declared uncompressed sizes of the image entries, in bytes. @default 2 GiB */
  max_total_bytes: number;
  /** Entries in the central directory, folders and skipped files included. @default 100000 */
  max_entries: number;
  /** Uncompressed / compressed size of one entry over {@link RATIO_CHECK_BYTES}. @default 200 */
  max_ratio: number;
}

/** The default limits, each with its reason. */
export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  // Several times the Kaggle face-mask set (a few thousand small JPEGs and PNGs); fits disk and RAM anywhere.
  max_total_bytes: 2 * 1024 ** 3,
  // Thirty times that set's file count; a directory this long is read into memory before anything else.
  max_entries: 100_000,
  // JPEG/PNG store at ~1:1 and BMP/TIFF photos rarely pass 20:1; a deflate bomb of zeros reaches ~1,000:1.
  max_ratio: 200,
};

/** Entries up to this size are not ratio-checked: a flat-colour BMP icon compresses 500:1 and is harmless. */
export const RATIO_CHECK_BYTES = 1024 ** 2;

/** Name of the listing of skipped entries written inside an extracted folder. */
export const SKIPPED_LISTING = ".edgeslim-zip-skipped.json";

const READ_BLOCK = 256 * 1024; // compressed bytes read from the zip at a time
const INFLATE_STEP = 4 * 1024; // ≤ ~4 MiB of output per inflate step (deflate tops out near 1,032:1)
const RAISE = (key: keyof ZipLimits) => `raise fetch.params.zip_limits.${key} if this archive is trusted`;

/**
 * Check that a zip entry name stays inside `dest` and return its target path.
 * Throws naming the entry for `../x`, absolute paths, drive letters and backslash tricks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { safeEntryPath } from "./zip.ts";
 * assert(safeEntryPath("/data", "a/./b.png") === "/data/a/b.png");
 * ```
 */
export function safeEntryPath(dest: string, name: string): string {
  const parts = name.split(/[\\/]+/);
  const bad = name.includes("\0") || /^[\\/]/.test(name) || /^[a-zA-Z]:/.test(name) || parts.includes("..");
  const target = resolve(dest, ...parts.filter((p) => p !== "" && p !== "."));
  if (bad || !(target + sep).startsWith(resolve(dest) + sep)) {
    throw new ExpectedError(`Refusing zip entry "${name}": it would be written outside "${dest}" (zip slip)`);
  }
  return target;
}

/** `n` bytes in binary units: "512 B", "1.37 MiB", "1.00 GiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, u = 0;
  for (; v >= 1024 && u < units.length - 1; u++) v /= 1024;
  return `${v.toFixed(2)} ${units[u]}`;
}

/** One entry of a zip's central directory. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate; anything else is refused when the entry is extracted. */
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  offset: number;
}

const u16 = (b: DataView, o: number) => b.getUint16(o, true);
const u32 = (b: DataView, o: number) => b.getUint32(o, true);
const u64 = (b: DataView, o: number) => Number(b.getBigUint64(o, true));

async function readAt(file: Deno.FsFile, pos: number, len: number): Promise<Uint8Array> {
  const out = new Uint8Array(len);
  await file.seek(pos, Deno.SeekMode.Start);
  for (let got = 0; got < len;) {
    const n = await file.read(out.subarray(got));
    if (n === null) throw new Error(`unexpected end of file at byte ${pos + got}`);
    got += n;
  }
  return out;
}

/**
 * Read the central directory of the zip open as `file` (ZIP64 included), refusing more than
 * `maxEntries` entries before the directory itself is read.
 */
export async function readZipDirectory(
  file: Deno.FsFile,
  label: string,
  maxEntries = DEFAULT_ZIP_LIMITS.max_entries,
): Promise<ZipEntry[]> {
  const size = (await file.stat()).size;
  const corrupt = (what: string) => new ExpectedError(`Cannot read zip "${label}": ${what}`);
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = await readAt(file, size - tailLen, tailLen);
  const tv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0 && eocd < 0; i--) if (u32(tv, i) === 0x06054b50) eocd = i;
  if (eocd < 0) throw corrupt("no end-of-central-directory record (not a zip file, or truncated)");
  let count = u16(tv, eocd + 10), cdSize = u32(tv, eocd + 12), cdOffset = u32(tv, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const at = size - tailLen + eocd - 20;
    const loc = at >= 0 ? new DataView((await readAt(file, at, 20)).buffer) : null;
    if (!loc || u32(loc, 0) !== 0x07064b50) throw corrupt("ZIP64 locator missing");
    const z64Offset = u64(loc, 8);
    if (z64Offset + 56 > size) throw corrupt("ZIP64 record outside the file");
    const rec = new DataView((await readAt(file, z64Offset, 56)).buffer);
    if (u32(rec, 0) !== 0x06064b50) throw corrupt("bad ZIP64 record");
    [count, cdSize, cdOffset] = [u64(rec, 32), u64(rec, 40), u64(rec, 48)];
  }
  const tooMany = (n: number) =>
    new ExpectedError(
      `zip "${label}": ${n} entries > max_entries ${maxEntries}; ${RAISE("max_entries")}`,
    );
  if (count > maxEntries) throw tooMany(count);
  if (cdOffset + cdSize > size) throw corrupt("central directory outside the file");
  const cd = await readAt(file, cdOffset, cdSize);
  const v = new DataView(cd.buffer);
  const utf8 = new TextDecoder();
  const latin1 = { decode: (b: Uint8Array) => Array.from(b, (c) => String.fromCharCode(c)).join("") };
  const entries: ZipEntry[] = [];
  for (let p = 0; p + 46 <= cd.length && u32(v, p) === 0x02014b50;) {
    const flags = u16(v, p + 8), nameLen = u16(v, p + 28), extraLen = u16(v, p + 30);
    const next = p + 46 + nameLen + extraLen + u16(v, p + 32);
    if (next > cd.length) throw corrupt("truncated central directory");
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
    const e: ZipEntry = {
      name: (flags & 0x800 ? utf8 : latin1).decode(nameBytes), // fflate's rule: UTF-8 only when flagged
      method: u16(v, p + 10),
      flags,
      crc: u32(v, p + 16),
      compressedSize: u32(v, p + 20),
      size: u32(v, p + 24),
      offset: u32(v, p + 42),
    };
    // ZIP64 extra field: the 64-bit values, in this order, of the fields that read 0xFFFFFFFF.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
      const id = u16(v, x), len = u16(v, x + 2);
      if (id === 1) {
        let q = x + 4;
        for (const k of ["size", "compressedSize", "offset"] as const) {
          if (e[k] === 0xffffffff && q + 8 <= x + 4 + len) (e[k] = u64(v, q), q += 8);
        }
      }
      x += 4 + len;
    }
    entries.push(e);
    if (entries.length > maxEntries) throw tooMany(entries.length);
    p = next;
  }
  if (entries.length !== count) {
    throw corrupt(`central directory lists ${entries.length} entries, the end record says ${count}`);
  }
  return entries;
}

/** Refuse the image entries as a whole before anything is inflated. */
function checkLimits(entries: ZipEntry[], label: string, limits: ZipLimits): void {
  let total = 0;
  for (const e of entries) {
    const where = `zip entry "${e.name}" in "${label}"`;
    if (e.flags & 1) throw new ExpectedError(`${where} is encrypted; encrypted zips are not supported`);
    if (e.method !== 0 && e.method !== 8) {
      throw new ExpectedError(
        `${where} uses compression method ${e.method}; only stored (0) and deflate (8) are supported`,
      );
    }
    const ratio = e.size / Math.max(e.compressedSize, 1);
    if (e.size > RATIO_CHECK_BYTES && ratio > limits.max_ratio) {
      throw new ExpectedError(
        `${where}: ${formatBytes(e.size)} uncompressed from ${formatBytes(e.compressedSize)} ` +
          `(ratio ${Math.round(ratio)} > max_ratio ${limits.max_ratio}); ${RAISE("max_ratio")}`,
      );
    }
    total += e.size;
    if (total > limits.max_total_bytes) {
      throw new ExpectedError(
        `${where}: the image entries up to this one expand to ${formatBytes(total)} ` +
          `(> max_total_bytes ${limits.max_total_bytes} = ${formatBytes(limits.max_total_bytes)}); ` +
          RAISE("max_total_bytes"),
      );
    }
  }
}

/** Stream one entry from `zip` into `target`, counting bytes against its declared size. */
async function extractEntry(zip: Deno.FsFile, zipSize: number, e: ZipEntry, target: string, label: string) {
  const where = `zip entry "${e.name}" in "${label}"`;
  const head = new DataView((await readAt(zip, e.offset, 30)).buffer);
  if (u32(head, 0) !== 0x04034b50) throw new ExpectedError(`${where}: bad local header (corrupt zip)`);
  let pos = e.offset + 30 + u16(head, 26) + u16(head, 28);
  const end = pos + e.compressedSize;
  if (end > zipSize) throw new ExpectedError(`${where}: data runs past the end of the file (corrupt zip)`);
  if (e.method === 0 && e.compressedSize !== e.size) {
    throw new ExpectedError(`${where}: stored entry with different sizes (corrupt zip)`);
  }
  const out = await Deno.open(target, { write: true, createNew: true });
  try {
    let written = 0, crc = 0, pending: Uint8Array[] = [];
    const inflate = e.method === 8 ? new Inflate((chunk) => pending.push(chunk)) : null;
    const drain = async () => {
      for (const chunk of pending) {
        written += chunk.length;
        if (written > e.size) {
          throw new ExpectedError(
            `${where} inflates past its declared ${formatBytes(e.size)} (corrupt, or crafted to hide ` +
              `its size); refused after ${formatBytes(written)}`,
          );
        }
        crc = crc32(chunk, crc);
        for (let o = 0; o < chunk.length;) o += await out.write(chunk.subarray(o));
      }
      pending = [];
    };
    do {
      const block = await readAt(zip, pos, Math.min(READ_BLOCK, end - pos));
      pos += block.length;
      // Small steps: each inflates to at most ~4 MiB, counted and written before the next.
      for (let o = 0; o < block.length || o === 0; o += INFLATE_STEP) {
        const input = block.subarray(o, o + INFLATE_STEP);
        if (inflate) inflate.push(input, pos === end && o + INFLATE_STEP >= block.length);
        else pending.push(input);
        await drain();
      }
    } while (pos < end);
    if (written !== e.size) {
      throw new ExpectedError(
        `${where} inflates to ${written} bytes, declared ${e.size} (corrupt zip)`,
      );
    }
    if (crc !== e.crc) throw new ExpectedError(`${where}: CRC-32 mismatch (corrupt zip)`);
  } catch (err) {
    if (err instanceof ExpectedError) throw err;
    throw new ExpectedError(`${where}: ${err instanceof Error ? err.message : String(err)} (corrupt zip)`);
  } finally {
    out.close();
  }
}

/** An entry that was listed but not extracted, with the reason. */
export type SkippedEntry = IgnoredFile;

/**
 * Extract the zip at `zipPath` into `dest` (created through a temp folder renamed into place)
 * and return the entries that were skipped. Every entry name and every limit is checked
 * before anything is written; non-image entries are skipped without being inflated.
 */
export async function extractZip(
  zipPath: string,
  dest: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<SkippedEntry[]> {
  const label = basename(zipPath);
  const tmp = `${dest}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const zip = await Deno.open(zipPath);
  try {
    const all = await readZipDirectory(zip, label, limits.max_entries);
    for (const e of all) safeEntryPath(dest, e.name);
    const folders = all.filter((e) => /[\\/]$/.test(e.name));
    const images = all.filter((e) => !/[\\/]$/.test(e.name) && isImageName(e.name));
    const skipped = all.filter((e) => !/[\\/]$/.test(e.name) && !isImageName(e.name))
      .map((e) => ({
        path: e.name,
        reason: `zip entry not extracted: not an image (by extension), ${formatBytes(e.size)}`,
      }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    checkLimits(images, label, limits);
    try {
      await Deno.mkdir(tmp, { recursive: true });
      for (const e of folders) await Deno.mkdir(safeEntryPath(tmp, e.name), { recursive: true });
      const zipSize = (await zip.stat()).size, done = new Set<string>();
      for (const e of images) {
        const target = safeEntryPath(tmp, e.name);
        if (done.has(target)) await Deno.remove(target); // a later duplicate wins, as in unzip
        done.add(target);
        await Deno.mkdir(dirname(target), { recursive: true });
        await extractEntry(zip, zipSize, e, target, label);
      }
      await Deno.writeTextFile(join(tmp, SKIPPED_LISTING), JSON.stringify(skipped) + "\n");
      await Deno.rename(tmp, dest);
    } catch (e) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {}); // only our own half-written temp
      throw e;
    }
    return skipped;
  } finally {
    zip.close();
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
    throw new ExpectedError(`Download of "${label}" failed: HTTP ${res.status} ${res.statusText}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (opts.sha256) checkSha256(label, opts.sha256, await sha256Hex(bytes));
  await Deno.mkdir(dirname(dest), { recursive: true });
  await writeFileAtomic(dest, bytes);
}

/** Throw a clear error when `actual` differs from `expected` (hex, case-insensitive). */
export function checkSha256(label: string, expected: string, actual: string): void {
  if (expected.toLowerCase() !== actual) {
    throw new ExpectedError(
      `Checksum mismatch for "${label}": expected sha256 ${expected.toLowerCase()}, got ${actual}`,
    );
  }
}

/** Hex sha256 of a file, read in 1 MiB chunks (a large zip is never held in memory). */
async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buf = new Uint8Array(1024 ** 2);
  for (let n; (n = await file.read(buf)) !== null;) hash.update(buf.subarray(0, n));
  return hash.digest("hex");
}

/** Options of {@link resolveZip}. */
export interface ZipSourceOptions {
  path?: string;
  url?: string;
  sha256?: string;
  cacheDir: string;
  fetch?: FetchFn;
  /** @default DEFAULT_ZIP_LIMITS */
  limits?: ZipLimits;
}

/** Where a zip was extracted, and the entries it left out. */
export interface ResolvedZip {
  dir: string;
  skipped: SkippedEntry[];
}

/**
 * Return the folder a zip is extracted to (cacheDir/zip/<sha256>/), downloading a URL to
 * cacheDir/downloads/<sha256>.zip first, and the entries that were not extracted.
 * Already extracted zips are reused.
 */
export async function resolveZip(opts: ZipSourceOptions): Promise<ResolvedZip> {
  let zipPath = opts.path;
  if (opts.url) {
    if (!opts.sha256) throw new ExpectedError(`Zip URL "${opts.url}" needs a sha256`);
    zipPath = join(opts.cacheDir, "downloads", `${opts.sha256.toLowerCase()}.zip`);
    const have = await Deno.stat(zipPath).then(() => true, () => false);
    if (!have) await downloadFile(opts.url, zipPath, { fetch: opts.fetch, sha256: opts.sha256 });
  }
  if (!zipPath) throw new ExpectedError(`The zip source needs "path" or "url"`);
  const sha = await fileSha256(zipPath).catch((e) => {
    throw new ExpectedError(
      `Cannot read zip "${zipPath}": ${e instanceof Deno.errors.NotFound ? "not found" : e.message}`,
    );
  });
  if (opts.sha256) checkSha256(opts.url ?? zipPath, opts.sha256, sha);
  const dir = join(opts.cacheDir, "zip", sha);
  if (await Deno.stat(dir).then(() => true, () => false)) {
    const listing = await Deno.readTextFile(join(dir, SKIPPED_LISTING)).catch(() => "[]");
    return { dir, skipped: JSON.parse(listing) as SkippedEntry[] };
  }
  await Deno.mkdir(dirname(dir), { recursive: true });
  return { dir, skipped: await extractZip(zipPath, dir, opts.limits) };
}
