/**
 * The self-contained bench bundle copied to a device: the ONNX / TFLite files to bench, test images as raw
 * float32 (NHWC, [0, 1]; one file per model input size) with their targets (classification: the
 * labels; segmentation: the masks at the data set's side, uint8 0/1), the settings, and
 * `runner.mjs` (with `tflite_run.py` when there are TFLite files). Its hash (paths + contents) keys the device result cache and names the remote
 * folder it is unpacked into.
 */
import { join } from "node:path";
import type { Dataset } from "../data/dataset.ts";
import { hashPath } from "../core/hash.ts";
import type { Format } from "../export/variant.ts";
import { splitImages, splitScorer } from "../export/task_eval.ts";
import type { ExportRecord } from "../stages/export.ts";
import { type AnyTask, taskByName } from "../tasks/mod.ts";

/** One model of a bundle, as `bundle.json` lists it. */
export interface BundleModel {
  variant: string;
  format: Format;
  /** Path inside the bundle (index-based, so no variant name reaches a file name). */
  file: string;
  /** The model's input side; its images are `images` (`images-<size>.f32`). */
  size: number;
  images: string;
  /** Test images scored (the first `count` of `images`; 0: latency only, on one constant image). */
  count: number;
}

/** What to put in a bundle. */
export interface BundleOptions {
  exportDir: string;
  exports: Record<string, ExportRecord>;
  /** The task the runner scores with. @default classification */
  task?: AnyTask;
  /** ONNX / TFLite formats to bench (tfjs is never bundled). */
  formats: readonly Format[];
  /** The board's python3 for TFLite files. @default "python3" */
  python?: string;
  /** The TFLite runtime tflite_run.py uses there (`auto`: the first it finds). @default "auto" */
  tfliteRuntime?: string;
  threads: number[];
  warmup: number;
  runs: number;
  layout: "NHWC" | "NCHW";
  /** Test images for the task's score; undefined benches latency only (on a constant image). */
  data?: Dataset;
  /** At most this many test images are bundled. */
  images: number;
  /** Also bench onnx-fp32 with trtexec --fp16 where the device has it. */
  trtexec: boolean;
}

/** A bundle written to a local folder. */
export interface Bundle {
  dir: string;
  /** sha256 of the bundle's files (paths + contents). */
  hash: string;
  models: BundleModel[];
}

/** The runner's source, shipped as the bundle's `runner.mjs`. */
export const RUNNER_URL = new URL("./remote_runner.mjs", import.meta.url);
/** The TFLite runner it calls through the board's python3. */
export const TFLITE_RUNNER_URL = new URL("./tflite_run.py", import.meta.url);

/**
 * Write a bundle into a new temp folder under `parent`. Every variant goes in; the test images are
 * written once per input size (a U-Net at half the data set's side gets them resized down, and the
 * runner resizes its probabilities back up before scoring, as the export and bench stages do).
 */
export async function buildBundle(parent: string, o: BundleOptions): Promise<Bundle> {
  const task = o.task ?? taskByName("classification");
  const dir = await Deno.makeTempDir({ dir: parent, prefix: "bundle-" });
  await Deno.mkdir(join(dir, "models"));
  const models: BundleModel[] = [];
  const counts = new Map<number, number>();
  for (const [variant, e] of Object.entries(o.exports)) {
    const size = e.input[0];
    if (!counts.has(size)) {
      const x = splitImages(task, o.data, "test", o.images, { input: e.input });
      const scored = splitScorer(task, o.data, "test", o.images, { input: e.input });
      const count = x && scored ? scored.count : 0;
      const images = count ? x! : new Float32Array(size * size * 3).fill(0.5);
      await Deno.writeFile(join(dir, `images-${size}.f32`), new Uint8Array(images.buffer));
      counts.set(size, count);
    }
    for (const format of o.formats) {
      const rec = e.formats[format];
      if (!rec || format === "tfjs") continue;
      const file = `models/${models.length}-${format}.${format.startsWith("tflite") ? "tflite" : "onnx"}`;
      await Deno.copyFile(join(o.exportDir, rec.path), join(dir, file));
      models.push({ variant, format, file, size, images: `images-${size}.f32`, count: counts.get(size)! });
    }
  }
  const count = Math.max(0, ...counts.values());
  const test = o.data?.splits.test;
  if (count && task.name === "segmentation") {
    await Deno.writeFile(join(dir, "masks.u8"), test!.masks!.subarray(0, count * o.data!.size ** 2));
  }
  const settings = {
    task: task.name,
    layout: o.layout,
    warmup: o.warmup,
    runs: o.runs,
    threads: o.threads,
    labels: count && task.name === "classification" ? Array.from(test!.labels.subarray(0, count)) : [],
    ...(count && task.name === "segmentation" ? { masks: "masks.u8", data_size: o.data!.size } : {}),
    models,
    trtexec: o.trtexec,
    python: o.python ?? "python3",
    tflite_runtime: o.tfliteRuntime ?? "auto",
  };
  await Deno.writeTextFile(join(dir, "bundle.json"), JSON.stringify(settings));
  await Deno.copyFile(RUNNER_URL, join(dir, "runner.mjs"));
  if (models.some((m) => m.format.startsWith("tflite"))) {
    await Deno.copyFile(TFLITE_RUNNER_URL, join(dir, "tflite_run.py"));
  }
  return { dir, hash: await hashPath(dir), models };
}
