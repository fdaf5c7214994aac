/**
 * Stage "compress": makes the trained teacher smaller four ways and measures every variant. On a
 * segmentation data set the U-Net teacher is distilled into students (pixel-wise soft targets),
 * pruned by channels and made sparse (compress/compress_segmentation.ts); below, the classifier.
 *
 * - distillation: Small / Medium students trained on the teacher's soft labels, beside the same
 *   students trained alone (same epochs, seed and batches) — the honest baseline;
 * - pruning: structured channel pruning of the teacher (30/50/70 %), fine-tuned without and with
 *   the teacher (pruning+distillation); the pruning history is saved and replayable;
 * - unstructured: global magnitude pruning to target sparsities, fine-tuned with masks.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { z } from "zod";
import type { StageContext, StageResult } from "../core/types.ts";
import { type Dataset, loadDataset } from "../data/dataset.ts";
import { initEngine } from "../engine/mod.ts";
import { IMPORTANCE } from "../compress/importance.ts";
import { pruneInto } from "../compress/prune_structured.ts";
import { pruneMagnitude } from "../compress/prune_unstructured.ts";
import { type VariantJob, VariantStore } from "../compress/variant_store.ts";
import { account } from "../models/accounting.ts";
import { buildClassifier, CLASSIFIERS, type ClassifierSpec } from "../models/classifier.ts";
import { loadModel, saveModel } from "../models/io.ts";
import { MODEL_NAMES, modelFor } from "../models/mod.ts";
import { compressSegmentation } from "../compress/compress_segmentation.ts";
import type { SegRow } from "../train/seg_variant.ts";
import type { MaskPredictions, SegModelRecord } from "../tasks/segmentation_records.ts";
import {
  evaluate,
  fitClassifier,
  type FitOptions,
  fitOptions,
  type FitResult,
  recalibrateOn,
  teacherLogits,
} from "../train/fit.ts";
import { classifierMetrics, pairedComparison } from "../train/metrics.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { laneCount } from "../train/lanes.ts";
import type { ModelRecord } from "../tasks/classification_records.ts";
import {
  type AnyTask,
  better,
  classification,
  type PrimaryFields,
  primaryFields,
  primaryOf,
} from "../tasks/mod.ts";
import type { RowBase } from "./parts.ts";

/** A classifier for a classification data set, a U-Net for a segmentation one (checked in `run`). */
const modelName = z.enum(MODEL_NAMES);

/** Params of the compress stage. */
export const paramsSchema = z.strictObject({
  /** The train stage's model to distill from and to prune. */
  teacher: modelName.default("teacher"),
  /** Students trained with and without the teacher. */
  students: z.array(modelName).default(["small", "medium"]),
  /** Softmax temperature of the distillation loss (the seed's T); U-Nets ignore it (and say so). */
  temperature: z.number().positive().default(4),
  /** Weight of the soft (teacher) term; 1 − alpha weighs the label cross-entropy (U-Nets: the mask). */
  alpha: z.number().min(0).max(1).default(0.7),
  /** Epochs of the students (with and without the teacher). */
  distill_epochs: z.int().positive().default(30),
  batch: z.int().positive().default(32),
  learning_rate: z.number().positive().default(0.001),
  /** Learning-rate schedule of every run here: cosine decay to zero, or constant. */
  lr_schedule: z.enum(["cosine", "constant"]).default("cosine"),
  /** Epochs of linear learning-rate warm-up from zero (nets without batch norm); 0 = none. */
  lr_warmup_epochs: z.int().min(0).default(0),
  /** Epochs without a better validation loss before stopping (students and fine-tuning). */
  patience: z.int().positive().default(5),
  /** Fractions of channels to remove, as in the seed. */
  prune_ratios: z.array(z.number().min(0).lt(1)).default([0.3, 0.5, 0.7]),
  /** Channel importance: L1 norm of the filter, or |γ| of the following batch norm. */
  importance: z.enum(["l1", "bn_scale"]).default("l1"),
  /** Keep channel counts multiples of this (hardware-friendly); 1 = the seed's exact floor. */
  round_to: z.int().positive().default(1),
  /**
   * Training images to re-estimate batch-norm statistics on, right after pruning and after each
   * fine-tuning epoch (removed channels shift every later layer's activations, and the running
   * averages lag behind the weights, which made validation swing); 0 = off.
   */
  bn_recalibration_images: z.int().min(0).default(512),
  /** Fine-tuning epochs after pruning (structured and unstructured); 0 = none. */
  finetune_epochs: z.int().min(0).default(10),
  /**
   * Fine-tuning epochs of the unstructured variants; default: `finetune_epochs`. Every channel
   * stays, so they need less (the quick profile uses fewer to stay within its time).
   */
  unstructured_finetune_epochs: z.int().min(0).optional(),
  /** Fine-tuning step size: lower than training, the weights are already good. */
  finetune_learning_rate: z.number().positive().default(0.0005),
  /** Target sparsities of unstructured magnitude pruning (of conv + dense kernels). */
  sparsities: z.array(z.number().min(0).lt(1)).default([0.5, 0.8, 0.9]),
  /** Data-parallel workers per model; "auto" uses one per core (at most 2). The numbers depend on it. */
  workers: z.union([z.literal("auto"), z.int().positive()]).default("auto"),
  /**
   * Models trained at once, each in its own Worker(s); "auto" = as many as the cores hold at
   * `workers` each (workers 1 on 2 cores: 2). Only the wall time depends on it.
   */
  lanes: z.union([z.literal("auto"), z.int().positive()]).default("auto"),
  /** Class that precision / recall / F1 are reported for (classification only). */
  positive_class: z.string().default("with_mask"),
  /** Segmentation: first N test images whose predicted masks are recorded per variant (the report's overlays). */
  sample_predictions: z.int().min(0).default(24),
});

export type CompressParams = z.infer<typeof paramsSchema>;

/** What compress adds to a variant's row: its build parameters and how it compares with the teacher. */
export interface CompressFacts {
  /** float32 weights in MiB, as the seed's "0.36 MB" for the teacher. */
  weight_mib: number;
  /** Test images only the teacher classifies right (paired with the teacher, McNemar). */
  test_only_teacher_right: number;
  /** Test images only this variant classifies right. */
  test_only_variant_right: number;
  /** Exact McNemar p-value of the paired difference. */
  mcnemar_p: number;
  train_seconds: number;
  /** distillation and its trained-alone baseline: the student model. */
  student?: string;
  temperature?: number;
  alpha?: number;
  /** Structured pruning: share of channels removed, and the channels kept per block. */
  prune_ratio?: number;
  channels?: number[];
  /** Unstructured pruning: target share of zero weights. */
  sparsity?: number;
  /** Pruned variants: the primary metric straight after the cut and after BN recalibration. */
  accuracy_pruned?: number;
  accuracy_recalibrated?: number;
  bn_recalibration_images?: number;
  finetune_epochs?: number;
}

/** A row the compress stage writes: one variant's facts (tfjs, local). */
export interface CompressRow extends RowBase, PrimaryFields, CompressFacts {}

/** How the variants compare (results.part.json `comparison`). */
export interface Comparison {
  teacher_accuracy: number;
  /** Per student: the primary metric alone and distilled, the gap in points and the winner. */
  students: Record<string, { alone: number; distillation: number; delta_points: number; winner: string }>;
  /** Per variant: points above (+) or below (−) the teacher. */
  points_vs_teacher: Record<string, number>;
  /** The acceptance checks: these variants within 1 point of the teacher. */
  within_1_point: Record<string, boolean | undefined>;
  /** Test images; one is worth `points_per_image` points, so smaller gaps are noise. */
  test_images: number;
  points_per_image: number;
}

/** The compress stage's results.part.json on a classification data set. */
export interface CompressPart {
  task: "classification";
  rows: CompressRow[];
  models: Record<string, ModelRecord>;
  comparison: Comparison;
  teacher: { name: string; accuracy: number };
}

/** What compress adds to a segmentation variant's row: its build parameters and how it compares with the teacher. */
export interface SegCompressFacts {
  /** float32 weights in MiB. */
  weight_mib: number;
  /** Test images where the teacher's Dice is higher (paired per image with the teacher). */
  test_images_teacher_better: number;
  /** Test images where this variant's Dice is higher. */
  test_images_variant_better: number;
  /** Two-sided exact sign test on those images: a large p = no evidence of a difference. */
  sign_test_p: number;
  /** Mean per-image Dice of this variant minus the teacher's, in points. */
  dice_points_vs_teacher_per_image: number;
  /** distillation and its trained-alone baseline: the student model. */
  student?: string;
  alpha?: number;
  /** Structured pruning: share of channels removed, and the filters kept per level. */
  prune_ratio?: number;
  channels?: number[];
  /** Unstructured pruning: target share of zero kernel weights. */
  sparsity?: number;
  /** Pruned variants: test Dice straight after the cut (the U-Nets have no batch norm to recalibrate). */
  dice_pruned?: number;
  finetune_epochs?: number;
}

/** A row the compress stage writes on a segmentation data set (tfjs, local). */
export interface SegCompressRow extends SegRow, SegCompressFacts {}

/** How the U-Net variants compare (results.part.json `comparison`). */
export interface SegComparison {
  teacher_dice: number;
  /** Per student: Dice alone and distilled, the gap in points and the winner. */
  students: Record<string, { alone: number; distillation: number; delta_points: number; winner: string }>;
  /** Per variant: Dice points above (+) or below (−) the teacher. */
  points_vs_teacher: Record<string, number>;
  test_images: number;
}

/** The compress stage's results.part.json on a segmentation data set. */
export interface SegCompressPart {
  task: "segmentation";
  rows: SegCompressRow[];
  models: Record<string, SegModelRecord>;
  /** The first test images' predicted masks, by variant (a .bin file each, in the out folder). */
  predictions: Record<string, MaskPredictions>;
  comparison: SegComparison;
  teacher: { name: string; dice: number };
}

/** Either part, told apart by `task`. */
export type AnyCompressPart = CompressPart | SegCompressPart;

/** A finished variant: its row and its model record. */
interface Kept {
  row: CompressRow;
  model: ModelRecord;
}

interface Variant {
  name: string;
  technique: string;
  model: tf.LayersModel;
  spec: ClassifierSpec;
  fit: FitResult;
  extra?: Record<string, unknown>;
}

export async function run(ctx: StageContext<CompressParams>): Promise<StageResult> {
  const p = ctx.params;
  const { train: trainDir, fetch: fetchDir } = ctx.depDirs;
  if (!trainDir || !fetchDir) {
    throw new Error(`compress: stages "train" and "fetch" must be deps of "compress"`);
  }
  const data = await loadDataset(fetchDir);
  modelFor(p.teacher, data.task, "compress: params.teacher");
  p.students.forEach((s, i) => modelFor(s, data.task, `compress: params.students[${i}]`));
  if (data.task === "segmentation") {
    await initEngine();
    return await compressSegmentation(ctx, data, trainDir);
  }
  const positive = data.classes.indexOf(p.positive_class);
  if (positive < 0) throw new Error(`compress: params.positive_class "${p.positive_class}" is not a class`);
  await initEngine();
  const task = classification(positive);
  const teacherDir = join(trainDir, p.teacher, "model");
  const teacher = await loadModel(teacherDir).catch(() => {
    throw new Error(
      `compress: no checkpoint of "${p.teacher}" in ${teacherDir}; add it to the train stage's models`,
    );
  });
  const teacherSpec: ClassifierSpec = { ...CLASSIFIERS[p.teacher], classes: data.classes.length };
  const { metrics: teacherTest, predicted: teacherPredicted } = await testResult(teacher, data, positive);
  const teacherScore = primaryOf(teacherTest, task)!;
  ctx.log.info(`teacher ${p.teacher}: test ${task.primary.name} ${pct(teacherScore)}`);
  const base = fitOptions(p, p.distill_epochs, positive);
  // The teacher's logits on the training images, computed once for every distilled run.
  const kd = {
    model: teacher,
    temperature: p.temperature,
    alpha: p.alpha,
    logits: await teacherLogits(teacher, data),
  };
  const finetune = {
    ...base,
    epochs: p.finetune_epochs,
    learningRate: p.finetune_learning_rate,
    bnRecalibrationImages: p.bn_recalibration_images,
  };
  // A killed run's finished variants are kept (ctx.resumeDir) and its last training resumes.
  const store = new VariantStore<Kept>(ctx.resumeDir, ctx.outDir);
  const keep = async (v: Variant): Promise<Kept> => {
    // Paired with the teacher on the same test images: is the accuracy gap more than noise?
    const paired = pairedComparison(
      data.splits.test.labels,
      teacherPredicted,
      v.fit.testPredicted,
    );
    const checkpoint = join(v.name, "model");
    const bytes = await saveModel(v.model, join(ctx.outDir, checkpoint));
    const counts = account(v.model);
    const model: ModelRecord = {
      technique: v.technique,
      spec: { ...v.spec, input: [data.size, data.size, 3], from: p.teacher },
      params_torch: counts.params_total,
      params_tfjs: counts.params_tfjs,
      history: v.fit.history,
      best_epoch: v.fit.bestEpoch,
      stopped_early: v.fit.stoppedEarly,
      train_seconds: v.fit.seconds,
      test: v.fit.test,
      checkpoint,
    };
    const row: CompressRow = {
      variant: v.name,
      technique: v.technique,
      ...counts,
      size_bytes: bytes,
      // float32 weights in MiB, as the seed's "0.36 MB" for the teacher
      weight_mib: Number((counts.weight_bytes / 2 ** 20).toFixed(2)),
      ...primaryFields(task, primaryOf(v.fit.test, task)),
      test_only_teacher_right: paired.only_reference_right,
      test_only_variant_right: paired.only_other_right,
      mcnemar_p: Number(paired.mcnemar_p.toPrecision(4)),
      train_seconds: Number(v.fit.seconds.toFixed(1)),
      ...v.extra,
      runtime: `tfjs-${tf.getBackend()}`,
      format: "tfjs",
      device: "local",
    };
    ctx.log.info(
      `${v.name} (${v.technique}): ${counts.params_nonzero} non-zero params, test ${task.primary.name} ${
        pct(primaryOf(v.fit.test, task)!)
      }, ${v.fit.seconds.toFixed(0)} s`,
    );
    await store.stash(v.name, { row, model });
    v.model.dispose();
    return { row, model };
  };

  const jobs: VariantJob<Variant>[] = [];
  const teacherFlops = account(teacher).flops;

  // Distillation, and the same students trained alone (same seed, epochs and batch order).
  for (const student of p.students) {
    const spec: ClassifierSpec = { ...CLASSIFIERS[student], classes: data.classes.length };
    const probe = buildClassifier(spec, [data.size, data.size, 3], ctx.seed);
    const flops = account(probe).flops;
    probe.dispose();
    for (const teacherOpt of [undefined, kd]) {
      const name = `${student}_${teacherOpt ? "kd" : "alone"}`;
      jobs.push({
        name,
        cost: p.distill_epochs * flops,
        make: async () => {
          const model = buildClassifier(spec, [data.size, data.size, 3], ctx.seed);
          const fit = await fitClassifier(ctx, name, model, data, {
            ...base,
            teacher: teacherOpt,
            orderKey: student,
            checkpointDir: store.checkpoint(name),
          });
          return {
            name,
            technique: teacherOpt ? "distillation" : "baseline",
            model,
            spec,
            fit,
            extra: { student, ...(teacherOpt ? { temperature: p.temperature, alpha: p.alpha } : {}) },
          };
        },
      });
    }
  }

  // Structured pruning, fine-tuned without and with the teacher.
  for (const ratio of p.prune_ratios) {
    const tag = `${p.teacher}_p${Math.round(ratio * 100)}`;
    for (const teacherOpt of [undefined, kd]) {
      const name = teacherOpt ? `${tag}_kd` : tag;
      jobs.push({
        name,
        cost: p.finetune_epochs * teacherFlops * (1 - ratio) ** 2,
        make: async () => {
          const model = await pruneInto(teacher, {
            ratio,
            importance: IMPORTANCE[p.importance],
            roundTo: p.round_to,
          }, join(ctx.outDir, name));
          const channels = [1, 2, 3].map((b) => model.getLayer(`conv${b}`).getWeights()[0].shape[3]);
          const spec: ClassifierSpec = { ...teacherSpec, channels: channels as [number, number, number] };
          const before = await recalibrate(model, data, p, task);
          const fit = await tune(ctx, name, model, data, {
            ...finetune,
            teacher: teacherOpt,
            checkpointDir: store.checkpoint(name),
          });
          return {
            name,
            technique: teacherOpt ? "pruning+distillation" : "pruning",
            model,
            spec,
            fit,
            extra: {
              prune_ratio: ratio,
              channels: spec.channels,
              ...before,
              finetune_epochs: p.finetune_epochs,
            },
          };
        },
      });
    }
  }

  // Unstructured magnitude pruning, fine-tuned with masks so the zeros stay.
  const sparseEpochs = p.unstructured_finetune_epochs ?? p.finetune_epochs;
  for (const sparsity of p.sparsities) {
    const name = `${p.teacher}_s${Math.round(sparsity * 100)}`;
    jobs.push({
      name,
      cost: sparseEpochs * teacherFlops,
      make: async () => {
        const model = await loadModel(teacherDir);
        const masks = pruneMagnitude(model, sparsity);
        const before = await recalibrate(model, data, p, task);
        const fit = await tune(ctx, name, model, data, {
          ...finetune,
          epochs: sparseEpochs,
          masks,
          checkpointDir: store.checkpoint(name),
        });
        return {
          name,
          technique: "unstructured",
          model,
          spec: teacherSpec,
          fit,
          extra: { sparsity, ...before, finetune_epochs: sparseEpochs },
        };
      },
    });
  }

  // Side by side in lanes; the rows stay in the order above.
  const done = await store.makeAll(
    jobs.map((job) => ({ ...job, make: async () => keep(await job.make()) })),
    laneCount(p),
    ctx.log,
  );
  const rows = done.map((k) => k.row);
  const models: Record<string, ModelRecord> = Object.fromEntries(done.map((k) => [k.row.variant, k.model]));
  teacher.dispose();

  const comparison: Comparison = {
    ...compare(rows, p.students, p.teacher, teacherScore, task),
    // One test image is worth this many points: differences this small are noise.
    test_images: data.splits.test.count,
    points_per_image: Number((100 / data.splits.test.count).toFixed(2)),
  };
  const part: CompressPart = {
    task: "classification",
    rows,
    models,
    comparison,
    teacher: { name: p.teacher, accuracy: teacherScore },
  };
  await writeFileAtomic(join(ctx.outDir, "results.part.json"), JSON.stringify(part, null, 1));
  return {
    summary: {
      teacher_accuracy: round4(teacherScore),
      variants: Object.fromEntries(rows.map((r) => [r.variant, {
        technique: r.technique,
        params_nonzero: r.params_nonzero,
        [task.primary.name]: round4(primaryOf(r, task)!),
        seconds: r.train_seconds,
      }])),
      comparison,
    },
  };
}

/** Fine-tune (or, with 0 epochs, only test) a compressed model in place. */
async function tune(
  ctx: StageContext<CompressParams>,
  name: string,
  model: tf.LayersModel,
  data: Dataset,
  opts: FitOptions,
): Promise<FitResult> {
  if (opts.epochs > 0) return await fitClassifier(ctx, name, model, data, opts);
  const { metrics, predicted } = await testResult(model, data, opts.positive);
  return {
    history: [],
    bestEpoch: 0,
    stoppedEarly: false,
    seconds: 0,
    test: metrics,
    testPredicted: predicted,
  };
}

/**
 * Test accuracy straight after the cut, then (unless turned off) after re-estimating the BN
 * statistics on training images: the point fine-tuning starts from.
 */
async function recalibrate(model: tf.LayersModel, data: Dataset, p: CompressParams, task: AnyTask) {
  const positive = data.classes.indexOf(p.positive_class);
  const score = async () => primaryOf((await testResult(model, data, positive)).metrics, task);
  const pruned = await score();
  const n = Math.min(p.bn_recalibration_images, data.splits.train.count);
  if (n === 0) return { accuracy_pruned: pruned };
  await recalibrateOn(model, data, n);
  return {
    accuracy_pruned: pruned,
    accuracy_recalibrated: await score(),
    bn_recalibration_images: n,
  };
}

/** Test metrics of `model`, and its predicted class per test image. */
async function testResult(model: tf.LayersModel, data: Dataset, positive: number) {
  const { predicted } = await evaluate(model, data.splits.test, data.size);
  return {
    metrics: classifierMetrics(data.splits.test.labels, predicted, data.classes, positive),
    predicted,
  };
}

/**
 * Which won, per student (KD vs alone), and how far the compressed models are from the teacher,
 * in points of the task's primary metric.
 */
function compare(
  rows: CompressRow[],
  students: string[],
  teacher: string,
  teacherAcc: number,
  task: AnyTask,
) {
  const acc = (variant: string) => primaryOf(rows.find((r) => r.variant === variant), task);
  const students_: Comparison["students"] = {};
  for (const s of students) {
    const alone = acc(`${s}_alone`)!, kd = acc(`${s}_kd`)!;
    const delta = (kd - alone) * 100;
    students_[s] = {
      alone: round4(alone),
      distillation: round4(kd),
      delta_points: Number(delta.toFixed(2)),
      winner: Math.abs(delta) < 1e-9 ? "tie" : better(kd, alone, task.primary) ? "distillation" : "alone",
    };
  }
  const gap = Object.fromEntries(
    rows.map((r) => [r.variant, Number(((primaryOf(r, task)! - teacherAcc) * 100).toFixed(2))]),
  );
  // The acceptance: KD Medium and the 50 %-pruned + fine-tuned teacher within 1 point.
  const within = (variant: string) =>
    variant in gap ? (task.primary.higherIsBetter ? gap[variant] >= -1 : gap[variant] <= 1) : undefined;
  return {
    teacher_accuracy: round4(teacherAcc),
    students: students_,
    points_vs_teacher: gap,
    within_1_point: { medium_kd: within("medium_kd"), [`${teacher}_p50`]: within(`${teacher}_p50`) },
  };
}

const round4 = (v: number) => Number(v.toFixed(4));
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
