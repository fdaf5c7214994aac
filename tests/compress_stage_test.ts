import * as tf from "@tensorflow/tfjs";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { join } from "node:path";
import { pruneMagnitude } from "../pipeline/compress/prune_unstructured.ts";
import { replayPruning } from "../pipeline/compress/prune_structured.ts";
import type { CompressPart } from "../pipeline/stages/compress.ts";
import { createTrainer, initEngine } from "../pipeline/engine/mod.ts";
import { account } from "../pipeline/models/accounting.ts";
import { buildClassifier, CLASSIFIERS } from "../pipeline/models/classifier.ts";
import { loadModel } from "../pipeline/models/io.ts";
import * as compressStage from "../pipeline/stages/compress.ts";
import * as fetchStage from "../pipeline/stages/fetch.ts";
import * as trainStage from "../pipeline/stages/train.ts";
import { loadDataset } from "../pipeline/data/dataset.ts";
import { fitClassifier, recalibrateOn } from "../pipeline/train/fit.ts";
import { stageContext as context, withTemp } from "./_stage_context.ts";

await initEngine();

Deno.test("trainer: starts from the model's weights, and masked weights stay exactly zero", async () => {
  const spec = CLASSIFIERS.small;
  const start = buildClassifier(spec, [8, 8, 3], 11);
  const masks = pruneMagnitude(start, 0.6);
  const trainer = await createTrainer({
    model: start,
    loss: "softmax_cross_entropy",
    seed: 1,
    learningRate: 1e-2,
    workers: 1,
    masks,
  });
  const copy = buildClassifier(spec, [8, 8, 3], 99);
  await trainer.exportTo(copy);
  assertEquals(
    copy.getWeights().map((w) => Array.from(w.dataSync())),
    start.getWeights().map((w) => Array.from(w.dataSync())),
  );
  const x = tf.randomUniform([6, 8, 8, 3], 0, 1, "float32", 2);
  for (let i = 0; i < 3; i++) {
    await trainer.trainStep(x.dataSync() as Float32Array, Int32Array.of(0, 1, 0, 1, 1, 0));
  }
  await trainer.exportTo(copy);
  await trainer.dispose();
  // Every masked kernel weight is exactly zero after the Adam steps (biases and BN did move).
  for (const [layer, mask] of Object.entries(masks)) {
    const kernel = copy.getLayer(layer).getWeights()[0].dataSync();
    assert(mask.every((m, i) => m === 1 || kernel[i] === 0), `masked weights of ${layer} moved`);
  }
  const k = copy.getLayer("conv1").getWeights()[0].dataSync();
  assert(k.some((v, i) => v !== start.getLayer("conv1").getWeights()[0].dataSync()[i])); // it did train
  start.dispose();
  copy.dispose();
  x.dispose();
});

Deno.test("compress: distillation, pruning (+KD) and unstructured variants, accounted and replayable", async () => {
  const base = await Deno.makeTempDir();
  try {
    const fetchCtx = context(
      "fetch",
      fetchStage.paramsSchema.parse({ source: "synthetic", size: 16, count_per_class: 20 }),
      base,
    );
    await fetchStage.run(fetchCtx);
    const trainCtx = context(
      "train",
      trainStage.paramsSchema.parse({ models: ["teacher"], epochs: 1, batch: 8 }),
      base,
      { fetch: fetchCtx.outDir },
    );
    await trainStage.run(trainCtx);
    const params = compressStage.paramsSchema.parse({
      students: ["small"],
      distill_epochs: 1,
      finetune_epochs: 1,
      unstructured_finetune_epochs: 2,
      batch: 8,
      prune_ratios: [0.5],
      sparsities: [0.8],
    });
    const ctx = context("compress", params, base, { fetch: fetchCtx.outDir, train: trainCtx.outDir });
    await compressStage.run(ctx);
    const part = JSON.parse(await Deno.readTextFile(join(ctx.outDir, "results.part.json"))) as CompressPart;
    const rows = new Map(part.rows!.map((r) => [r.variant, r]));
    assertEquals(part.task, "classification");
    assertEquals([...rows.keys()], [
      "small_alone",
      "small_kd",
      "teacher_p50",
      "teacher_p50_kd",
      "teacher_s80",
    ]);
    assertEquals(
      [...rows.values()].map((r) => r.technique),
      ["baseline", "distillation", "pruning", "pruning+distillation", "unstructured"],
    );
    assertEquals(rows.get("small_kd")!.params_total, 6_210);
    assertEquals([rows.get("teacher_p50")!.channels, rows.get("teacher_p50")!.params_total], [
      [16, 32, 64],
      23_938,
    ]);
    const s80 = rows.get("teacher_s80")!;
    // unstructured variants fine-tune for their own number of epochs
    assertEquals([part.models!.teacher_p50.history.length, part.models!.teacher_s80.history.length], [1, 2]);
    assertEquals([rows.get("teacher_p50")!.finetune_epochs, s80.finetune_epochs], [1, 2]);
    // 80 % of the conv + dense kernels are zero; biases and BN are not pruned.
    const kernels = 3 * 3 * 3 * 32 + 3 * 3 * 32 * 64 + 3 * 3 * 64 * 128 + 128 * 2;
    assert((s80.params_zero as number) >= Math.round(0.8 * kernels));
    assertEquals((s80.params_zero as number) + (s80.params_nonzero as number), 93_954);
    for (const r of rows.values()) assert(typeof r.accuracy === "number" && (r.flops as number) > 0);
    // Paired with the teacher: the discordant images account for the whole accuracy gap.
    const data = await loadDataset(fetchCtx.outDir);
    const { splits } = data;
    const testCount = splits.test.count;
    for (const r of rows.values()) {
      const gap = Math.round(
        ((part.teacher as { accuracy: number }).accuracy - (r.accuracy as number)) * testCount,
      );
      assertEquals((r.test_only_teacher_right as number) - (r.test_only_variant_right as number), gap);
      assert((r.mcnemar_p as number) > 0 && (r.mcnemar_p as number) <= 1);
    }
    // Pruned variants record the accuracy after the cut and after BN recalibration.
    for (const v of ["teacher_p50", "teacher_p50_kd", "teacher_s80"]) {
      const r = rows.get(v)!;
      assert(typeof r.accuracy_pruned === "number" && typeof r.accuracy_recalibrated === "number", v);
      assertEquals(r.bn_recalibration_images, Math.min(512, splits.train.count)); // all there are
      // The fine-tuned checkpoint keeps population statistics: recalibrating it again moves nothing.
      const saved = await loadModel(join(ctx.outDir, v, "model"));
      const stats = () =>
        saved.getLayer("bn3").getWeights().slice(2).flatMap((w) => Array.from(w.dataSync()));
      const kept = stats();
      await recalibrateOn(saved, data, 512);
      const drift = Math.max(...stats().map((x, i) => Math.abs(x - kept[i])));
      assert(drift < 1e-5, `${v}: BN statistics drift ${drift} after a second recalibration`);
      saved.dispose();
    }
    const comparison = part.comparison as { students: Record<string, { winner: string }> };
    assert(["distillation", "alone", "tie"].includes(comparison.students.small.winner));
    // The saved history replays onto the train stage's teacher checkpoint: identical weights.
    const history = JSON.parse(
      await Deno.readTextFile(join(ctx.outDir, "teacher_p50", "prune_history.json")),
    );
    const teacher = await loadModel(join(trainCtx.outDir, "teacher", "model"));
    const replayed = await replayPruning(teacher, history);
    assertEquals(account(replayed).params_total, 23_938);
    teacher.dispose();
    replayed.dispose();
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

/** 24 synthetic 16×16 images fetched into `base`: the stage context and the dataset. */
async function tinyDataset(base: string) {
  const fetchCtx = context(
    "fetch",
    fetchStage.paramsSchema.parse({ source: "synthetic", size: 16, count_per_class: 12 }),
    base,
  );
  await fetchStage.run(fetchCtx);
  return { fetchCtx, data: await loadDataset(fetchCtx.outDir) };
}

Deno.test("fit: a teacher with alpha 0 trains exactly like no teacher; with alpha > 0 it changes training", async () => {
  await withTemp(async (base) => {
    const { fetchCtx, data } = await tinyDataset(base);
    const teacher = buildClassifier(CLASSIFIERS.medium, [16, 16, 3], 5);
    const fit = async (alpha?: number) => {
      const model = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 7);
      const opts = { epochs: 2, batch: 8, learningRate: 1e-3, patience: 5, workers: 1, positive: 0 };
      const teacherOpt = alpha === undefined ? undefined : { model: teacher, temperature: 4, alpha };
      const result = await fitClassifier(fetchCtx, "small", model, data, {
        ...opts,
        teacher: teacherOpt,
      });
      model.dispose();
      return result.history.map((h) => [h.train_loss, h.val_loss]);
    };
    const plain = await fit();
    assertEquals(await fit(0), plain);
    assert(JSON.stringify(await fit(0.7)) !== JSON.stringify(plain));
    teacher.dispose();
  });
});

Deno.test("compress: params schema rejects unknown fields and bad values", () => {
  assert(!compressStage.paramsSchema.safeParse({ prune_ratio: [0.5] }).success);
  assert(!compressStage.paramsSchema.safeParse({ prune_ratios: [1] }).success);
  assert(!compressStage.paramsSchema.safeParse({ importance: "random" }).success);
  assert(compressStage.paramsSchema.safeParse({}).success);
});

Deno.test("fit: with bnRecalibrationImages the kept weights carry population BN statistics", async () => {
  await withTemp(async (base) => {
    const { fetchCtx, data } = await tinyDataset(base);
    const stats = (m: tf.LayersModel) =>
      m.getLayer("bn2").getWeights().slice(2).map((w) => Array.from(w.dataSync()));
    const opts = { epochs: 2, batch: 8, learningRate: 1e-3, patience: 5, workers: 1, positive: 0 };
    for (const images of [0, 1000]) {
      const model = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 7);
      await fitClassifier(fetchCtx, "small", model, data, {
        ...opts,
        bnRecalibrationImages: images,
      });
      const kept = stats(model);
      await recalibrateOn(model, data, 1000);
      const drift = Math.max(...kept.flatMap((w, i) => w.map((v, j) => Math.abs(v - stats(model)[i][j]))));
      console.log(
        `bnRecalibrationImages ${images}: BN statistics differ from the population's by ${
          drift.toExponential(2)
        }`,
      );
      // running averages (0) lag behind; recalibrated ones (1000 ≥ all train images) are the population's
      assert(images === 0 ? drift > 1e-3 : drift < 1e-5, `drift ${drift}`);
      model.dispose();
    }
  });
});
