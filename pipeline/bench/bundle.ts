/**
 * The self-contained bench bundle copied to a device: the ONNX files to bench, test images as raw
 * float32 (NHWC, [0, 1]) with their labels, the settings, and `runner.mjs`. Its hash (paths +
 * contents) keys the device result cache and names the remote folder it is unpacked into.
 */
import { join } from "node:path";
import type { Dataset } from "../data/dataset.ts";
import { toFloatBatch } from "../data/dataset.ts";
import { hashPath } from "../core/hash.ts";
import type { Format } from "../export/variant.ts";
import type { ExportRecord } from "../stages/export.ts";

/** One model of a bundle, as `bundle.json` lists it. */
export interface BundleModel {
  variant: string;
  format: Format;
  /** Path inside the bundle (index-based, so no variant name reaches a file name). */
  file: string;
}

/** What to put in a bundle. */
export interface BundleOptions {
  exportDir: string;
  exports: Record<string, ExportRecord>;
  /** ONNX formats to bench (tfjs is never bundled). */
  formats: readonly Format[];
  threads: number[];
  warmup: number;
  runs: number;
  layout: "NHWC" | "NCHW";
  /** Test images for accuracy; undefined benches latency only (on a constant image). */
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

/**
 * Write a bundle into a new temp folder under `parent`; only variants of one input size (the first
 * exported one's) go in, since the images are shared.
 */
export async function buildBundle(parent: string, o: BundleOptions): Promise<Bundle> {
  const dir = await Deno.makeTempDir({ dir: parent, prefix: "bundle-" });
  await Deno.mkdir(join(dir, "models"));
  const entries = Object.entries(o.exports);
  const size = entries[0]?.[1].input[0] ?? 0;
  const models: BundleModel[] = [];
  for (const [variant, e] of entries) {
    if (e.input[0] !== size) continue;
    for (const format of o.formats) {
      const rec = e.formats[format];
      if (!rec || format === "tfjs") continue;
      const file = `models/${models.length}-${format}.onnx`;
      await Deno.copyFile(join(o.exportDir, rec.path), join(dir, file));
      models.push({ variant, format, file });
    }
  }
  const matching = o.data && o.data.size === size;
  const count = matching ? Math.min(o.images, o.data!.splits.test.count) : 0;
  const images = matching
    ? toFloatBatch(o.data!.splits.test.images, Array.from({ length: count }, (_, i) => i), size)
    : new Float32Array(size * size * 3).fill(0.5);
  await Deno.writeFile(join(dir, "images.f32"), new Uint8Array(images.buffer));
  const labels = matching ? Array.from(o.data!.splits.test.labels.subarray(0, count)) : [];
  const settings = {
    size,
    layout: o.layout,
    warmup: o.warmup,
    runs: o.runs,
    threads: o.threads,
    images: "images.f32",
    count,
    labels,
    models,
    trtexec: o.trtexec,
  };
  await Deno.writeTextFile(join(dir, "bundle.json"), JSON.stringify(settings));
  await Deno.copyFile(RUNNER_URL, join(dir, "runner.mjs"));
  return { dir, hash: await hashPath(dir), models };
}
