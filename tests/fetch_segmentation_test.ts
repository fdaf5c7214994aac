import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import sharp from "sharp";
import { zipSync } from "fflate";
import { parse } from "csv-parse/sync";
import { describeIssue } from "../pipeline/core/_issues.ts";
import type { StageContext } from "../pipeline/core/types.ts";
import { loadDataset } from "../pipeline/data/dataset.ts";
import { decodeImage } from "../pipeline/data/decode.ts";
import { decodeMask, maskLookup } from "../pipeline/data/decode_mask.ts";
import { generateScene } from "../pipeline/data/synthetic_scenes.ts";
import { type FetchParams, paramsSchema, run } from "../pipeline/stages/fetch.ts";
import { withTemp } from "./_stage_context.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function makeCtx(params: Record<string, unknown>, base: string, seed = 42) {
  const lines: string[] = [];
  const ctx: StageContext<FetchParams> = {
    name: "seg_fetch",
    profile: "test",
    params: paramsSchema.parse(params),
    seed,
    root: base,
    outDir: Deno.makeTempDirSync({ dir: base, prefix: "out" }),
    depDirs: {},
    artifactsDir: join(base, "artifacts"),
    cacheDir: join(base, "cache"),
    log: { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) },
    progress: () => ({ tick() {}, done() {} }),
  };
  return { ctx, lines };
}

/** The error lines the pipeline file's checker would print for `params`. */
function errors(params: Record<string, unknown>): string[] {
  const r = paramsSchema.safeParse(params);
  return r.success ? [] : r.error.issues.map((i) => describeIssue(i, params, undefined, "params"));
}

/** An RGB image with a gradient, as PNG or JPEG. */
function image(w: number, h: number, seed: number, format: "png" | "jpeg" = "png") {
  const px = new Uint8Array(w * h * 3).map((_, i) => (i * 7 + seed * 31) % 251);
  const s = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return (format === "png" ? s.png() : s.jpeg({ quality: 90 })).toBuffer();
}

/** A grey PNG mask whose pixel (x, y) is value(x, y). */
function maskPng(w: number, h: number, value: (x: number, y: number) => number, grey = true) {
  const px = Uint8Array.from({ length: w * h }, (_, i) => value(i % w, Math.floor(i / w)));
  const s = sharp(px, { raw: { width: w, height: h, channels: 1 } });
  return (grey ? s.toColourspace("b-w") : s).png().toBuffer();
}

Deno.test("params: segmentation defaults by layout; classification unchanged; errors name the field", () => {
  assertEquals(paramsSchema.parse({}), {
    task: "classification",
    source: "synthetic",
    classes: ["with_mask", "without_mask"],
    size: 128,
    count_per_class: 1638,
    path: undefined,
    url: undefined,
    sha256: undefined,
    dataset: "vijaykumar1799/face-mask-detection",
    split: { train: 0.7, val: 0.15, test: 0.15 },
    zip_limits: { max_total_bytes: 2 * 1024 ** 3, max_entries: 100_000, max_ratio: 200 },
  });
  const seg = paramsSchema.parse({ task: "segmentation", source: "dir", path: "d" });
  assert(seg.task === "segmentation");
  assertEquals(
    [seg.classes, seg.count, seg.layout, seg.images_dir, seg.masks_dir, seg.mask_values],
    [["background", "foreground"], 1600, "pairs", "images", "masks", {
      background: [0],
      foreground: [1, 255],
    }],
  );
  const pet = paramsSchema.parse({ task: "segmentation", source: "dir", path: "d", layout: "oxford_pet" });
  assert(pet.task === "segmentation");
  assertEquals([pet.masks_dir, pet.mask_values], ["annotations/trimaps", {
    background: [2],
    foreground: [1, 3],
  }]);

  const dir = { task: "segmentation", source: "dir", path: "d" };
  assertEquals(errors({ ...dir, mask_values: { background: [0], foreground: [300] } }), [
    "params.mask_values.foreground[0]: expected a number at most 255, got 300",
  ]);
  assertEquals(errors({ ...dir, mask_values: { background: [0, 255], foreground: [255] } }), [
    'params.mask_values.foreground: value 255 is also listed under "background", got a list ([255])',
  ]);
  assertEquals(errors({ ...dir, mask_values: { background: [0], pet: [1] } }), [
    'params.mask_values.pet: "pet" is not one of the classes ["background","foreground"], got a list ([1])',
    'params.mask_values: no values for class "foreground" (every class needs its mask values), ' +
    'got a mapping ({"background":[0],"pet":[1]})',
  ]);
  assertEquals(errors({ ...dir, count_per_class: 5, classes: ["a", "b", "c"] }).map((e) => e.split(":")[0]), [
    "params.count_per_class",
    "params.classes",
  ]);
  assertEquals(errors({ ...dir, images_dir: "../x", masks_dir: "images/m" }).map((e) => e.split(":")[0]), [
    "params.images_dir",
  ]);
  assert(
    errors({ ...dir, masks_dir: "images/m" })[0].startsWith('params.masks_dir: "images/m" and the image'),
  );
  assert(errors({ task: "segmentation", mask_values: { a: [1] } })[0].startsWith("params.mask_values: "));
  assert(errors({ task: "segmentation", source: "kaggle" })[0].startsWith("params.dataset: "));
  assert(errors({ count: 10 })[0].startsWith('params.count: "count" is for task "segmentation"'));
  assert(errors({ task: "segmentation", mask: 1 })[0].includes('unknown field "mask"'));
  // The checker lists the known fields from `shape`.
  assert("mask_values" in paramsSchema.shape && "count_per_class" in paramsSchema.shape);
});

Deno.test("synthetic scenes: deterministic, pinned, varied, with thin and small targets", () => {
  const a = generateScene(42, 0, 64), b = generateScene(42, 0, 64);
  assertEquals(a, b);
  assertEquals([sha(a.rgb), sha(a.mask)], [
    "f6893e414ba18a54bdbad7d491b0a72e6d2ccc0e3387ca6f567f3c2e9da7d1c6",
    "79f09dcba4074a3ea1abfa5358c87717300f2502de15d6d86ea1d0bec2cdc682",
  ]);
  const n = 400, side = 64, t0 = performance.now();
  const scenes = Array.from({ length: n }, (_, i) => generateScene(42, i, side));
  const ms = performance.now() - t0;
  console.log(`400 scenes at 64×64 in ${ms.toFixed(0)} ms`);
  assert(ms < 10_000, `generation took ${ms} ms`);
  const fg = scenes.map((s) => s.mask.reduce((x, v) => x + v, 0) / (side * side));
  const share = fg.reduce((x, y) => x + y) / n, empty = fg.filter((f) => f === 0).length;
  console.log(
    `foreground ${(100 * share).toFixed(1)} %, ${empty} empty, ${
      fg.filter((f) => f > 0.15).length
    } over 15 %`,
  );
  assert(share > 0.05 && share < 0.2, `foreground share ${share}`);
  assert(empty >= 0.08 * n && empty <= 0.3 * n, `${empty} empty masks`); // some scenes have no target
  assert(fg.filter((f) => f > 0.15).length >= 0.1 * n); // large masks (portraits)
  assert(fg.filter((f) => f > 0 && f < 0.02).length >= 0.01 * n); // small ones (crowds)
  assertEquals(new Set(scenes.map((s) => s.layout)), new Set(["portrait", "group", "crowd", "empty"]));
  // Thin structures: a foreground run of 1–3 px with background on both sides, along a row or a column.
  let thinScenes = 0;
  for (const { mask } of scenes) {
    let thin = 0;
    for (let k = 0; k < side && thin === 0; k++) {
      for (const at of [(i: number) => mask[k * side + i], (i: number) => mask[i * side + k]]) {
        for (let i = 1, run = 0; i < side; i++) {
          if (at(i)) run++;
          else if (run > 0) (thin += run <= 3 && at(i - run - 1) === 0 ? 1 : 0), (run = 0);
        }
      }
    }
    thinScenes += thin > 0 ? 1 : 0;
  }
  assert(thinScenes > 0.3 * n, `${thinScenes} scenes with thin mask structures`);
  // Not one colour: the masks' mean colours spread widely.
  const means = scenes.filter((_, i) => fg[i] > 0.05).map((s) => {
    const sum = [0, 0, 0];
    let k = 0;
    s.mask.forEach((v, j) => v && (k++, [0, 1, 2].forEach((c) => (sum[c] += s.rgb[j * 3 + c]))));
    return sum.map((x) => x / k);
  });
  const spread = [0, 1, 2].map((c) =>
    Math.max(...means.map((m) => m[c])) - Math.min(...means.map((m) => m[c]))
  );
  assert(spread.every((s) => s > 150), `mask colour spread ${spread}`);
});

Deno.test("synthetic source through the stage: same bytes twice, loads as a segmentation data set", async () => {
  await withTemp(async (base) => {
    const params = { task: "segmentation", count: 40, size: 32 };
    const first = makeCtx(params, base), second = makeCtx(params, base);
    const { summary } = await run(first.ctx);
    await run(second.ctx);
    for (
      const f of [
        "dataset.json",
        "manifest.csv",
        "results.part.json",
        "train.u8",
        "train_masks.bin",
        "test_masks.bin",
      ]
    ) {
      assertEquals(
        await Deno.readFile(join(second.ctx.outDir, f)),
        await Deno.readFile(join(first.ctx.outDir, f)),
      );
    }
    const ds = await loadDataset(first.ctx.outDir);
    assertEquals([ds.task, ds.classes, ds.size], ["segmentation", ["background", "foreground"], 32]);
    assertEquals([ds.splits.train.count, ds.splits.val.count, ds.splits.test.count], [28, 6, 6]);
    assert(Object.values(ds.splits).every((s) => s.masks!.every((v) => v <= 1)));
    const part = JSON.parse(await Deno.readTextFile(join(first.ctx.outDir, "results.part.json")));
    assertEquals([part.task, part.dataset.images, part.dataset.mask_resize], ["segmentation", 40, "nearest"]);
    assertEquals(summary.skipped, 0);
    // Scene k of the stream is in some split, byte for byte.
    const rows = parse(await Deno.readTextFile(join(first.ctx.outDir, "manifest.csv")), { columns: true });
    const row = (rows as Record<string, string>[]).find((r) => r.path === "scene/00000")!;
    assertEquals(row.sha256, sha(generateScene(42, 0, 32).rgb));
    // Another seed, another stream.
    const other = makeCtx(params, base, 7);
    await run(other.ctx);
    assert(sha(await Deno.readFile(join(other.ctx.outDir, "train.u8"))) !== sha(ds.splits.train.images));
  });
});

/** images/ + masks/: 8 good pairs (foreground = columns x < 4 + 4k), and one of each kind of bad pair. */
async function pairsDir(root: string) {
  for (const d of ["images", "masks"]) await Deno.mkdir(join(root, d), { recursive: true });
  const [w, h] = [48, 40];
  for (let k = 0; k < 8; k++) {
    await Deno.writeFile(
      join(root, "images", `g${k}.${k % 2 ? "jpg" : "png"}`),
      await image(w, h, k, k % 2 ? "jpeg" : "png"),
    );
    await Deno.writeFile(
      join(root, "masks", `g${k}.png`),
      await maskPng(w, h, (x) => (x < 4 + 4 * k ? 255 : 0), k % 3 > 0),
    );
  }
  await Deno.writeFile(join(root, "images", "missing.png"), await image(w, h, 20));
  await Deno.writeFile(join(root, "images", "wrongsize.png"), await image(w, h, 21));
  await Deno.writeFile(join(root, "masks", "wrongsize.png"), await maskPng(40, 30, () => 0));
  const jpg = await image(w, h, 22, "jpeg");
  await Deno.writeFile(join(root, "images", "corrupt.jpg"), jpg.subarray(0, jpg.length >> 1));
  await Deno.writeFile(join(root, "masks", "corrupt.png"), await maskPng(w, h, () => 0));
  await Deno.writeFile(join(root, "images", "seven.png"), await image(w, h, 23));
  await Deno.writeFile(
    join(root, "masks", "seven.png"),
    await maskPng(w, h, (x, y) => (x === 3 && y < 2 ? 7 : 255)),
  );
  await Deno.writeFile(join(root, "masks", "orphan.png"), await maskPng(w, h, () => 0));
  await Deno.writeTextFile(join(root, "masks", "notes.txt"), "labelled by hand\n");
}

Deno.test("dir source, pairs layout: bad pairs skipped with the file and the reason, masks resized by nearest", async () => {
  await withTemp(async (base) => {
    await pairsDir(join(base, "seg"));
    const split = { train: 0.5, val: 0.25, test: 0.25 };
    const { ctx, lines } = makeCtx(
      { task: "segmentation", source: "dir", path: "seg", size: 24, split },
      base,
    );
    const { summary } = await run(ctx);
    assertEquals([summary.images, summary.skipped, summary.ignored], [8, 4, 2]);
    const skipped = summary.skipped_files as { path: string; reason: string }[];
    assertEquals(skipped.map((s) => s.path), [
      "images/corrupt.jpg",
      "images/missing.png",
      "images/seven.png",
      "images/wrongsize.png",
    ]);
    assert(
      skipped[0].reason.startsWith("images/corrupt.jpg: truncated or corrupt image data"),
      skipped[0].reason,
    );
    assertEquals(skipped[1].reason, "masks/missing.*: no mask for this image");
    assertEquals(skipped[2].reason, "masks/seven.png: value 7 is not in mask_values (7 (2 px))");
    assertEquals(skipped[3].reason, "masks/wrongsize.png: 40×30 but its image is 48×40");
    assertEquals((summary.ignored_files as { path: string }[]).map((f) => f.path), [
      "masks/notes.txt",
      "masks/orphan.png",
    ]);
    assertEquals(lines.filter((l) => l.startsWith("warn skipped")).length, 4);

    const ds = await loadDataset(ctx.outDir);
    assertEquals([ds.splits.train.count, ds.splits.val.count, ds.splits.test.count], [4, 2, 2]);
    const rows = parse(await Deno.readTextFile(join(ctx.outDir, "manifest.csv")), {
      columns: true,
    }) as Record<
      string,
      string
    >[];
    assertEquals(
      rows.map((r) => r.path).sort(),
      Array.from({ length: 8 }, (_, k) => `images/g${k}.${k % 2 ? "jpg" : "png"}`),
    );
    for (const name of ["train", "val", "test"] as const) {
      const s = ds.splits[name], mine = rows.filter((r) => r.split === name);
      for (let i = 0; i < s.count; i++) {
        const k = Number(mine[i].path.match(/g(\d)/)![1]);
        assertEquals(mine[i].mask, `masks/g${k}.png`);
        // 48 → 24 columns: the edge at column 4 + 4k lands exactly at 2 + 2k, with no value in between.
        const mask = s.masks!.subarray(i * 24 * 24, (i + 1) * 24 * 24);
        const want = Uint8Array.from({ length: 24 * 24 }, (_, j) => (j % 24 < 2 + 2 * k ? 1 : 0));
        assertEquals(mask, want, `mask of g${k}`);
        // The image went through the classifier's decode and resize.
        const bytes = await Deno.readFile(join(base, "seg", mine[i].path));
        assertEquals(s.images.subarray(i * 24 * 24 * 3, (i + 1) * 24 * 24 * 3), await decodeImage(bytes, 24));
      }
    }
    const part = JSON.parse(await Deno.readTextFile(join(ctx.outDir, "results.part.json")));
    assertEquals([part.task, part.dataset.skipped.length, part.dataset.layout], ["segmentation", 4, "pairs"]);
    assertEquals(part.dataset.mask_values, { background: [0], foreground: [1, 255] });

    // Fewer usable pairs than the splits need: an error naming the folder.
    for (let k = 2; k < 8; k++) await Deno.remove(join(base, "seg", "masks", `g${k}.png`));
    const few = makeCtx({ task: "segmentation", source: "dir", path: "seg", size: 24 }, base);
    await rejects(run(few.ctx), (e: Error) => {
      assert(e.name === "ExpectedError", e.name);
      assert(
        e.message.startsWith(`Too few usable images with masks in "${join(base, "seg")}": 2 of 12`),
        e.message,
      );
      return e.message.includes("at least 2 train, 1 val and 1 test");
    });
  });
});

Deno.test("oxford_pet layout: trimaps 1/2/3 mapped as declared", async () => {
  await withTemp(async (base) => {
    const root = join(base, "pets");
    await Deno.mkdir(join(root, "images"), { recursive: true });
    await Deno.mkdir(join(root, "annotations", "trimaps"), { recursive: true });
    // Columns: pet (1) below 12, border (3) from 12 to 19, background (2) from 20.
    const trimap = (x: number) => (x < 12 ? 1 : x < 20 ? 3 : 2);
    for (let k = 0; k < 6; k++) {
      await Deno.writeFile(join(root, "images", `Abyssinian_${k}.jpg`), await image(32, 32, k, "jpeg"));
      await Deno.writeFile(
        join(root, "annotations", "trimaps", `Abyssinian_${k}.png`),
        await maskPng(32, 32, trimap),
      );
      await Deno.writeFile(join(root, "annotations", "trimaps", `._Abyssinian_${k}.png`), new Uint8Array(4)); // macOS junk
    }
    const params = { task: "segmentation", source: "dir", path: "pets", layout: "oxford_pet", size: 32 };
    const columns = async (extra: Record<string, unknown>) => {
      const { ctx } = makeCtx({ ...params, ...extra }, base);
      const { summary } = await run(ctx);
      assertEquals([summary.images, summary.skipped, summary.ignored], [6, 0, 6]);
      const ds = await loadDataset(ctx.outDir);
      const all = [...ds.splits.train.masks!, ...ds.splits.val.masks!, ...ds.splits.test.masks!];
      // Every mask is the same; return the foreground columns of its first row.
      assert(all.every((v, j) => v === all[j % (32 * 32)]));
      return all.slice(0, 32).reduce((n, v) => n + v, 0);
    };
    assertEquals(await columns({}), 20); // default: pet and border are foreground
    assertEquals(await columns({ mask_values: { background: [2, 3], foreground: [1] } }), 12);
  });
});

Deno.test("zip source: the pairs layout found inside a nested folder; a tiny set still fills every split", async () => {
  await withTemp(async (base) => {
    const files: Record<string, Uint8Array> = {};
    for (let k = 0; k < 6; k++) {
      files[`export/images/${k}.png`] = await image(20, 20, k);
      files[`export/masks/${k}.png`] = await maskPng(20, 20, (_, y) => (k > 0 && y < 10 ? 1 : 0)); // mask 0 empty
    }
    await Deno.writeFile(join(base, "seg.zip"), zipSync(files));
    const { ctx } = makeCtx({ task: "segmentation", source: "zip", path: "seg.zip", size: 10 }, base);
    const { summary } = await run(ctx);
    assertEquals([summary.images, summary.skipped], [6, 0]);
    const ds = await loadDataset(ctx.outDir);
    // Split by empty / non-empty mask, 5 + 1 would leave test without an image: split as one, 4/1/1.
    assertEquals([ds.splits.train.count, ds.splits.val.count, ds.splits.test.count], [4, 1, 1]);
    const half = Uint8Array.from({ length: 100 }, (_, j) => (j < 50 ? 1 : 0)), none = new Uint8Array(100);
    const masks = Object.values(ds.splits).flatMap((s) =>
      Array.from({ length: s.count }, (_, i) => s.masks!.subarray(i * 100, (i + 1) * 100))
    );
    assertEquals(masks.filter((m) => sha(m) === sha(half)).length, 5);
    assertEquals(masks.filter((m) => sha(m) === sha(none)).length, 1);
  });
});

Deno.test("decodeMask: a colour mask and a corrupt one are refused with the reason", async () => {
  const lookup = maskLookup([[0], [255]]), opts = { size: 4, lookup, image: { width: 2, height: 2 } };
  const red = await sharp(new Uint8Array([255, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255]), {
    raw: { width: 2, height: 2, channels: 3 },
  }).png().toBuffer();
  await rejects(decodeMask(red, opts), {
    message: "a colour mask (pixel 0,0 is 255,0,0); expected one grey value per pixel",
  });
  const grey = await maskPng(2, 2, (x) => 255 * x);
  await rejects(decodeMask(grey.subarray(0, 20), opts), /^Error: truncated or corrupt image data/);
  assertEquals([...await decodeMask(grey, { ...opts, size: 2 })], [0, 1, 0, 1]);
});
