import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { join } from "node:path";
import { stratifiedSplit } from "../pipeline/data/split.ts";
import { listClassImages } from "../pipeline/data/sources/dir.ts";
import { toFloatBatch } from "../pipeline/data/dataset.ts";

const fractions = { train: 0.7, val: 0.15, test: 0.15 };

Deno.test("stratifiedSplit keeps class proportions in every split", () => {
  const labels = [...Array(100).fill(0), ...Array(60).fill(1)];
  const s = stratifiedSplit(labels, 2, fractions, 42);
  const count = (idx: number[], c: number) => idx.filter((i) => labels[i] === c).length;
  assertEquals([count(s.train, 0), count(s.val, 0), count(s.test, 0)], [70, 15, 15]);
  assertEquals([count(s.train, 1), count(s.val, 1), count(s.test, 1)], [42, 9, 9]);
  const all = [...s.train, ...s.val, ...s.test].sort((a, b) => a - b);
  assertEquals(all, labels.map((_, i) => i)); // a partition: every item once
});

Deno.test("stratifiedSplit is stable for a seed and changes with it", () => {
  const labels = Array.from({ length: 50 }, (_, i) => i % 2);
  assertEquals(stratifiedSplit(labels, 2, fractions, 7), stratifiedSplit(labels, 2, fractions, 7));
  assert(
    JSON.stringify(stratifiedSplit(labels, 2, fractions, 7)) !==
      JSON.stringify(stratifiedSplit(labels, 2, fractions, 8)),
  );
});

Deno.test("listClassImages sorts paths and ignores other classes and non-images", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const c of ["b", "a", "other"]) await Deno.mkdir(join(dir, c, "sub"), { recursive: true });
    for (const f of ["b/z.png", "b/sub/a.jpg", "b/notes.txt", "a/2.png", "a/10.PNG", "other/x.png"]) {
      await Deno.writeFile(join(dir, f), new Uint8Array([1]));
    }
    const { entries, ignored } = await listClassImages(dir, ["b", "a"]);
    assertEquals(entries.map((e) => [e.path, e.label]), [
      ["b/sub/a.jpg", 0],
      ["b/z.png", 0],
      ["a/10.PNG", 1],
      ["a/2.png", 1],
    ]);
    assertEquals(ignored.map((f) => f.path), ["b/notes.txt"]);
    assert(ignored[0].reason.startsWith("not an image (by extension"), ignored[0].reason);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toFloatBatch gathers and scales to [0, 1]", () => {
  const images = Uint8Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => i * 7);
  const batch = toFloatBatch(images, Int32Array.from([2, 0]), 2);
  assertEquals(batch.length, 2 * 12);
  assertEquals(batch[0], Math.fround(images[24] / 255));
  assertEquals(batch[12], 0);
  assert(batch.every((v) => v >= 0 && v <= 1));
});
