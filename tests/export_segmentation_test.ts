/**
 * The export stage on the segmentation track: four small U-Nets (standard, depthwise, bilinear
 * up-sampling, and a depthwise one at half the data set's side) → every ONNX and TFLite format,
 * fp32 parity, the int8 pick by fake-quant val Dice, Dice through onnxruntime equal to tfjs's on
 * the same test images, the low-resolution model scored at the data set's side, the file contract,
 * the ONNX checker (python3-onnx; skipped without it, a failure under CI=true), and a full-size
 * depthwise U-Net before training through LiteRT.js int8.
 */
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert";
import { join } from "node:path";
import { isExpected } from "../pipeline/core/errors.ts";
import { loadDataset, toMaskBatch } from "../pipeline/data/dataset.ts";
import { resizeNearest } from "../pipeline/data/resize.ts";
import { initEngine } from "../pipeline/engine/mod.ts";
import * as tf from "@tensorflow/tfjs";
import { maxAbsDiff, onnxOutputs, tfjsOutputs } from "../pipeline/export/evaluate.ts";
import { exportTflite, runLiteRt } from "../pipeline/export/tflite/mod.ts";
import { buildUNet, UNETS } from "../pipeline/models/unet.ts";
import { decodeMetadata } from "../pipeline/export/onnx_model.ts";
import { createSession } from "../pipeline/export/ort.ts";
import { scoreMasks, segInputs, toDataSize } from "../pipeline/export/seg_score.ts";
import { loadModel } from "../pipeline/models/io.ts";
import * as exportStage from "../pipeline/stages/export.ts";
import { segmentation } from "../pipeline/tasks/mod.ts";
import { COUNTS, SEG_MODELS, segDataset, segTrain, SIZE } from "./_seg_fixture.ts";
import { stageContext as context, withTemp } from "./_stage_context.ts";

await initEngine();
const FORMATS = ["onnx-fp16", "onnx-fp32", "onnx-int8", "tfjs", "tflite-fp16", "tflite-fp32", "tflite-int8"];

/** Run the export stage on the fixture; returns its part and out folder. */
async function exportFixture(base: string, lanes: number | "auto" = "auto") {
  const fetch = await segDataset(base), train = await segTrain(base);
  // Fewer images for LiteRT and the int8 pick than the splits hold (8 test, 8 val): the records say so.
  const params = exportStage.paramsSchema.parse({
    parity_images: 4,
    litert_images: 6,
    // Two clippings: one candidate each (named by the percentile) beside min/max.
    calibration: { images: 8, pick_images: 5, percentile: [99.99, 99.5] },
    lanes,
  });
  const ctx = context("seg_export", params, base, { train, fetch });
  const t0 = performance.now();
  await exportStage.run(ctx);
  console.log(
    `export of ${Object.keys(SEG_MODELS).length} U-Nets: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const part = JSON.parse(
    await Deno.readTextFile(join(ctx.outDir, "results.part.json")),
  ) as exportStage.ExportPart;
  return { part, outDir: ctx.outDir, fetch, train, lines: ctx.lines };
}

Deno.test("seg export: all formats, parity, int8 by Dice, ONNX Dice = tfjs Dice, low-res scored at full size", async () => {
  await withTemp(async (base) => {
    const { part, outDir, fetch, train, lines } = await exportFixture(base);
    const data = await loadDataset(fetch), test = data.splits.test, task = segmentation();
    assertEquals([part.task, part.outputs, part.layout], ["segmentation", ["output"], "NHWC"]);
    assertEquals(Object.keys(part.exports).sort(), Object.keys(SEG_MODELS).sort());
    for (const [name, e] of Object.entries(part.exports)) {
      const side = SEG_MODELS[name].input;
      assertEquals([Object.keys(e.formats).sort(), e.input], [FORMATS, [side, side, 3]]);
      for (const f of Object.values(e.formats)) {
        assert(f.size_bytes > 0 && f.gzip_bytes > 0, `${name} ${f.path}`);
        await Deno.stat(join(outDir, f.path));
      }
      const fp32 = e.formats["onnx-fp32"]!, lite = e.formats["tflite-fp32"]!;
      assert(fp32.max_abs_diff_vs_tfjs! <= 1e-4 && lite.max_abs_diff_vs_tfjs! <= 1e-4, name);
      for (const f of FORMATS.filter((f) => f !== "tfjs")) {
        const r = e.formats[f as keyof typeof e.formats]!;
        // Every runtime's format is scored with the task's metrics and loss; no classifier field.
        assertEquals(
          Object.keys(r.test_metrics!),
          ["dice", "iou", "pixel_accuracy", "soft_dice"],
          `${name} ${f}`,
        );
        assert(r.dice === r.test_metrics!.dice && Number.isFinite(r.test_loss) && r.accuracy === undefined);
        assert(
          r.agreement_vs_fp32 === undefined ? f === "onnx-fp32" : r.agreement_vs_fp32 > 0.5,
          `${name} ${f}`,
        );
        assertEquals(r.test_images, f.startsWith("tflite") ? 6 : undefined, `${name} ${f}`);
      }

      // int8: picked by fake-quant val Dice (every candidate is int16-safe), and the log says so.
      const c = e.int8_candidates, pick = e.int8_pick!;
      assertEquals(Object.keys(c), ["minmax", "percentile-99.99", "percentile-99.5"]);
      for (const other of Object.values(c)) {
        assert(c[pick.method]!.fake_quant_val_dice! >= other.fake_quant_val_dice!, JSON.stringify(c));
        assertEquals(other.val_images, 5);
      }
      assert(pick.reason.includes(`fake-quant val dice ${c[pick.method]!.fake_quant_val_dice!.toFixed(4)}`));
      assert(lines.some((l) => l.startsWith(`${name}: int8 pick ${pick.method} (`) && l.includes("dice")));
      assertEquals(e.formats["onnx-int8"], c[pick.method]);
      // TFLite int8 takes the pick's clipping, the first percentile when the pick is min/max.
      assertEquals(
        e.formats["tflite-int8"]!.calibration,
        pick.method === "minmax" ? "percentile-99.99" : pick.method,
      );

      // fp32 ONNX Dice = tfjs Dice on the same test images, both scored at the data set's side.
      const model = await loadModel(join(train, name));
      const x = segInputs(test, test.count, SIZE, side);
      const want = scoreMasks(task, tfjsOutputs(model, x, test.count, side), test.count, side, test, SIZE);
      model.dispose();
      const session = await createSession(join(outDir, fp32.path));
      const probs = await onnxOutputs(session, x, test.count, side, "NHWC");
      await session.release();
      const got = scoreMasks(task, probs, test.count, side, test, SIZE);
      console.log(
        `${name} (${side}×${side}): Dice onnx-fp32 ${fp32.dice!.toFixed(6)} tfjs ${
          want.metrics.dice.toFixed(6)
        }, ` +
          `int8 (${pick.method}) ${e.formats["onnx-int8"]!.dice!.toFixed(4)}, tflite-int8 ${
            e.formats["tflite-int8"]!.dice!.toFixed(4)
          }, sizes fp32 ${fp32.size_bytes} int8 ${e.formats["onnx-int8"]!.size_bytes} B`,
      );
      assertEquals(fp32.test_metrics, got.metrics);
      assertEquals(fp32.dice, want.metrics.dice);
      // BCE takes log(1 − p) of float32 sigmoids near 1, where a 1e-6 change in p moves the log by
      // much more: the loss agrees to a relative 1e-5, the soft Dice (linear in p) to 1e-6.
      assert(Math.abs(got.metrics.soft_dice - want.metrics.soft_dice) <= 1e-6, `${name} soft Dice`);
      assert(
        Math.abs(fp32.test_loss! - want.loss) <= 1e-5 * want.loss,
        `${name}: ${fp32.test_loss} vs ${want.loss}`,
      );

      if (side !== SIZE) {
        // Scored on the data set's 32×32 masks after resizing the 16×16 probabilities up, not at 16×16.
        assertEquals(toDataSize(probs, test.count, side, SIZE).length, test.count * SIZE * SIZE);
        const low = task.score(
          probs,
          toMaskBatch(resizeNearest(test.masks!, test.count, SIZE, side), [
            ...Array(test.count).keys(),
          ], side),
          test.count,
        );
        assert(low.metrics.dice !== fp32.dice, "the low-res model must not be scored at its own side");
      }
      const meta = decodeMetadata(await Deno.readFile(join(outDir, fp32.path)));
      assertEquals([meta.outputs, meta.task, meta.input_shape, meta.dataset_size], [
        "output",
        "segmentation",
        `["N",${side},${side},3]`,
        `${SIZE}x${SIZE}`,
      ]);
      assertEquals(meta.resize !== undefined, side !== SIZE);
    }
    assertEquals(COUNTS.test, test.count);
    const onnxFiles = Object.values(part.exports).flatMap((e) =>
      [...Object.values(e.formats), ...Object.values(e.int8_candidates)].map((f) => f.path)
    ).filter((f) => f.endsWith(".onnx"));
    await onnxChecker([...new Set(onnxFiles)].map((f) => join(outDir, f)));
  });
});

Deno.test("seg export: variants exported side by side (lanes 2) give the files and records of one lane", async () => {
  await withTemp(async (base) => {
    const one = await exportFixture(base, 1), two = await exportFixture(base, 2);
    assertEquals(two.part, one.part);
    for (const e of Object.values(one.part.exports)) {
      for (const f of Object.values(e.formats)) {
        if (f.path.endsWith("tfjs")) continue;
        assertEquals(
          await Deno.readFile(join(two.outDir, f.path)),
          await Deno.readFile(join(one.outDir, f.path)),
        );
      }
    }
    // A failure in a lane is the stage's failure, with its message.
    const params = exportStage.paramsSchema.parse({
      formats: ["onnx-fp32"],
      parity_tolerance: 1e-30,
      lanes: 2,
    });
    const error = await exportStage.run(
      context("seg_export", params, base, { train: two.train, fetch: two.fetch }),
    )
      .catch((e) => e);
    assertMatch(String(error), /export "unet_\w+": onnxruntime fp32 differs from tfjs by/);
  });
});

Deno.test("seg export: a wrong input_size or a data set of another task fails, naming it", async () => {
  await withTemp(async (base) => {
    const fetch = await segDataset(base);
    const train = await segTrain(base, { unet_lowres: SEG_MODELS.unet_lowres });
    const partPath = join(train, "results.part.json");
    const part = JSON.parse(await Deno.readTextFile(partPath));
    part.models.unet_lowres.input_size = SIZE;
    await Deno.writeTextFile(partPath, JSON.stringify(part));
    const params = exportStage.paramsSchema.parse({ formats: ["onnx-fp32"] });
    const error = await exportStage.run(context("seg_export", params, base, { train, fetch })).catch((e) =>
      e
    );
    assert(isExpected(error), String(error));
    assert(
      /models\.unet_lowres\.input_size is 32 but the checkpoint .* takes 16×16×3/.test(error.message),
      error.message,
    );

    part.models.unet_lowres.input_size = SIZE / 2;
    part.task = "classification";
    await Deno.writeTextFile(partPath, JSON.stringify(part));
    const wrong = await exportStage.run(context("export", params, base, { train, fetch })).catch((e) => e);
    assert(
      isExpected(wrong) && wrong.message.includes("data set in") && wrong.message.includes('"segmentation"'),
    );
  });
});

/** onnx.checker.check_model(full_check=True) on every file (Debian python3-onnx). */
async function onnxChecker(paths: string[]) {
  const python = "/usr/bin/python3";
  const probe = await new Deno.Command(python, { args: ["-c", "import onnx"], stderr: "null" }).output()
    .catch(() => ({ success: false }));
  if (!probe.success) {
    if (Deno.env.get("CI") === "true") {
      throw new Error("CI=true but no python3-onnx (apt-get install -y python3-onnx)");
    }
    console.log("SKIP ONNX checker: no python3 with the onnx module (apt-get install -y python3-onnx)");
    return;
  }
  const script =
    "import onnx, sys\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(p, full_check=True)\n" +
    "print('onnx.checker ok:', len(sys.argv) - 1, 'files')";
  const out = await new Deno.Command(python, { args: ["-c", script, ...paths] }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  console.log(text.trim());
  // fp32, fp16 and the three int8 candidates of each model.
  assert(out.success && paths.length === Object.keys(SEG_MODELS).length * 5, `onnx.checker failed:\n${text}`);
}

Deno.test("seg export: TFLite int8 of a full-size depthwise U-Net before training runs in LiteRT.js", async () => {
  // Its transposed convs' biases are all zero: with scale 1 for them LiteRT aborted the process.
  const model = buildUNet(UNETS.unet_depthwise, [64, 64, 3], 1);
  const x = tf.tidy(() => tf.randomUniform([2, 64, 64, 3], 0, 1, "float32", 1).dataSync() as Float32Array);
  const { bytes } = exportTflite(model, "tflite-int8", { calibration: { images: x, count: 2 } });
  const [y] = await runLiteRt(bytes, x, 2);
  const diff = maxAbsDiff(y, tfjsOutputs(model, x, 2, 64));
  console.log(
    `unet_depthwise 64×64 tflite-int8: ${bytes.length} B, max |Δ| vs tfjs ${diff.toExponential(2)}`,
  );
  assert(y.length === 2 * 64 * 64 && diff < 0.05, `max |Δ| ${diff}`);
  model.dispose();
});
