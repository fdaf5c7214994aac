/**
 * The compress stage on a segmentation data set: the train stage's U-Net teacher made smaller three
 * ways, every variant measured as the train stage measures a U-Net and paired with the teacher per
 * test image.
 *
 * - distillation: each student trained alone and on pixel-wise soft targets (1 − α)·mask + α·teacher
 *   (the teacher's probabilities, computed once per training image), same seed and batch order;
 * - structured channel pruning of the teacher (skips concatenated through the dependency graph),
 *   fine-tuned; these U-Nets have no batch norm, so there is nothing to recalibrate;
 * - unstructured magnitude sparsity, fine-tuned under masks so the zeros stay.
 */
import type * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { ExpectedError } from "../core/errors.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import type { Dataset } from "../data/dataset.ts";
import { loadModel } from "../models/io.ts";
import { buildModel, type ModelEntry, modelFor } from "../models/mod.ts";
import type { UNetSpec } from "../models/unet.ts";
import type {
  CompressParams,
  SegComparison,
  SegCompressFacts,
  SegCompressPart,
  SegCompressRow,
} from "../stages/compress.ts";
import {
  diceByImage,
  fitSegmenter,
  inputSide,
  predictProbs,
  scoreMasks,
  type SegFitOptions,
  type SegFitResult,
} from "../train/fit_segmentation.ts";
import { loopOptions } from "../train/loop.ts";
import { pairedScores } from "../train/metrics.ts";
import { keepSegVariant, type SegVariant } from "../train/seg_variant.ts";
import { IMPORTANCE } from "./importance.ts";
import { pruneInto } from "./prune_structured.ts";
import { pruneMagnitude } from "./prune_unstructured.ts";
import { type VariantJob, VariantStore } from "./variant_store.ts";
import { account } from "../models/accounting.ts";
import { laneCount } from "../train/lanes.ts";

/** Run every technique on the teacher `params.teacher` of `trainDir`; writes the part, returns the summary. */
export async function compressSegmentation(
  ctx: StageContext<CompressParams>,
  data: Dataset,
  trainDir: string,
): Promise<StageResult> {
  const p = ctx.params;
  const teacherEntry = modelFor(p.teacher, "segmentation", "compress: params.teacher");
  const teacherDir = join(trainDir, p.teacher, "model");
  const teacher = await loadModel(teacherDir).catch(() => {
    throw new ExpectedError(
      `compress: no checkpoint of "${p.teacher}" in ${teacherDir}; add it to the train stage's models`,
    );
  });
  if (p.importance === "bn_scale") {
    throw new ExpectedError(
      `compress: params.importance "bn_scale" ranks channels by batch-norm γ, and U-Net "${p.teacher}" ` +
        `has no batch norm: use "l1"`,
    );
  }
  ctx.log.info(
    `segmentation: distillation targets are the teacher's per-pixel probabilities (alpha ${p.alpha}); ` +
      `temperature ${p.temperature} is not used. No batch norm in these U-Nets: BN recalibration is skipped.`,
  );
  const teacherProbs = await predictProbs(teacher, data, "test");
  const teacherTest = scoreMasks(teacherProbs, data.splits.test, data.size);
  const teacherDice = diceByImage(teacherProbs, data.splits.test, data.size);
  ctx.log.info(`teacher ${p.teacher}: test dice ${pct(teacherTest.dice)}`);
  const base = loopOptions(p, p.distill_epochs);
  const finetune = { ...base, epochs: p.finetune_epochs, learningRate: p.finetune_learning_rate };
  const part: SegCompressPart = {
    task: "segmentation",
    rows: [],
    models: {},
    predictions: {},
    comparison: { teacher_dice: 0, students: {}, points_vs_teacher: {}, test_images: 0 },
    teacher: { name: p.teacher, dice: teacherTest.dice },
  };
  type Kept = Omit<SegVariant, "row"> & { row: SegCompressRow };
  // A killed run's finished variants are kept (ctx.resumeDir) and its last training resumes.
  const store = new VariantStore<Kept>(ctx.resumeDir, ctx.outDir);
  const keep = async (
    name: string,
    technique: string,
    model: tf.LayersModel,
    spec: Record<string, unknown>,
    fit: SegFitResult,
    extra: Partial<SegCompressFacts>,
  ): Promise<Kept> => {
    const v = await keepSegVariant(ctx.outDir, name, model, data, fit, {
      technique,
      spec: { ...spec, from: p.teacher },
      samples: p.sample_predictions,
    });
    const paired = pairedScores(teacherDice, diceByImage(fit.testProbs, data.splits.test, data.size));
    const kept: Kept = {
      ...v,
      row: {
        ...v.row,
        weight_mib: Number((v.row.weight_bytes! / 2 ** 20).toFixed(2)),
        test_images_teacher_better: paired.reference_higher,
        test_images_variant_better: paired.other_higher,
        sign_test_p: Number(paired.sign_test_p.toPrecision(4)),
        dice_points_vs_teacher_per_image: Number((paired.mean_difference * 100).toFixed(2)),
        ...extra,
      },
    };
    ctx.log.info(
      `${name} (${technique}): ${v.row.params_nonzero} non-zero params, test dice ${pct(fit.test.dice)}, ${
        fit.seconds.toFixed(0)
      } s`,
    );
    await store.stash(name, kept);
    model.dispose();
    return kept;
  };
  const specOf = (entry: ModelEntry, model: tf.LayersModel) => ({
    ...entry.spec,
    input: [inputSide(model), inputSide(model), 3],
  });

  const jobs: VariantJob<Kept>[] = [];
  const teacherFlops = account(teacher).flops;

  // Distillation, and the same students trained alone (same seed, epochs and batch order). The
  // teacher's probabilities on the training images are computed once, before any student runs.
  const soft = p.students.length > 0 ? await predictProbs(teacher, data, "train") : undefined;
  for (const [i, student] of p.students.entries()) {
    const entry = modelFor(student, "segmentation", `compress: params.students[${i}]`);
    const probe = buildModel(entry, data.size, 1, ctx.seed);
    const flops = account(probe).flops;
    probe.dispose();
    for (const distilled of [false, true]) {
      const name = distilled ? `${student}_kd` : student;
      jobs.push({
        name,
        cost: p.distill_epochs * flops,
        make: async () => {
          const model = buildModel(entry, data.size, 1, ctx.seed);
          const fit = await fitSegmenter(ctx, name, model, data, {
            ...base,
            teacher: distilled ? { probs: soft!, alpha: p.alpha } : undefined,
            orderKey: student,
            checkpointDir: store.checkpoint(name),
          });
          return await keep(name, distilled ? "distillation" : "baseline", model, specOf(entry, model), fit, {
            student,
            ...(distilled ? { alpha: p.alpha } : {}),
          });
        },
      });
    }
  }

  // Structured channel pruning, fine-tuned.
  for (const ratio of p.prune_ratios) {
    const name = `${p.teacher}_p${Math.round(ratio * 100)}`;
    jobs.push({
      name,
      cost: p.finetune_epochs * teacherFlops * (1 - ratio) ** 2,
      make: async () => {
        const model = await pruneInto(teacher, {
          ratio,
          importance: IMPORTANCE[p.importance],
          roundTo: p.round_to,
        }, join(ctx.outDir, name));
        const channels = levelFilters(model, teacherEntry.spec as UNetSpec);
        const pruned = scoreMasks(await predictProbs(model, data, "test"), data.splits.test, data.size).dice;
        const fit = await tune(ctx, name, model, data, {
          ...finetune,
          checkpointDir: store.checkpoint(name),
        });
        return await keep(
          name,
          "pruning",
          model,
          { ...specOf(teacherEntry, model), filters: channels },
          fit,
          {
            prune_ratio: ratio,
            channels,
            dice_pruned: pruned,
            finetune_epochs: p.finetune_epochs,
          },
        );
      },
    });
  }

  // Unstructured magnitude sparsity, fine-tuned with masks so the zeros stay.
  const sparseEpochs = p.unstructured_finetune_epochs ?? p.finetune_epochs;
  for (const sparsity of p.sparsities) {
    const name = `${p.teacher}_s${Math.round(sparsity * 100)}`;
    jobs.push({
      name,
      cost: sparseEpochs * teacherFlops,
      make: async () => {
        const model = await loadModel(teacherDir);
        const masks = pruneMagnitude(model, sparsity);
        const pruned = scoreMasks(await predictProbs(model, data, "test"), data.splits.test, data.size).dice;
        const fit = await tune(ctx, name, model, data, {
          ...finetune,
          epochs: sparseEpochs,
          masks,
          checkpointDir: store.checkpoint(name),
        });
        return await keep(name, "unstructured", model, specOf(teacherEntry, model), fit, {
          sparsity,
          dice_pruned: pruned,
          finetune_epochs: sparseEpochs,
        });
      },
    });
  }

  // Side by side in lanes; the rows stay in the order above.
  const done = await store.makeAll(jobs, laneCount(p), ctx.log);
  jobs.forEach(({ name }, i) => {
    part.rows.push(done[i].row);
    part.models[name] = done[i].record;
    part.predictions[name] = done[i].predictions;
  });
  teacher.dispose();

  part.comparison = compare(part.rows, p.students, teacherTest.dice, data.splits.test.count);
  await writeFileAtomic(join(ctx.outDir, "results.part.json"), JSON.stringify(part, null, 1));
  return {
    summary: {
      teacher_dice: round4(teacherTest.dice),
      variants: Object.fromEntries(part.rows.map((r) => [r.variant, {
        technique: r.technique,
        params_nonzero: r.params_nonzero,
        dice: round4(r.dice!),
        seconds: r.train_seconds,
      }])),
      comparison: part.comparison,
    },
  };
}

/** Fine-tune (or, with 0 epochs, only test) a compressed U-Net in place. */
async function tune(
  ctx: StageContext<CompressParams>,
  name: string,
  model: tf.LayersModel,
  data: Dataset,
  opts: SegFitOptions,
): Promise<SegFitResult> {
  if (opts.epochs > 0) return await fitSegmenter(ctx, name, model, data, opts);
  const testProbs = await predictProbs(model, data, "test");
  return {
    history: [],
    bestEpoch: 0,
    stoppedEarly: false,
    seconds: 0,
    test: scoreMasks(testProbs, data.splits.test, data.size),
    testProbs,
    stepMs: NaN, // no step was taken
  };
}

/** Filters of each encoder level and the bottleneck (their first conv's output channels). */
function levelFilters(model: tf.LayersModel, spec: UNetSpec): number[] {
  const levels = spec.filters.length - 1;
  const names = [...Array.from({ length: levels }, (_, i) => `down${i + 1}_a`), "bottleneck_a"];
  return names.map((n) => model.getLayer(n).getWeights().at(-1)!.shape[0]);
}

/** Per student, alone vs distilled (Dice, points, winner); every variant's points vs the teacher. */
function compare(
  rows: SegCompressRow[],
  students: string[],
  teacherDice: number,
  images: number,
): SegComparison {
  const dice = (variant: string) => rows.find((r) => r.variant === variant)!.dice!;
  return {
    teacher_dice: round4(teacherDice),
    students: Object.fromEntries(students.map((s) => {
      const alone = dice(s), distilled = dice(`${s}_kd`), delta = (distilled - alone) * 100;
      const winner = Math.abs(delta) < 1e-9 ? "tie" : delta > 0 ? "distillation" : "alone";
      return [s, {
        alone: round4(alone),
        distillation: round4(distilled),
        delta_points: round2(delta),
        winner,
      }];
    })),
    points_vs_teacher: Object.fromEntries(
      rows.map((r) => [r.variant, round2((r.dice! - teacherDice) * 100)]),
    ),
    test_images: images,
  };
}

const round2 = (v: number) => Number(v.toFixed(2));
const round4 = (v: number) => Number(v.toFixed(4));
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
