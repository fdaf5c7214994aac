/**
 * Issue 14: zip bombs and lying zip headers are refused before (or while) inflating, non-image
 * entries are never inflated, symbolic links outside a dir source are listed and not followed,
 * and a split too small to measure stops the stage.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { join } from "node:path";
import sharp from "sharp";
import { Deflate, zipSync } from "fflate";
import { isExpected } from "../pipeline/core/errors.ts";
import { type FetchParams, paramsSchema, run } from "../pipeline/stages/fetch.ts";
import { DEFAULT_ZIP_LIMITS, resolveZip } from "../pipeline/data/sources/zip.ts";
import { generateFace } from "../pipeline/data/synthetic.ts";
import { stageContext, withTemp } from "./_stage_context.ts";

const MiB = 1024 ** 2;

/**
 * A raw deflate stream of `mib` MiB of zeros without compressing them all: one MiB is deflated
 * (level 9) and sync-flushed to a byte boundary, that segment is repeated, and a final empty
 * stored block ends the stream. 1 GiB → ~1 MiB, the ratio of a real zeros bomb.
 */
function zerosDeflate(mib: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const d = new Deflate({ level: 9 }, (c) => parts.push(c));
  d.push(new Uint8Array(MiB));
  d.flush(true);
  const seg = concat(parts);
  const out = new Uint8Array(seg.length * mib + 5);
  for (let i = 0; i < mib; i++) out.set(seg, i * seg.length);
  out.set([1, 0, 0, 0xff, 0xff], seg.length * mib);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

interface RawEntry {
  name: string;
  /** The bytes as stored (already deflated when method is 8). */
  data: Uint8Array;
  method: 0 | 8;
  /** The uncompressed size the headers declare (may lie). */
  size: number;
  crc?: number;
}

/** A zip written field by field, so a test can declare any sizes it likes. */
function rawZip(entries: RawEntry[]): Uint8Array {
  const enc = new TextEncoder(), locals: Uint8Array[] = [], central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const head = (len: number, sig: number) => {
      const b = new Uint8Array(len + name.length), v = new DataView(b.buffer);
      v.setUint32(0, sig, true);
      b.set(name, len);
      return { b, v };
    };
    const l = head(30, 0x04034b50);
    l.v.setUint16(4, 20, true);
    l.v.setUint16(8, e.method, true);
    l.v.setUint32(14, e.crc ?? 0, true);
    l.v.setUint32(18, e.data.length, true);
    l.v.setUint32(22, e.size, true);
    l.v.setUint16(26, name.length, true);
    const c = head(46, 0x02014b50);
    c.v.setUint16(4, 20, true);
    c.v.setUint16(6, 20, true);
    c.v.setUint16(10, e.method, true);
    c.v.setUint32(16, e.crc ?? 0, true);
    c.v.setUint32(20, e.data.length, true);
    c.v.setUint32(24, e.size, true);
    c.v.setUint16(28, name.length, true);
    c.v.setUint32(42, offset, true);
    locals.push(l.b, e.data);
    central.push(c.b);
    offset += l.b.length + e.data.length;
  }
  const cd = concat(central), end = new Uint8Array(22), v = new DataView(end.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, entries.length, true);
  v.setUint16(10, entries.length, true);
  v.setUint32(12, cd.length, true);
  v.setUint32(16, offset, true);
  return concat([...locals, cd, end]);
}

const png = async (seed: number, mask: boolean) =>
  new Uint8Array(
    await sharp(generateFace(seed, mask, 24), { raw: { width: 24, height: 24, channels: 3 } }).png()
      .toBuffer(),
  );

/** `perClass` PNGs of each class under Dataset/, as fflate zip input. */
async function images(perClass: number): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < perClass; i++) {
    files[`Dataset/with_mask/${i}.png`] = await png(i, true);
    files[`Dataset/without_mask/${i}.png`] = await png(50 + i, false);
  }
  return files;
}

const stored = (name: string, data: Uint8Array): RawEntry => ({ name, data, method: 0, size: data.length });

const fetchCtx = (params: Record<string, unknown>, base: string) =>
  stageContext<FetchParams>("fetch", paramsSchema.parse(params), base);

/** The rejection's message, checked to be an ExpectedError (printed without a stack). */
async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (e) => e);
  assert(e !== null, "expected a failure");
  assert(isExpected(e), `not an ExpectedError: ${e}`);
  return (e as Error).message;
}

Deno.test("zip bomb: a 1 GiB entry of zeros is refused on its ratio before anything is inflated", async () => {
  await withTemp(async (base) => {
    const bomb = zerosDeflate(1024);
    const zip = join(base, "bomb.zip");
    await Deno.writeFile(
      zip,
      rawZip([{ name: "with_mask/zeros.png", data: bomb, method: 8, size: 1024 * MiB }]),
    );
    const t0 = performance.now();
    const message = await failure(resolveZip({ path: zip, cacheDir: join(base, "cache") }));
    assertEquals(
      message,
      `zip entry "with_mask/zeros.png" in "bomb.zip": 1.00 GiB uncompressed from 1.01 MiB ` +
        `(ratio 1010 > max_ratio 200); raise fetch.params.zip_limits.max_ratio if this archive is trusted`,
    );
    assert(performance.now() - t0 < 2000, "refused from the directory, not by inflating");
    assertEquals([...Deno.readDirSync(join(base, "cache", "zip"))], []); // nothing written
    // Under a higher ratio it is the total size that refuses it.
    const total = await failure(
      resolveZip({
        path: zip,
        cacheDir: join(base, "cache"),
        limits: { ...DEFAULT_ZIP_LIMITS, max_ratio: 2000, max_total_bytes: 512 * MiB },
      }),
    );
    assert(total.includes(`"with_mask/zeros.png"`) && total.includes("max_total_bytes 536870912"), total);
    assert(total.includes("raise fetch.params.zip_limits.max_total_bytes"), total);
  });
});

Deno.test("zip header that lies about its size: inflation stops at the declared size", async () => {
  await withTemp(async (base) => {
    const zip = join(base, "liar.zip");
    // Declares 1,000 bytes (so no ratio check applies) but holds 1 GiB of zeros.
    await Deno.writeFile(
      zip,
      rawZip([{ name: "a/liar.png", data: zerosDeflate(1024), method: 8, size: 1000 }]),
    );
    const t0 = performance.now();
    const message = await failure(resolveZip({ path: zip, cacheDir: join(base, "cache") }));
    assert(
      message.startsWith(`zip entry "a/liar.png" in "liar.zip" inflates past its declared 1000 B`),
      message,
    );
    assert(performance.now() - t0 < 2000, "stopped after the first chunk, not after 1 GiB");
    assertEquals([...Deno.readDirSync(join(base, "cache", "zip"))], []); // the temp folder is gone
  });
});

Deno.test("zip limits: entry count and total size name the entry, the limit and the param", async () => {
  await withTemp(async (base) => {
    const zip = join(base, "many.zip");
    const entries = ["a/1.png", "a/2.png", "a/3.png", "a/4.png"].map((n) => stored(n, new Uint8Array(100)));
    await Deno.writeFile(zip, rawZip(entries));
    const cacheDir = join(base, "cache");
    const count = await failure(
      resolveZip({ path: zip, cacheDir, limits: { ...DEFAULT_ZIP_LIMITS, max_entries: 3 } }),
    );
    assertEquals(
      count,
      `zip "many.zip": 4 entries > max_entries 3; raise fetch.params.zip_limits.max_entries if this archive is trusted`,
    );
    const total = await failure(
      resolveZip({ path: zip, cacheDir, limits: { ...DEFAULT_ZIP_LIMITS, max_total_bytes: 250 } }),
    );
    assertEquals(
      total,
      `zip entry "a/3.png" in "many.zip": the image entries up to this one expand to 300 B ` +
        `(> max_total_bytes 250 = 250 B); raise fetch.params.zip_limits.max_total_bytes if this archive is trusted`,
    );
  });
});

Deno.test("zip: non-image entries are listed and never inflated, even a 1 GiB one", async () => {
  await withTemp(async (base) => {
    const files = await images(6);
    // fflate builds the valid part; the 1 GiB non-image entry is appended by hand.
    const entries: RawEntry[] = Object.entries(files).map(([name, data]) => stored(name, data));
    for (const e of entries) e.crc = crc32(e.data);
    entries.push({ name: "Dataset/big.bin", data: zerosDeflate(1024), method: 8, size: 1024 * MiB });
    entries.push({ ...stored("Dataset/README.txt", new TextEncoder().encode("hi")) });
    await Deno.writeFile(join(base, "data.zip"), rawZip(entries));
    const ctx = fetchCtx({ source: "zip", path: "data.zip", size: 16 }, base);
    const t0 = performance.now();
    const { summary } = await run(ctx);
    assert(performance.now() - t0 < 10_000);
    assertEquals([summary.images, summary.skipped, summary.ignored], [12, 0, 2]);
    assertEquals(summary.ignored_files, [
      { path: "Dataset/README.txt", reason: "zip entry not extracted: not an image (by extension), 2 B" },
      { path: "Dataset/big.bin", reason: "zip entry not extracted: not an image (by extension), 1.00 GiB" },
    ]);
    const extracted = join(base, "cache", "zip");
    const [dir] = [...Deno.readDirSync(extracted)].map((e) => join(extracted, e.name));
    assert(!(await Deno.stat(join(dir, "Dataset/big.bin")).then(() => true, () => false)));
    // A rerun reuses the extracted folder and still lists what was left out.
    const again = await run(fetchCtx({ source: "zip", path: "data.zip", size: 16 }, base));
    assertEquals(again.summary.ignored_files, summary.ignored_files);
  });
});

Deno.test("zip extraction round-trips a deflated fflate zip byte for byte (CRC checked)", async () => {
  await withTemp(async (base) => {
    const files = await images(6);
    files["Dataset/with_mask/flat.bmp"] = new Uint8Array(3 * MiB).fill(7); // 3 MiB at ~1,000:1: refused
    await Deno.writeFile(join(base, "z.zip"), zipSync(files, { level: 6 }));
    const message = await failure(resolveZip({ path: join(base, "z.zip"), cacheDir: join(base, "c") }));
    assert(message.includes(`"Dataset/with_mask/flat.bmp"`) && message.includes("max_ratio 200"), message);
    delete files["Dataset/with_mask/flat.bmp"];
    files["Dataset/with_mask/small_flat.bmp"] = new Uint8Array(64 * 1024).fill(7); // under 1 MiB: no ratio check
    await Deno.writeFile(join(base, "z.zip"), zipSync(files, { level: 6 }));
    const { dir } = await resolveZip({ path: join(base, "z.zip"), cacheDir: join(base, "c") });
    for (const [name, data] of Object.entries(files)) {
      assertEquals(await Deno.readFile(join(dir, name)), data);
    }
  });
});

Deno.test("zip_limits params: defaults, validated before any work", () => {
  assertEquals(paramsSchema.parse({}).zip_limits, {
    max_total_bytes: 2 * 1024 ** 3,
    max_entries: 100_000,
    max_ratio: 200,
  });
  assertEquals(paramsSchema.parse({ zip_limits: { max_ratio: 1000 } }).zip_limits.max_entries, 100_000);
  for (const bad of [{ max_ratio: 0 }, { max_entries: 1.5 }, { max_total_bytes: -1 }, { max_size: 1 }]) {
    assert(!paramsSchema.safeParse({ zip_limits: bad }).success, JSON.stringify(bad));
  }
});

/** A `dir` source under `base`/data with 6 real PNGs per class; returns its path. */
async function sixPerClass(base: string): Promise<string> {
  const root = join(base, "data");
  for (const c of ["with_mask", "without_mask"]) await Deno.mkdir(join(root, c), { recursive: true });
  for (let i = 0; i < 6; i++) {
    await Deno.writeFile(join(root, "with_mask", `m${i}.png`), await png(i, true));
    await Deno.writeFile(join(root, "without_mask", `n${i}.png`), await png(100 + i, false));
  }
  return root;
}

Deno.test("dir source: symbolic links outside the folder and broken ones are listed, never followed", async () => {
  await withTemp(async (base) => {
    const root = await sixPerClass(base);
    const outside = join(base, "outside.png");
    await Deno.writeFile(outside, await png(7, true));
    await Deno.symlink("/etc/passwd", join(root, "with_mask", "passwd.png"));
    await Deno.symlink(outside, join(root, "with_mask", "outside.png"));
    await Deno.symlink(join(root, "gone.png"), join(root, "with_mask", "broken.png"));
    await Deno.symlink("../without_mask/n0.png", join(root, "with_mask", "inside.png")); // inside: used
    await Deno.symlink(".", join(root, "without_mask", "loop")); // a loop: the folder is read once
    await Deno.symlink("../with_mask", join(root, "without_mask", "other")); // another class: not pulled in
    const ctx = fetchCtx({ source: "dir", path: "data", size: 16 }, base);
    const { summary } = await run(ctx);
    const ignored = summary.ignored_files as { path: string; reason: string }[];
    assertEquals(ignored.filter((f) => f.path.startsWith("with_mask/")), [
      { path: "with_mask/broken.png", reason: `broken symbolic link to ${join(root, "gone.png")}` },
      {
        path: "with_mask/outside.png",
        reason: `symbolic link to a path outside the source folder: ${await Deno.realPath(outside)}`,
      },
      {
        path: "with_mask/passwd.png",
        reason: "symbolic link to a path outside the source folder: /etc/passwd",
      },
    ]);
    assertEquals(ignored.filter((f) => f.path.startsWith("without_mask/")), [
      { path: "without_mask/loop", reason: "symbolic link to a folder already read: without_mask" },
      {
        path: "without_mask/other",
        reason: `symbolic link to a folder outside its class folder: ${await Deno.realPath(
          join(root, "with_mask"),
        )}`,
      },
    ]);
    assertEquals(summary.images, 7 + 6); // the inside link counts once
    const warns = ctx.lines.filter((l) => l.startsWith("warn ignored"));
    assert(
      warns.some((l) => l.includes('"with_mask/passwd.png"') && l.includes("/etc/passwd")),
      warns.join("\n"),
    );
    const manifest = await Deno.readTextFile(join(ctx.outDir, "manifest.csv"));
    assert(!manifest.includes("passwd") && manifest.includes("with_mask/inside.png"));
  });
});

Deno.test("a split too small to measure stops the stage, saying what each split needs", async () => {
  await withTemp(async (base) => {
    await Deno.writeFile(join(base, "ten.zip"), zipSync(await images(5)));
    const message = await failure(run(fetchCtx({ source: "zip", path: "ten.zip", size: 16 }, base)));
    assertEquals(
      message,
      `Split too small: with fractions 0.7/0.15/0.15 (train/val/test), class "with_mask" (5 images) gets ` +
        `4 train, 1 val, 0 test; class "without_mask" (5 images) gets 4 train, 1 val, 0 test. Every class ` +
        `needs at least 2 train, 1 val and 1 test images (val and test so that each class is measured at ` +
        `all, train so that it is learned from more than one example): with these fractions that takes ` +
        `at least 6 images per class; add images, or change fetch.params.split.`,
    );
    const split = { train: 0.5, val: 0.5, test: 0 };
    const zero = await failure(run(fetchCtx({ source: "zip", path: "ten.zip", size: 16, split }, base)));
    assert(zero.includes("a split with fraction 0 gets none"), zero);
    // The same ten images with a split that gives each class 3/1/1 go through.
    const ok = await run(
      fetchCtx(
        { source: "zip", path: "ten.zip", size: 16, split: { train: 0.6, val: 0.2, test: 0.2 } },
        base,
      ),
    );
    assertEquals(ok.summary.total, { train: 6, val: 2, test: 2 });
  });
});

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1;
  return n;
});
function crc32(data: Uint8Array): number {
  let c = ~0;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

Deno.test("an image file over 64 MiB is skipped unread and listed", async () => {
  await withTemp(async (base) => {
    const root = await sixPerClass(base);
    const big = await Deno.open(join(root, "with_mask", "huge.png"), { create: true, write: true });
    await big.truncate(70 * 2 ** 20); // sparse: no disk, and it must not be read into memory
    big.close();
    const ctx = fetchCtx({ source: "dir", path: "data", size: 16 }, base);
    const { summary } = await run(ctx);
    const skipped = summary.skipped_files as { path: string; reason: string }[];
    assertEquals(skipped, [{
      path: "with_mask/huge.png",
      reason: "file of 70 MiB, over the 64 MiB an image may have",
    }]);
  });
});
