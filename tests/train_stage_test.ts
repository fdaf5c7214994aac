import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { join } from "node:path";
import type { TrainPart } from "../pipeline/stages/train.ts";
import { loadDataset } from "../pipeline/data/dataset.ts";
import * as fetchStage from "../pipeline/stages/fetch.ts";
import * as trainStage from "../pipeline/stages/train.ts";
import { loadModel } from "../pipeline/models/io.ts";
import { evaluate } from "../pipeline/train/fit.ts";
import { classifierMetrics } from "../pipeline/train/metrics.ts";
import { stageContext as context } from "./_stage_context.ts";

async function fetchTiny(base: string): Promise<string> {
  const params = fetchStage.paramsSchema.parse({ source: "synthetic", size: 16, count_per_class: 20 });
  const ctx = context("fetch", params, base);
  await fetchStage.run(ctx);
  return ctx.outDir;
}

async function trainTiny(base: string, fetchDir: string, workers: number) {
  const params = trainStage.paramsSchema.parse({
    models: ["small"],
    epochs: 3,
    batch: 8,
    patience: 2,
    workers,
  });
  const ctx = context("train", params, base, { fetch: fetchDir });
  const lines = ctx.lines;
  const result = await trainStage.run(ctx);
  const part = JSON.parse(await Deno.readTextFile(join(ctx.outDir, "results.part.json"))) as TrainPart;
  return { ctx, part, result, lines };
}

Deno.test("train: history, best checkpoint and test metrics, reproducible with the same seed", async () => {
  const base = await Deno.makeTempDir();
  try {
    const fetchDir = await fetchTiny(base);
    const first = await trainTiny(base, fetchDir, 2);
    const second = await trainTiny(base, fetchDir, 2);
    const small = first.part.models!.small;
    assertEquals(small.params_torch, 6_210);
    assertEquals(small.params_tfjs, 6_322);
    assert(small.history.length >= 1 && small.history.length <= 3);
    assert(small.best_epoch >= 1 && small.best_epoch <= small.history.length);
    const bestVal = Math.min(...small.history.map((h) => h.val_loss));
    assertEquals(small.history[small.best_epoch - 1].val_loss, bestVal);
    const confusionTotal = small.test.confusion.flat().reduce((a, b) => a + b, 0);
    const data = await loadDataset(fetchDir);
    assertEquals(confusionTotal, data.splits.test.count);
    // Same seed, same numbers: every epoch's losses are bit-identical.
    assertEquals(
      second.part.models!.small.history.map((h) => [h.train_loss, h.val_loss]),
      small.history.map((h) => [h.train_loss, h.val_loss]),
    );
    // The saved checkpoint is the best epoch's model: it gives that epoch's val loss and the test metrics.
    const model = await loadModel(join(first.ctx.outDir, small.checkpoint));
    const val = await evaluate(model, data.splits.val, data.size);
    const test = await evaluate(model, data.splits.test, data.size);
    console.log(`best epoch val_loss ${bestVal}, reloaded checkpoint ${val.loss}`);
    assert(Math.abs(val.loss - bestVal) < 1e-6);
    assertEquals(classifierMetrics(data.splits.test.labels, test.predicted, data.classes, 0), small.test);
    // The sample predictions for the report's grid agree with the checkpoint's own predictions.
    const samples =
      (first.part.predictions as Record<string, { index: number; predicted: string; probability: number }[]>)
        .small;
    assertEquals(samples.length, Math.min(24, data.splits.test.count));
    assertEquals(samples.map((r) => r.predicted), samples.map((r) => data.classes[test.predicted[r.index]]));
    assert(samples.every((r) => r.probability >= 0.5 && r.probability <= 1));
    const row = first.part.rows!.find((r) => r.variant === "small")!;
    assertEquals([row.format, row.params_total, row.accuracy], ["tfjs", 6_210, small.test.accuracy]);
    assertEquals(first.part.task, "classification");
    assert((row.flops ?? 0) > 0 && (row.size_bytes ?? 0) > 6_210 * 4);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("train: a positive_class that is not a class is a clear error", async () => {
  const base = await Deno.makeTempDir();
  try {
    const fetchDir = await fetchTiny(base);
    const params = trainStage.paramsSchema.parse({ models: ["small"], epochs: 1, positive_class: "masked" });
    const ctx = context("train", params, base, { fetch: fetchDir });
    await rejects(trainStage.run(ctx), /positive_class "masked" is not one of the classes/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("train: params schema rejects unknown fields and unknown models", () => {
  assert(!trainStage.paramsSchema.safeParse({ epochs: 3, epoch: 3 }).success);
  assert(!trainStage.paramsSchema.safeParse({ models: ["huge"] }).success);
  assert(!trainStage.paramsSchema.safeParse({ epochs: "ten" }).success);
});
