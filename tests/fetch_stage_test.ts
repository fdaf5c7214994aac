import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert";
import { join } from "node:path";
import sharp from "sharp";
import { strToU8, zipSync } from "fflate";
import { parse } from "csv-parse/sync";
import type { StageContext } from "../pipeline/core/types.ts";
import { type FetchParams, paramsSchema, run } from "../pipeline/stages/fetch.ts";
import { codeHash } from "../pipeline/core/code_graph.ts";
import { loadDataset } from "../pipeline/data/dataset.ts";
import { TensorCache } from "../pipeline/data/decode.ts";
import { generateFace } from "../pipeline/data/synthetic.ts";
import { withTemp } from "./_stage_context.ts";

/** A hand-built StageContext: temp out/cache dirs, a logger that collects lines, a no-op progress. */
async function makeCtx(params: Record<string, unknown>, base: string, seed = 42) {
  const outDir = await Deno.makeTempDir({ dir: base, prefix: "out" });
  const lines: string[] = [];
  const ctx: StageContext<FetchParams> = {
    name: "fetch",
    profile: "test",
    params: paramsSchema.parse(params),
    seed,
    root: base,
    outDir,
    depDirs: {},
    artifactsDir: join(base, "artifacts"),
    cacheDir: join(base, "cache"),
    log: { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) },
    progress: () => ({ tick() {}, done() {} }),
  };
  return { ctx, lines };
}

const png = (seed: number, mask: boolean) =>
  sharp(generateFace(seed, mask, 40), { raw: { width: 40, height: 40, channels: 3 } }).png().toBuffer();

/** data/with_mask: 8 PNGs + truncated + empty; data/without_mask: 8 PNGs + text .jpg; plus an ignored class. */
async function makeDir(base: string): Promise<string> {
  const root = join(base, "data");
  for (const c of ["with_mask", "without_mask", "mask_weared_incorrect"]) {
    await Deno.mkdir(join(root, c), { recursive: true });
  }
  for (let i = 0; i < 8; i++) {
    await Deno.writeFile(join(root, "with_mask", `m${i}.png`), await png(i, true));
    await Deno.writeFile(join(root, "without_mask", `n${i}.png`), await png(100 + i, false));
  }
  const whole = await png(99, true);
  await Deno.writeFile(
    join(root, "with_mask", "truncated.png"),
    whole.subarray(0, Math.floor(whole.length / 2)),
  );
  await Deno.writeFile(join(root, "with_mask", "empty.png"), new Uint8Array());
  await Deno.writeTextFile(join(root, "without_mask", "notes.jpg"), "this is not a jpeg\n");
  await Deno.writeFile(join(root, "mask_weared_incorrect", "x.png"), await png(7, true));
  return root;
}

Deno.test("params: defaults, strict keys, source requirements", () => {
  const p = paramsSchema.parse({});
  assertEquals([p.source, p.classes, p.size, p.split], ["synthetic", ["with_mask", "without_mask"], 128, {
    train: 0.7,
    val: 0.15,
    test: 0.15,
  }]);
  const issues = (x: unknown) =>
    paramsSchema.safeParse(x).error?.issues.map((i) => i.message).join("; ") ?? "";
  assert(issues({ sorce: "dir" }).includes("sorce"));
  assert(issues({ source: "dir" }).includes('needs "path"'));
  assert(issues({ source: "zip", url: "https://x.org/a.zip" }).includes('"url" needs "sha256"'));
  assert(issues({ split: { train: 0.5, val: 0.1, test: 0.1 } }).includes("sum to 1"));
  throws(() => paramsSchema.parse({ size: "big" }));
});

Deno.test("dir source: bad files are skipped and listed, the rest decoded, rerun hits the cache", async () => {
  await withTemp(async (base) => {
    await makeDir(base);
    const params = { source: "dir", path: "data", size: 32, split: { train: 0.5, val: 0.25, test: 0.25 } };
    const { ctx, lines } = await makeCtx(params, base);
    const { summary } = await run(ctx);
    assertEquals(summary.images, 16);
    assertEquals([summary.decoded, summary.from_cache, summary.skipped], [16, 0, 3]);
    const skipped = summary.skipped_files as { path: string; reason: string }[];
    assertEquals(skipped.map((s) => s.path), [
      "with_mask/empty.png",
      "with_mask/truncated.png",
      "without_mask/notes.jpg",
    ]);
    assert(skipped[0].reason.includes("empty file"), skipped[0].reason);
    assert(skipped[1].reason.startsWith("truncated or corrupt image data"), skipped[1].reason);
    assert(skipped[2].reason.startsWith("not an image"), skipped[2].reason);
    assert(skipped.every((s) => s.reason.length > 0));
    assertEquals(lines.filter((l) => l.startsWith("warn")).length, 3);
    assert(lines.some((l) => l.includes('"without_mask/notes.jpg"')));

    // Outputs: stratified 4/2/2 per class, files the right size, manifest in file order.
    const ds = await loadDataset(ctx.outDir);
    assertEquals(ds.classes, ["with_mask", "without_mask"]);
    assertEquals([ds.splits.train.count, ds.splits.val.count, ds.splits.test.count], [8, 4, 4]);
    for (const s of Object.values(ds.splits)) {
      assertEquals(s.images.length, s.count * 32 * 32 * 3);
      assertEquals([0, 1].map((c) => s.labels.filter((l) => l === c).length), [s.count / 2, s.count / 2]);
    }
    const rows = parse(await Deno.readTextFile(join(ctx.outDir, "manifest.csv")), {
      columns: true,
    }) as Record<string, string>[];
    assertEquals(rows.length, 16);
    assertEquals(
      rows.filter((r) => r.split === "train").map((r) => r.label),
      [...ds.splits.train.labels].map((l) => ds.classes[l]),
    );
    assert(rows.every((r) => /^[0-9a-f]{64}$/.test(r.sha256) && !r.path.startsWith("mask_weared")));
    const part = JSON.parse(await Deno.readTextFile(join(ctx.outDir, "results.part.json")));
    assertEquals(part.dataset.skipped.length, 3);
    assertEquals(part.dataset.counts.train, { with_mask: 4, without_mask: 4 });

    // Rerun: nothing decoded again; same split and same bytes.
    const again = await makeCtx(params, base);
    const second = await run(again.ctx);
    assertEquals([second.summary.decoded, second.summary.from_cache], [0, 16]);
    for (const f of ["dataset.json", "manifest.csv", "train.u8", "test.u8"]) {
      assertEquals(await Deno.readFile(join(again.ctx.outDir, f)), await Deno.readFile(join(ctx.outDir, f)));
    }
    // Another seed moves images between splits but keeps the per-class counts.
    const other = await makeCtx(params, base, 7);
    await run(other.ctx);
    const ds7 = await loadDataset(other.ctx.outDir);
    assertEquals(ds7.splits.val.count, 4);
    assert(
      (await Deno.readTextFile(join(other.ctx.outDir, "manifest.csv"))) !==
        (await Deno.readTextFile(join(ctx.outDir, "manifest.csv"))),
    );
  });
});

Deno.test("structural errors name the path at fault and keep the cache", async () => {
  await withTemp(async (base) => {
    const root = await makeDir(base);
    const dirCtx = async (extra: Record<string, unknown>) =>
      (await makeCtx({ source: "dir", size: 16, ...extra }, base)).ctx;
    await rejects(
      run(await dirCtx({ path: "nowhere" })),
      new RegExp(`Cannot read dataset folder "${base}/nowhere": not found`),
    );
    await rejects(
      run(await dirCtx({ path: "data", classes: ["with_mask", "cat"] })),
      new RegExp(`Cannot read class folder "${root}/cat": not found`),
    );
    await Deno.mkdir(join(root, "empty_class"));
    await Deno.writeTextFile(join(root, "empty_class", "readme.txt"), "no images");
    await rejects(
      run(await dirCtx({ path: "data", classes: ["with_mask", "empty_class"] })),
      /Class folder ".*empty_class" is empty/,
    );
    await Deno.mkdir(join(root, "all_bad"));
    await Deno.writeFile(join(root, "all_bad", "a.png"), new Uint8Array());
    await rejects(
      run(await dirCtx({ path: "data", classes: ["with_mask", "all_bad"] })),
      /Class "all_bad" has no readable images/,
    );
    // Earlier decodes stay in the cache after the failures, in the folder keyed by decode.ts's code.
    const code = (await codeHash(new URL("../pipeline/data/decode.ts", import.meta.url))).slice(0, 12);
    const cacheDir = (await TensorCache.open(join(base, "cache"), 16)).dir;
    assertEquals(cacheDir, join(base, "cache", "tensors", `fill-16-${code}`));
    assert([...Deno.readDirSync(cacheDir)].length > 0);
  });
});

Deno.test("zip source: nested Dataset/ folder found; zip-slip entry rejected by the stage", async () => {
  await withTemp(async (base) => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 6; i++) { // 6 per class: the fewest that give every split an image at 0.7/0.15/0.15
      files[`Dataset/with_mask/${i}.png`] = await png(i, true);
      files[`Dataset/without_mask/${i}.png`] = await png(50 + i, false);
    }
    await Deno.writeFile(join(base, "ok.zip"), zipSync(files));
    const { ctx } = await makeCtx({ source: "zip", path: "ok.zip", size: 24 }, base);
    const { summary } = await run(ctx);
    assertEquals([summary.images, summary.skipped], [12, 0]);
    await Deno.writeFile(join(base, "evil.zip"), zipSync({ ...files, "../evil": strToU8("x") }));
    const bad = await makeCtx({ source: "zip", path: "evil.zip", size: 24 }, base);
    await rejects(run(bad.ctx), /Refusing zip entry "\.\.\/evil"/);
  });
});

Deno.test("synthetic source: generated once into the cache, then reused", async () => {
  await withTemp(async (base) => {
    const params = { source: "synthetic", count_per_class: 10, size: 32 };
    const first = await makeCtx(params, base);
    const a = await run(first.ctx);
    assertEquals([a.summary.images, a.summary.decoded], [20, 20]);
    assert(first.lines.some((l) => l.includes("generated into")));
    // The folder is keyed by the generator's code (synthetic.ts's import graph), not a version.
    const code = (await codeHash(new URL("../pipeline/data/synthetic.ts", import.meta.url))).slice(0, 12);
    assertEquals(
      [...Deno.readDirSync(join(base, "cache", "synthetic"))].map((e) => e.name),
      [`${code}-seed42-n10-128`],
    );
    const second = await makeCtx(params, base);
    const b = await run(second.ctx);
    assertEquals([b.summary.decoded, b.summary.from_cache], [0, 20]);
    assert(second.lines.some((l) => l.includes("reused from")));
    const ds = await loadDataset(second.ctx.outDir);
    assertEquals([ds.splits.train.count, ds.splits.val.count, ds.splits.test.count], [14, 4, 2]);
  });
});
