/**
 * Stage "export" (both tracks; `seg_export` in the pipeline file is this module on the U-Nets):
 * every model variant of `train` and `compress` → tfjs (copied checkpoint), ONNX fp32 (batch norm
 * folded, checked against tfjs), ONNX fp16 weights, ONNX int8 QDQ (calibrated on training images,
 * MinMax and percentile; of those that cannot saturate int16 pair sums, the one with the better
 * fake-quant val score on the task's primary metric, accuracy or Dice, is "onnx-int8") and TFLite
 * fp32 / fp16 / int8. Sizes raw and gzip, parity and each format's test score through its runtime
 * go to results.part.json under `exports` (rows with latency come from the bench stage).
 *
 * ONNX contract (also in each file's metadata_props): input `input`, float32 RGB in [0, 1]
 * (pixel / 255), NHWC [N, size, size, 3] by default (`layout: nchw` gives [N, 3, size, size]),
 * `size` the model's own input side. Classification: outputs `logits` [N, classes] and `probs` =
 * Softmax(logits) (drop with `probs: false`). Segmentation: one output `output`, the sigmoid
 * probability of the foreground per pixel, [N, size, size, 1] (NHWC; NCHW: [N, 1, size, size]);
 * the mask is p ≥ 0.5. A U-Net whose input side is below the data set's (`unet_lowres`) is fed
 * images resized down (bilinear, half-pixel) and its probabilities are resized back up the same
 * way before scoring, so every Dice is over the data set's pixels (pipeline/export/seg_score.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { z } from "zod";
import { ExpectedError } from "../core/errors.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import { type Dataset, loadDataset } from "../data/dataset.ts";
import { initEngine } from "../engine/mod.ts";
import { account } from "../models/accounting.ts";
import { loadModel } from "../models/io.ts";
import { type ExportOptions, exportVariant, FORMATS, type VariantExport } from "../export/variant.ts";
import { type ExportJob, ExportLanes } from "../export/export_lanes.ts";
import { inLanes, laneCount } from "../train/lanes.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import type { ModelRecord } from "../tasks/classification_records.ts";
import type { SegModelRecord } from "../tasks/segmentation_records.ts";
import { type AnyTask, primaryOf, taskByName, type TaskName } from "../tasks/mod.ts";
import type { CompressPart } from "./compress.ts";
import type { TrainPart } from "./train.ts";

const METHODS = ["minmax", "percentile"] as const;

/** Params of the export stage. */
export const paramsSchema = z.strictObject({
  /** Formats to write; bench measures each. */
  formats: z.array(z.enum(FORMATS)).min(1).default([...FORMATS]),
  /** Variants exported at once, each in its own Worker; "auto" = one per core. Only the wall time depends on it. */
  lanes: z.union([z.literal("auto"), z.int().positive()]).default("auto"),
  /** ONNX input layout: NHWC (as tfjs and the data set; a Transpose inside) or native NCHW. */
  layout: z.enum(["nhwc", "nchw"]).default("nhwc"),
  /** Classification: add a `probs` (Softmax) output beside `logits` (a U-Net's one output is its sigmoid). */
  probs: z.boolean().default(true),
  /** Test images compared between tfjs and onnxruntime fp32 (and LiteRT fp32). */
  parity_images: z.int().min(1).default(32),
  /**
   * At most this many test images scored through LiteRT.js per TFLite file (it runs one image at a
   * time in wasm, the slowest runtime here; the record then says `test_images`). Default: the whole
   * test split, as for every ONNX format.
   */
  litert_images: z.int().min(1).optional(),
  /** Max |onnxruntime − tfjs| allowed for fp32 (the stage fails above it). */
  parity_tolerance: z.number().positive().default(1e-4),
  calibration: z.strictObject({
    /** Training images the int8 activation ranges are calibrated on. */
    images: z.int().min(1).default(128),
    /** Calibration methods; each writes model.int8-<method>.onnx. */
    methods: z.array(z.enum(METHODS)).min(1).default([...METHODS]),
    /**
     * Percentile kept by the percentile method; a list makes one candidate per value (named
     * `percentile-99.9`), so the pick can choose the clipping per variant.
     */
    percentile: z.union([z.number().min(50).max(100), z.array(z.number().min(50).max(100)).min(1)]).default(
      99.99,
    ),
    /** Activation type; uint8 is onnxruntime's fast path on x86 (U8S8). */
    activations: z.enum(["uint8", "int8"]).default("uint8"),
    /**
     * Weight bits (per-channel, symmetric) of every int8 conv but the first. 7 ([−64, 64], like
     * onnxruntime's reduce_range) keeps each u8 × s8 pair sum within int16, which x86 CPUs
     * without VNNI saturate (8 lost up to 12 points there).
     */
    weight_bits: z.union([z.literal(7), z.literal(8)]).default(7),
    /** Bits of the image input's codes; 7 lets the first conv keep 8-bit weights within int16. */
    input_bits: z.union([z.literal(7), z.literal(8)]).default(7),
    /**
     * At most this many val images score each int8 candidate for the pick (fake-quant and int8
     * kernels; the float-kernel run of a QDQ U-Net is the slowest step of its export). Default:
     * the whole val split.
     */
    pick_images: z.int().min(1).optional(),
  }).default({
    images: 128,
    methods: [...METHODS],
    percentile: 99.99,
    activations: "uint8",
    weight_bits: 7,
    input_bits: 7,
  }),
  /**
   * Which calibration is the "onnx-int8" format: one method, or "auto": of the candidates whose
   * int16 pair bound rules out saturation, the best fake-quant val score on the task's primary
   * metric (float kernels, so the pick is the same on every CPU).
   */
  int8_pick: z.enum(["auto", ...METHODS]).default("auto"),
});

export type ExportParams = z.infer<typeof paramsSchema>;

/** One exported variant in results.part.json `exports`. */
export interface ExportRecord extends VariantExport {
  technique: string;
  /** Stage the checkpoint came from. */
  source: string;
  input: number[];
  params_total: number;
  params_zero: number;
  params_nonzero: number;
  params_tfjs: number;
  flops: number;
}

/** The export stage's results.part.json. */
export interface ExportPart {
  task: TaskName;
  exports: Record<string, ExportRecord>;
  /** ONNX input layout. */
  layout: "NHWC" | "NCHW";
  input_name: "input";
  outputs: string[];
}

/** Output names per task (the ONNX contract above). */
const OUTPUTS: Record<TaskName, (p: ExportParams) => string[]> = {
  classification: (p) => p.probs ? ["logits", "probs"] : ["logits"],
  segmentation: () => ["output"],
};

/** metadata_props a task adds to every file (classification: the classes, as before tasks). */
const TASK_METADATA: Record<TaskName, (data: Dataset | undefined, input: number) => Record<string, string>> =
  {
    classification: (data) => data ? { classes: JSON.stringify(data.classes) } : {} as Record<string, string>,
    segmentation(data, input) {
      const meta: Record<string, string> = {
        task: "segmentation",
        output:
          "output: sigmoid probability of the foreground per pixel, one channel (NHWC [N, H, W, 1], NCHW " +
          "[N, 1, H, W]); mask = p >= 0.5",
      };
      if (!data) return meta;
      meta.classes = JSON.stringify(data.classes);
      meta.dataset_size = `${data.size}x${data.size}`;
      if (input !== data.size) {
        meta.resize = `images ${data.size}→${input} and probabilities ${input}→${data.size}, bilinear with ` +
          "half-pixel centres (images rounded to bytes)";
      }
      return meta;
    },
  };

/** Export every variant of the train and compress stages. */
export async function run(ctx: StageContext<ExportParams>): Promise<StageResult> {
  const p = ctx.params;
  const { sources, task: taskName } = await readSources(ctx);
  const task: AnyTask = taskByName(taskName);
  if (Object.keys(sources).length === 0) {
    throw new ExpectedError(
      `export: no models found in the results.part.json of ${JSON.stringify(Object.keys(ctx.depDirs))} ` +
        '(deps of "export" should include "train" or "compress")',
    );
  }
  await initEngine();
  const data: Dataset | undefined = ctx.depDirs.fetch ? await loadDataset(ctx.depDirs.fetch) : undefined;
  if (data && data.task !== task.name) {
    throw new ExpectedError(
      `export: the models are for task "${task.name}" but the data set in "${ctx.depDirs.fetch}" is for ` +
        `"${data.task}" (dataset.json field "task"); point the deps of "${ctx.name}" at the matching fetch stage`,
    );
  }
  // Every checkpoint checked before any export: its input side as recorded, its counts.
  const checked: Checked[] = [];
  for (const [name, { stage, dir, record }] of Object.entries(sources)) {
    const checkpointDir = join(dir, record.checkpoint);
    const model = await loadModel(checkpointDir);
    const input = (model.inputs[0].shape as number[]).slice(1);
    const declared = (record as Partial<SegModelRecord>).input_size;
    const counts = account(model);
    model.dispose();
    if (declared !== undefined && declared !== input[0]) {
      throw new ExpectedError(
        `export: "${
          join(dir, "results.part.json")
        }" models.${name}.input_size is ${declared} but the checkpoint ` +
          `"${checkpointDir}" takes ${input.join("×")} (rerun stage "${stage}" with --only ${stage} --force)`,
      );
    }
    checked.push({ name, stage, record, checkpointDir, input, counts });
  }
  const lanes = laneCount({ workers: 1, lanes: p.lanes });
  const pool = lanes > 1 && checked.length > 1 ? new ExportLanes(Math.min(lanes, checked.length)) : undefined;
  const bar = ctx.progress("export", checked.length, "models");
  let outs: VariantExport[];
  try {
    outs = await inLanes(checked, lanes, async ({ name, stage, record, checkpointDir, input }) => {
      const options: ExportJob["options"] = {
        checkpointDir,
        outDir: ctx.outDir,
        name,
        formats: p.formats,
        layout: p.layout,
        probs: p.probs,
        parityImages: p.parity_images,
        litertImages: p.litert_images,
        tolerance: p.parity_tolerance,
        calibration: p.calibration,
        int8Pick: p.int8_pick,
        seed: ctx.seed,
        metadata: {
          variant: name,
          technique: record.technique,
          preprocessing: "RGB, pixel / 255 → float32 in [0, 1], resized (stretched) to the input size",
          ...TASK_METADATA[task.name](data, input[0]),
          source: `tfjs-layers ${tf.version.tfjs} checkpoint of stage ${stage}`,
        },
      };
      const out = pool
        ? await pool.run({ options, task: task.name, fetchDir: ctx.depDirs.fetch })
        : await exportHere(options, task, data);
      const f = out.formats,
        score = (r?: { accuracy?: number; dice?: number }) => primaryOf(r, task)?.toFixed(4);
      if (out.int8_pick) ctx.log.info(`${name}: int8 pick ${out.int8_pick.method} (${out.int8_pick.reason})`);
      ctx.log.info(
        `${name}: fp32 max|Δ| vs tfjs ${f["onnx-fp32"]?.max_abs_diff_vs_tfjs?.toExponential(1)}, sizes ${
          Object.entries(f).map(([k, r]) => `${k} ${r.size_bytes}`).join(", ")
        }, int8 (${f["onnx-int8"]?.calibration}) ${task.primary.name} ${score(f["onnx-int8"])} vs fp32 ${
          score(f["onnx-fp32"])
        }`,
      );
      bar.tick(1, { model: name });
      return out;
    }, { cost: (c) => c.counts.flops });
  } finally {
    pool?.close();
  }
  const exports: Record<string, ExportRecord> = {};
  checked.forEach(({ name, stage, record, input, counts }, i) => {
    exports[name] = {
      technique: record.technique,
      source: stage,
      input,
      params_total: counts.params_total,
      params_zero: counts.params_zero,
      params_nonzero: counts.params_nonzero,
      params_tfjs: counts.params_tfjs,
      flops: counts.flops,
      ...outs[i],
    };
  });
  bar.done();
  const part: ExportPart = {
    task: task.name,
    exports,
    layout: p.layout === "nchw" ? "NCHW" : "NHWC",
    input_name: "input",
    outputs: OUTPUTS[task.name](p),
  };
  await writeFileAtomic(join(ctx.outDir, "results.part.json"), JSON.stringify(part, null, 1));
  return {
    summary: Object.fromEntries(
      Object.entries(exports).map(([name, e]) => [name, {
        max_abs_diff: e.formats["onnx-fp32"]?.max_abs_diff_vs_tfjs,
        int8_ratio: e.formats["onnx-fp32"] && e.formats["onnx-int8"]
          ? Number((e.formats["onnx-fp32"].size_bytes / e.formats["onnx-int8"].size_bytes).toFixed(2))
          : undefined,
        [`int8_${task.primary.name}`]: primaryOf(e.formats["onnx-int8"], task),
      }]),
    ),
  };
}

/** A checkpoint checked before the exports: where it is, its input and its counts. */
interface Checked {
  name: string;
  stage: string;
  record: ModelRecord | SegModelRecord;
  checkpointDir: string;
  input: number[];
  counts: ReturnType<typeof account>;
}

/** Export one variant on this thread (one lane). */
async function exportHere(
  options: ExportJob["options"],
  task: AnyTask,
  data: Dataset | undefined,
): Promise<VariantExport> {
  const model = await loadModel(options.checkpointDir);
  try {
    return await exportVariant(model, { ...options, task, data } satisfies ExportOptions);
  } finally {
    model.dispose();
  }
}

interface Source {
  stage: string;
  dir: string;
  record: ModelRecord | SegModelRecord;
}

/** Model records of the train and compress stages (compress may be absent), and their task. */
async function readSources(
  ctx: StageContext<ExportParams>,
): Promise<{ sources: Record<string, Source>; task: TaskName }> {
  const sources: Record<string, Source> = {};
  let task: TaskName | undefined;
  for (const stage of ["train", "compress"]) {
    const dir = ctx.depDirs[stage];
    if (!dir) continue;
    let part: Partial<Pick<TrainPart | CompressPart, "task" | "models">>;
    try {
      part = JSON.parse(await Deno.readTextFile(join(dir, "results.part.json")));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      const what = `export: cannot read "${join(dir, "results.part.json")}": ${(error as Error).message}`;
      throw new ExpectedError(`${what} (rerun stage "${stage}" with --only ${stage} --force)`);
    }
    // Parts written before the task was recorded are classification.
    const partTask = part.task ?? "classification";
    if (task && partTask !== task) {
      throw new ExpectedError(
        `export: stage "${stage}" records task "${partTask}" but an earlier stage records "${task}"`,
      );
    }
    task = partTask;
    for (const [name, record] of Object.entries(part.models ?? {})) {
      if (sources[name]) {
        throw new ExpectedError(
          `export: variant "${name}" comes from both ${sources[name].stage} and ${stage} (keep one)`,
        );
      }
      sources[name] = { stage, dir, record };
    }
  }
  return { sources, task: task ?? "classification" };
}
