import { deepStrictEqual as assertEquals, rejects } from "node:assert";
import { join } from "node:path";
import { loadDataset, toMaskBatch } from "../pipeline/data/dataset.ts";
import { withTemp } from "./_stage_context.ts";

/** A 2-image-per-split segmentation dataset of size 4 written as the fetch stage would. */
async function writeSegmentation(dir: string, maskBytes = 2 * 16): Promise<void> {
  const splits: Record<string, unknown> = {};
  for (const name of ["train", "val", "test"]) {
    await Deno.writeFile(join(dir, `${name}.u8`), new Uint8Array(2 * 16 * 3).fill(7));
    await Deno.writeFile(
      join(dir, `${name}.mask.u8`),
      Uint8Array.from({ length: maskBytes }, (_, i) => i % 2),
    );
    splits[name] = { file: `${name}.u8`, masks: `${name}.mask.u8`, count: 2, labels: [] };
  }
  const info = {
    task: "segmentation",
    classes: ["background", "pet"],
    size: 4,
    source: "dir",
    fit: "fill",
    seed: 1,
  };
  await Deno.writeTextFile(join(dir, "dataset.json"), JSON.stringify({ ...info, counts: {}, splits }));
}

Deno.test("dataset: a segmentation split carries a mask per image; masks become 0/1 float targets", async () => {
  await withTemp(async (dir) => {
    await writeSegmentation(dir);
    const ds = await loadDataset(dir);
    assertEquals([ds.task, ds.splits.val.count, ds.splits.val.masks?.length], ["segmentation", 2, 32]);
    assertEquals(Array.from(toMaskBatch(ds.splits.val.masks!, [1], 4).slice(0, 4)), [0, 1, 0, 1]);
  });
});

Deno.test("dataset: a mask file of the wrong length is an error naming the file", async () => {
  await withTemp(async (dir) => {
    await writeSegmentation(dir, 31);
    await rejects(
      loadDataset(dir),
      (e: Error) => e.message.includes('train.mask.u8" has 31 bytes; expected 32'),
    );
  });
});
