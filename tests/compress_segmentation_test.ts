import * as tf from "@tensorflow/tfjs";
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { join } from "node:path";
import { loadDataset } from "../pipeline/data/dataset.ts";
import { initEngine } from "../pipeline/engine/mod.ts";
import { account } from "../pipeline/models/accounting.ts";
import { loadModel } from "../pipeline/models/io.ts";
import { buildModel, MODELS } from "../pipeline/models/mod.ts";
import * as compressStage from "../pipeline/stages/compress.ts";
import type { SegCompressPart } from "../pipeline/stages/compress.ts";
import * as trainStage from "../pipeline/stages/train.ts";
import { fitSegmenter, predictProbs } from "../pipeline/train/fit_segmentation.ts";
import { squaresDataset } from "./_seg_squares.ts";
import { stageContext as context, withTemp } from "./_stage_context.ts";

await initEngine();

const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

/** The squares data set and a briefly trained unet_standard teacher (the train stage's out folder). */
async function trainedTeacher(base: string) {
  const fetchDir = await squaresDataset(base);
  const train = context(
    "seg_train",
    trainStage.paramsSchema.parse({ models: ["unet_standard"], epochs: 3, batch: 4, learning_rate: 0.003 }),
    base,
    { fetch: fetchDir },
  );
  await trainStage.run(train);
  return { fetchDir, trainDir: train.outDir };
}

Deno.test("compress a U-Net: students alone and distilled, pruned 50 %, 80 % sparse, paired", async () => {
  await withTemp(async (base) => {
    const { fetchDir, trainDir } = await trainedTeacher(base);
    const data = await loadDataset(fetchDir);
    const params = compressStage.paramsSchema.parse({
      teacher: "unet_standard",
      students: ["unet_small"],
      alpha: 0.5,
      distill_epochs: 2,
      finetune_epochs: 1,
      unstructured_finetune_epochs: 2,
      batch: 4,
      learning_rate: 0.003,
      prune_ratios: [0.5],
      sparsities: [0.8],
      sample_predictions: 3,
    });
    const ctx = context("seg_compress", params, base, { fetch: fetchDir, train: trainDir });
    await compressStage.run(ctx);
    const part = JSON.parse(
      await Deno.readTextFile(join(ctx.outDir, "results.part.json")),
    ) as SegCompressPart;
    assertEquals(part.task, "segmentation");
    const rows = new Map(part.rows.map((r) => [r.variant, r]));
    assertEquals([...rows.keys()], ["unet_small", "unet_small_kd", "unet_standard_p50", "unet_standard_s80"]);
    assertEquals(
      [...rows.values()].map((r) => r.technique),
      ["baseline", "distillation", "pruning", "unstructured"],
    );
    assert(
      ctx.lines.some((l) =>
        l.includes("temperature 4 is not used") && l.includes("BN recalibration is skipped")
      ),
    );
    for (const r of rows.values()) {
      console.log(`${r.variant}: dice ${r.dice!.toFixed(4)}, ${r.params_nonzero} non-zero params`);
      assert(r.dice! >= 0 && r.dice! <= 1 && r.flops! > 0 && r.input_size === 32);
      const n = r.test_images_teacher_better + r.test_images_variant_better;
      assert(n <= data.splits.test.count && r.sign_test_p > 0 && r.sign_test_p <= 1, r.variant);
      assertEquals(part.predictions[r.variant], { file: `${r.variant}/predictions.bin`, count: 3, size: 32 });
      assertEquals(
        (await Deno.readFile(join(ctx.outDir, `${r.variant}/predictions.bin`))).length,
        3 * 32 * 32,
      );
    }

    // The students: same architecture and start, the teacher changes where they end.
    const [alone, kd] = ["unet_small", "unet_small_kd"].map((v) => rows.get(v)!);
    assertEquals([alone.params_total, kd.params_total, kd.alpha, alone.alpha], [
      120_825,
      120_825,
      0.5,
      undefined,
    ]);
    const [aloneModel, kdModel] = await Promise.all(
      ["unet_small", "unet_small_kd"].map((v) => loadModel(join(ctx.outDir, v, "model"))),
    );
    assert(
      JSON.stringify(weights(aloneModel)) !== JSON.stringify(weights(kdModel)),
      "KD left the weights alone",
    );
    const s = part.comparison.students.unet_small;
    assertEquals([s.alone, s.distillation], [Number(alone.dice!.toFixed(4)), Number(kd.dice!.toFixed(4))]);
    assert(s.winner === (kd.dice! > alone.dice! ? "distillation" : kd.dice! < alone.dice! ? "alone" : "tie"));
    assertEquals(
      part.comparison.points_vs_teacher.unet_small,
      Number(((alone.dice! - part.teacher.dice) * 100).toFixed(2)),
    );

    // Pruning 50 %: every level keeps half its filters (the skips included): the unet_half architecture.
    const p50 = rows.get("unet_standard_p50")!;
    assertEquals([p50.channels, p50.params_total, p50.prune_ratio], [[16, 32, 64, 128], 482_033, 0.5]);
    assertEquals(part.models.unet_standard_p50.spec.filters, [16, 32, 64, 128]);
    assert(typeof p50.dice_pruned === "number");
    const pruned = await loadModel(join(ctx.outDir, "unet_standard_p50", "model"));
    assertEquals(pruned.outputs[0].shape, [null, 32, 32, 1]);
    assertEquals(pruned.getLayer("skip1").outputShape, [null, 32, 32, 32]); // 16 up-sampled + 16 skipped
    const prunedOut = pruned.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor;
    assertEquals(prunedOut.shape, [2, 32, 32, 1]);
    prunedOut.dispose();

    // Sparsity 80 %: at least 80 % of the conv kernels are zero after fine-tuning under the masks.
    const s80 = rows.get("unet_standard_s80")!;
    assertEquals([s80.params_total, s80.params_zero! + s80.params_nonzero!], [1_925_601, 1_925_601]);
    const sparse = await loadModel(join(ctx.outDir, "unet_standard_s80", "model"));
    let kernels = 0, zeros = 0;
    for (
      const layer of sparse.layers.filter((l) => ["Conv2D", "Conv2DTranspose"].includes(l.getClassName()))
    ) {
      const k = layer.getWeights()[0].dataSync();
      kernels += k.length;
      zeros += k.filter((v) => v === 0).length;
    }
    console.log(`s80: ${zeros} of ${kernels} kernel weights zero (${(100 * zeros / kernels).toFixed(2)} %)`);
    assert(zeros >= Math.round(0.8 * kernels), `${zeros} zeros of ${kernels}`);
    assertEquals([part.models.unet_standard_s80.history.length, s80.finetune_epochs], [2, 2]);
    [aloneModel, kdModel, pruned, sparse].forEach((m) => m.dispose());
  });
});

Deno.test("fit: a U-Net teacher with alpha 0 trains exactly like none; alpha > 0 changes training", async () => {
  await withTemp(async (base) => {
    const data = await loadDataset(await squaresDataset(base));
    const teacher = buildModel(MODELS.unet_half, 32, 1, 5);
    const probs = await predictProbs(teacher, data, "train");
    const ctx = context("fit", {}, base);
    const fit = async (alpha?: number) => {
      const model = buildModel(MODELS.unet_small, 32, 1, 7);
      const teacherOpt = alpha === undefined ? undefined : { probs, alpha };
      await fitSegmenter(ctx, "s", model, data, {
        epochs: 2,
        batch: 4,
        learningRate: 3e-3,
        patience: 5,
        teacher: teacherOpt,
      });
      const w = weights(model);
      model.dispose();
      return w;
    };
    const plain = await fit();
    assertEquals(await fit(0), plain);
    assert(JSON.stringify(await fit(0.7)) !== JSON.stringify(plain));
    teacher.dispose();
  });
});

Deno.test("compress on U-Nets: a classifier teacher or student, or bn_scale, is a clear error", async () => {
  await withTemp(async (base) => {
    const fetchDir = await squaresDataset(base);
    const run = (over: Record<string, unknown>) =>
      compressStage.run(context(
        "seg_compress",
        compressStage.paramsSchema.parse({ teacher: "unet_standard", students: ["unet_small"], ...over }),
        base,
        { fetch: fetchDir, train: base },
      ));
    await rejects(
      run({ teacher: "teacher" }),
      /compress: params\.teacher: "teacher" is a classifier, but the data set's task is segmentation/,
    );
    await rejects(
      run({ students: ["unet_small", "small"] }),
      /compress: params\.students\[1\]: "small" is a classifier/,
    );
    await rejects(
      run({}),
      /compress: no checkpoint of "unet_standard" in .*; add it to the train stage's models/,
    );
    const teacherDir = join(base, "unet_standard", "model");
    const { saveModel } = await import("../pipeline/models/io.ts");
    const model = buildModel(MODELS.unet_small, 32, 1, 1);
    await saveModel(model, teacherDir);
    await rejects(run({ importance: "bn_scale" }), /importance "bn_scale" .* has no batch norm: use "l1"/);
    assertEquals(account(model).params_total, 120_825);
    model.dispose();
  });
});
