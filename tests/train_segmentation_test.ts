import * as tf from "@tensorflow/tfjs";
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { join } from "node:path";
import { loadDataset, toMaskBatch } from "../pipeline/data/dataset.ts";
import { resizeBilinear } from "../pipeline/data/resize.ts";
import { initEngine } from "../pipeline/engine/mod.ts";
import { account } from "../pipeline/models/accounting.ts";
import { buildModel, inputSideOf, MODELS } from "../pipeline/models/mod.ts";
import { loadModel } from "../pipeline/models/io.ts";
import type { UNetSpec } from "../pipeline/models/unet.ts";
import * as trainStage from "../pipeline/stages/train.ts";
import type { SegTrainPart } from "../pipeline/stages/train.ts";
import { segmentation } from "../pipeline/tasks/mod.ts";
import { fitSegmenter, predictProbs, scoreMasks } from "../pipeline/train/fit_segmentation.ts";
import { squaresDataset } from "./_seg_squares.ts";
import { stageContext as context, withTemp } from "./_stage_context.ts";

await initEngine();

/** MACs of one image through a U-Net, counted by hand from its spec (3×3 convs, 2×2 or bilinear+1×1 up). */
function unetMacs(spec: UNetSpec, side: number): number {
  const conv = (px: number, cin: number, cout: number) =>
    spec.conv === "standard" ? px * 9 * cin * cout : px * (9 * cin + cin * cout);
  let macs = 0, cin = 3, s = side;
  const levels = spec.filters.length - 1;
  for (let i = 0; i <= levels; i++) {
    const f = spec.filters[i];
    macs += conv(s * s, cin, f) + conv(s * s, f, f);
    cin = f;
    if (i < levels) s /= 2;
  }
  for (let i = levels - 1; i >= 0; i--) {
    const f = spec.filters[i];
    // transposed: each input pixel scatters 2·2·cin·f; bilinear: a 1×1 conv at the doubled side
    macs += (spec.up ?? "transpose") === "transpose" ? s * s * 4 * cin * f : 4 * s * s * cin * f;
    s *= 2;
    macs += conv(s * s, 2 * f, f) + conv(s * s, f, f);
    cin = f;
  }
  return macs + s * s * cin;
}

Deno.test("U-Net table: exact parameter counts and FLOPs of every variant", () => {
  const expected: Record<string, number> = {
    unet_standard: 1_925_601,
    unet_depthwise: 380_764,
    unet_half: 482_033,
    unet_shallow: 466_529,
    unet_bilinear: 1_796_577,
    unet_lowres: 1_925_601,
    unet_small: 120_825,
  };
  const unets = Object.values(MODELS).filter((m) => m.family === "unet");
  assertEquals(unets.map((m) => m.name), Object.keys(expected));
  for (const entry of unets) {
    const model = buildModel(entry, 64, 1, 1);
    const counts = account(model), side = inputSideOf(entry, 64);
    assertEquals([entry.name, counts.params_total, counts.params_tfjs], [
      entry.name,
      expected[entry.name],
      expected[entry.name],
    ]);
    assertEquals([entry.name, counts.flops], [entry.name, 2 * unetMacs(entry.spec as UNetSpec, side)]);
    assertEquals((model.outputs[0].shape as number[]).slice(1), [side, side, 1]);
    model.dispose();
  }
  assertEquals(inputSideOf(MODELS.unet_lowres, 64), 32);
  console.log(`unet_standard at 64×64: ${account(buildModel(MODELS.unet_standard, 64, 1, 1)).flops} FLOPs`);
});

Deno.test("train on squares: loss falls, Dice rises; rows, records and masks; lowres scored at full size", async () => {
  await withTemp(async (base) => {
    const fetchDir = await squaresDataset(base);
    const data = await loadDataset(fetchDir);
    const params = trainStage.paramsSchema.parse({
      models: ["unet_small", "unet_lowres"],
      epochs: 5,
      batch: 4,
      learning_rate: 0.005,
      patience: 5,
      sample_predictions: 4,
    });
    const ctx = context("seg_train", params, base, { fetch: fetchDir });
    const result = await trainStage.run(ctx);
    const part = JSON.parse(await Deno.readTextFile(join(ctx.outDir, "results.part.json"))) as SegTrainPart;
    assertEquals(part.task, "segmentation");
    assertEquals(Object.keys(part.models), ["unet_small", "unet_lowres"]);
    for (const [name, m] of Object.entries(part.models)) {
      const h = m.history;
      console.log(
        `${name}: train_loss ${h.map((e) => e.train_loss.toFixed(3)).join(" ")}; val_dice ${
          h.map((e) => e.val_dice.toFixed(3)).join(" ")
        }`,
      );
      assertEquals(h.length, 5);
      assert(h[4].train_loss < h[0].train_loss, `${name}: training loss did not fall`);
      // The seed's "ms/step": each step timed, well under an epoch's time.
      assert(m.step_ms! > 0 && m.step_ms! < 1000 * h[0].seconds, `${name}: step_ms ${m.step_ms}`);
      assert(Math.max(...h.map((e) => e.val_dice)) > h[0].val_dice + 0.05, `${name}: Dice did not rise`);
      const bestVal = Math.min(...h.map((e) => e.val_loss));
      assertEquals(h[m.best_epoch - 1].val_loss, bestVal);
      assert(m.test.dice > 0.3, `${name}: test Dice ${m.test.dice}`);
    }
    const rows = new Map(part.rows.map((r) => [r.variant, r]));
    const small = rows.get("unet_small")!, low = rows.get("unet_lowres")!;
    assertEquals([small.technique, small.params_total, small.input_size], ["width_0.25", 120_825, 32]);
    assertEquals([low.technique, low.params_total, low.input_size], ["low_resolution", 1_925_601, 16]);
    assertEquals([low.runtime, low.format, low.device], ["tfjs", "tfjs", "local"]);
    assertEquals(low.dice, part.models.unet_lowres.test.dice);
    assertEquals(low.flops, 2 * unetMacs(MODELS.unet_standard.spec as UNetSpec, 16)); // a quarter of the pixels
    assertEquals(
      (result.summary.unet_lowres as { test_dice: number }).test_dice,
      Number(low.dice!.toFixed(4)),
    );

    // Reload the lowres checkpoint and score it by hand: inputs resized to 16, outputs back to 32.
    const model = await loadModel(join(ctx.outDir, part.models.unet_lowres.checkpoint));
    assertEquals(model.inputs[0].shape, [null, 16, 16, 3]);
    const test = data.splits.test, n = test.count;
    const x = resizeBilinear(test.images, n, 32, 16, 3);
    const small16 = tf.tidy(() =>
      (model.predict(tf.tensor4d(Float32Array.from(x, (v) => v / 255), [n, 16, 16, 3])) as tf.Tensor)
        .dataSync() as Float32Array
    );
    const full = resizeBilinear(small16, n, 16, 32, 1);
    const masks = toMaskBatch(test.masks!, Array.from({ length: n }, (_, i) => i), 32);
    const byHand = segmentation().score(full, masks, n);
    const recorded = part.models.unet_lowres.test;
    console.log(`lowres: recorded loss ${recorded.loss}, tfjs by hand at 32×32 ${byHand.loss}`);
    assert(
      Math.abs(byHand.loss - recorded.loss) < 1e-4 &&
        Math.abs(byHand.metrics.soft_dice - recorded.soft_dice) < 1e-4,
    );
    // The engine's own prediction of the checkpoint gives the record exactly, and the sample masks.
    const probs = await predictProbs(model, data, "test");
    assertEquals(scoreMasks(probs, test, 32), recorded);
    const bin = await Deno.readFile(join(ctx.outDir, part.predictions.unet_lowres.file));
    assertEquals(part.predictions.unet_lowres, { file: "unet_lowres/predictions.bin", count: 4, size: 32 });
    assertEquals(bin, Uint8Array.from(probs.subarray(0, 4 * 32 * 32), (p) => p >= 0.5 ? 255 : 0));
    model.dispose();
  });
});

Deno.test("fit: early stopping keeps the best epoch; a resumed run is bit-identical", async () => {
  await withTemp(async (base) => {
    const data = await loadDataset(await squaresDataset(base));
    const opts = { epochs: 3, batch: 4, learningRate: 0.005, patience: 5, workers: 2 };
    const ctx = context("fit", {}, base);
    const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    const losses = (h: { train_loss: number; val_loss: number }[]) =>
      h.map((e) => [e.train_loss, e.val_loss]);

    const whole = buildModel(MODELS.unet_small, 32, 1, 7);
    const straight = await fitSegmenter(ctx, "small", whole, data, opts);
    // Killed in the middle of epoch 3: the checkpoint after epoch 2 is there.
    const checkpointDir = join(base, "ckpt");
    const killed = {
      ...ctx,
      progress: (label: string) => ({
        tick() {
          if (label.includes("epoch 3/")) throw new Error("killed");
        },
        done() {},
      }),
    };
    const first = buildModel(MODELS.unet_small, 32, 1, 7);
    await rejects(fitSegmenter(killed, "small", first, data, { ...opts, checkpointDir }), /killed/);
    const again = buildModel(MODELS.unet_small, 32, 1, 7);
    const resumed = await fitSegmenter(ctx, "small", again, data, { ...opts, checkpointDir });
    assert(ctx.lines.some((l) => l.startsWith("small: resumed after epoch 2")), ctx.lines.join("\n"));
    assertEquals(losses(resumed.history), losses(straight.history));
    assertEquals(weights(again), weights(whole));
    assertEquals(resumed.test, straight.test);

    // Validation masks inverted: the better training gets, the worse validation; training stops early.
    const valMasks = data.splits.val.masks!;
    const inverted = {
      ...data,
      splits: { ...data.splits, val: { ...data.splits.val, masks: valMasks.map((v) => 1 - v) } },
    };
    const wild = buildModel(MODELS.unet_small, 32, 1, 7);
    const stopped = await fitSegmenter(ctx, "wild", wild, inverted, { ...opts, epochs: 8, patience: 2 });
    const h = stopped.history;
    console.log(
      `inverted val masks: val_loss ${
        h.map((e) => e.val_loss.toFixed(4)).join(" ")
      }, best ${stopped.bestEpoch}`,
    );
    assert(stopped.stoppedEarly && h.length < 8, `ran ${h.length} epochs`);
    assertEquals(h.length, stopped.bestEpoch + 2);
    const best = Math.min(...h.map((e) => e.val_loss));
    assertEquals(h[stopped.bestEpoch - 1].val_loss, best);
    assert(h.at(-1)!.val_loss > best);
    // The model holds the best epoch's weights: its validation loss is that epoch's.
    const val = scoreMasks(await predictProbs(wild, inverted, "val"), inverted.splits.val, 32);
    assertEquals(val.loss, best);
    [whole, first, again, wild].forEach((m) => m.dispose());
  });
});

Deno.test("train: a classifier on a segmentation set, or a U-Net on a classification set, errs", async () => {
  await withTemp(async (base) => {
    const fetchDir = await squaresDataset(base);
    const seg = context(
      "seg_train",
      trainStage.paramsSchema.parse({ models: ["unet_small", "teacher"] }),
      base,
      {
        fetch: fetchDir,
      },
    );
    await rejects(
      trainStage.run(seg),
      /params\.models\[1\]: "teacher" is a classifier, but the data set's task is segmentation: use one of unet_/,
    );
    // The same data set relabelled as a classification one (two classes, a label per image).
    const info = JSON.parse(await Deno.readTextFile(join(fetchDir, "dataset.json")));
    info.task = "classification";
    for (const s of Object.values(info.splits) as { count: number; labels: number[] }[]) {
      s.labels = Array.from({ length: s.count }, (_, i) => i % 2);
    }
    await Deno.writeTextFile(join(fetchDir, "dataset.json"), JSON.stringify(info));
    const cls = context(
      "train",
      trainStage.paramsSchema.parse({ models: ["unet_depthwise"], positive_class: "square" }),
      base,
      { fetch: fetchDir },
    );
    await rejects(
      trainStage.run(cls),
      /params\.models\[0\]: "unet_depthwise" is a U-Net, but the data set's task is classification: use one of t/,
    );
    assert(!trainStage.paramsSchema.safeParse({ models: ["unet_huge"] }).success);
  });
});

Deno.test("fit: a learning-rate warm-up takes smaller first steps; warmupEpochs 0 is no warm-up", async () => {
  await withTemp(async (base) => {
    const data = await loadDataset(await squaresDataset(base));
    const ctx = context("fit", {}, base);
    const start = buildModel(MODELS.unet_small, 32, 1, 7).getWeights().map((w) => w.dataSync().slice());
    const moved = async (warmupEpochs?: number) => {
      const model = buildModel(MODELS.unet_small, 32, 1, 7);
      const fit = await fitSegmenter(ctx, "small", model, data, {
        epochs: 1,
        batch: 4,
        learningRate: 0.005,
        patience: 5,
        workers: 1,
        warmupEpochs,
      });
      let sq = 0;
      model.getWeights().forEach((w, i) => w.dataSync().forEach((v, j) => sq += (v - start[i][j]) ** 2));
      return { distance: Math.sqrt(sq), loss: fit.history[0].train_loss };
    };
    const plain = await moved(), zero = await moved(0), warm = await moved(1);
    assertEquals(zero, plain);
    // 3 steps at lr/4, lr/2, 3·lr/4 instead of lr: Adam's steps are about lr long.
    assert(warm.distance < 0.8 * plain.distance, `${warm.distance} vs ${plain.distance}`);
  });
});

Deno.test("depthwise U-Net: each separable kernel is initialised on its own fan-in (tfjs' default is not)", () => {
  const model = buildModel(MODELS.unet_depthwise, 64, 1, 42);
  const rms = (t: tf.Tensor) => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]);
  // Truncated at 2σ, tfjs' normal keeps 0.88 of σ: depthwise σ = √(1/9), pointwise He σ = √(2/C).
  for (const [layer, channels] of [["down2_a", 32], ["down3_b", 128], ["dec1_a", 64]] as const) {
    const [depthwise, pointwise] = model.getLayer(layer).getWeights();
    const want = [0.88 / 3, 0.88 * Math.sqrt(2 / channels)], got = [rms(depthwise), rms(pointwise)];
    got.forEach((g, i) =>
      assert(Math.abs(g / want[i] - 1) < 0.15, `${layer}[${i}]: rms ${g}, want ${want[i]}`)
    );
  }
  model.dispose();
});

Deno.test("lanes: U-Nets trained side by side give exactly the numbers of one after the other", async () => {
  await withTemp(async (base) => {
    const fetchDir = await squaresDataset(base);
    const partWith = async (lanes: number) => {
      const params = trainStage.paramsSchema.parse({
        models: ["unet_small", "unet_lowres"],
        epochs: 3,
        batch: 4,
        learning_rate: 0.005,
        sample_predictions: 2,
        workers: 1,
        lanes,
      });
      const ctx = context(`seg_train_${lanes}`, params, base, { fetch: fetchDir });
      await trainStage.run(ctx);
      // Which model each epoch line is of, in log order: how many times the log switches models.
      const byModel = ctx.lines.map((l) => l.match(/^(unet_\w+) epoch \d+:/)?.[1]).filter((m) => m);
      switches.push(byModel.filter((m, i) => i > 0 && m !== byModel[i - 1]).length);
      const part = JSON.parse(await Deno.readTextFile(join(ctx.outDir, "results.part.json"))) as SegTrainPart;
      // Everything but the clock.
      const timeless = (_k: string, v: unknown) =>
        typeof v === "object" && v !== null && !Array.isArray(v)
          ? Object.fromEntries(
            Object.entries(v).filter(([k]) => !["seconds", "train_seconds", "step_ms"].includes(k)),
          )
          : v;
      return JSON.parse(JSON.stringify(part, timeless));
    };
    const switches: number[] = [];
    const one = await partWith(1), two = await partWith(2);
    // One lane: one model's epochs, then the other's; two lanes: their epochs interleave.
    assertEquals(switches[0], 1);
    assert(
      switches[1] > 1,
      `two lanes did not train at once (epoch lines switch model ${switches[1]} times)`,
    );
    assertEquals(Object.keys(two.models), ["unet_small", "unet_lowres"]);
    assertEquals(two, one);
    console.log(`test dice, lanes 1 and 2: ${one.rows.map((r: { dice: number }) => r.dice.toFixed(4))}`);
  });
});
