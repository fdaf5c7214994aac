/**
 * What the inference notebooks call (the seed's `infer_webcam` / `infer_csi_camera` and its
 * "time 100 inferences"): the live loop of `deno task infer` on a source with a few annotated
 * frames kept, the classifier alone timed over N runs, and both shown as cell outputs (HTML
 * tables and inline PNGs, which nbconvert's HTML and GitHub show too).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { toFloatBatch } from "../data/dataset.ts";
import { percentile } from "../bench/stats.ts";
import { base64, type JupyterDisplayable } from "../report/notebook.ts";
import { type SeedExperiment, seedFigure } from "../report/seed_figures.ts";
import { openClassifier } from "./classifier.ts";
import { CASCADE_PATHS } from "./infer.ts";
import { facesText, type LiveSummary, openLive } from "./run_live.ts";
import { evenlySpaced, halfSizePng } from "./draw.ts";
import { openSegmentLive, type SegSummary } from "./segment_live.ts";
import { loadDataset } from "../data/dataset.ts";
import { onnxRunner, timeRuns } from "../bench/runners.ts";
import { splitImages, splitScorer } from "../export/task_eval.ts";
import { taskByName } from "../tasks/mod.ts";

/** Annotated frames of a run (PNG), shown by `framesView`. */
export interface DemoFrames {
  frames: { frame: number; png: Uint8Array; caption: string }[];
}

/** One classifier variant run live: its summary and a few annotated frames. */
export interface LiveDemo extends DemoFrames {
  variant: string;
  format: string;
  summary: LiveSummary["summary"];
}

/** One U-Net run live: its summary and a few frames with the mask blended in. */
export interface SegDemo extends DemoFrames {
  variant: string;
  summary: SegSummary["summary"];
}

/** Where the quick pipeline's exports are, relative to the notebook folder's `root`. */
export function exportDirOf(root: string, profile = "quick"): string {
  return join(root, "artifacts", profile, "export");
}

/** Whether the export stage has run for `profile` (the notebooks need its ONNX files). */
export function exportsReady(root: string, profile = "quick"): boolean {
  return existsSync(join(exportDirOf(root, profile), "results.part.json"));
}

/**
 * Run `variant` live on `source` (a video, `/dev/video0`, `csi`, …) for `frames` frames at
 * 640×480, keeping `keep` annotated frames.
 */
export async function liveDemo(o: {
  root: string;
  source: string;
  variant: string;
  format?: "onnx-fp32" | "onnx-int8";
  frames?: number;
  keep?: number;
  profile?: string;
}): Promise<LiveDemo> {
  const frames = o.frames ?? 60, format = o.format ?? "onnx-fp32";
  const wanted = evenlySpaced(o.keep ?? 3, frames);
  const run = await openLive({
    source: o.source,
    width: 640,
    height: 480,
    maxFrames: frames,
    model: o.variant,
    format,
    exportDir: exportDirOf(o.root, o.profile),
    cascade: CASCADE_PATHS.find((p) => existsSync(p)) ?? CASCADE_PATHS[0],
    scaleFactor: 1.1,
    minNeighbors: 5,
    minSize: 60,
    detectScale: 0.5,
    detectEvery: 1,
    annotate: true,
  });
  const kept: LiveDemo["frames"] = [];
  for (;;) {
    const next = await run.frames.next();
    if (next.done) return { variant: o.variant, format, summary: next.value.summary, frames: kept };
    const { record, rgb } = next.value;
    if (!wanted.has(record.frame)) continue;
    const png = await halfSizePng(rgb, 640, 480);
    kept.push({
      frame: record.frame,
      png,
      caption: `#${record.frame} ${o.variant}: ${facesText(record.faces)}`,
    });
  }
}

/**
 * The classifier alone, as the seed timed it: one input (a mid-grey crop: a CNN's time does not
 * depend on the pixels) classified `runs` times after 10 warm-up runs; mean and median ms.
 */
export async function timeInferences(o: {
  root: string;
  variants: string[];
  runs?: number;
  profile?: string;
}): Promise<{ variant: string; mean_ms: number; median_ms: number; fps: number }[]> {
  const out = [];
  for (const variant of o.variants) {
    const c = await openClassifier(variant, {
      exportDir: exportDirOf(o.root, o.profile),
      format: "onnx-fp32",
    });
    const crop = toFloatBatch(new Uint8Array(c.size * c.size * 3).fill(128), [0], c.size);
    for (let i = 0; i < 10; i++) await c.classify(crop, 1);
    const times: number[] = [];
    for (let i = 0; i < (o.runs ?? 100); i++) {
      const t0 = performance.now();
      await c.classify(crop, 1);
      times.push(performance.now() - t0);
    }
    await c.dispose();
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    out.push({
      variant,
      mean_ms: mean,
      median_ms: percentile(times.sort((a, b) => a - b), 50),
      fps: 1000 / mean,
    });
  }
  return out;
}

/** The live runs' per-stage medians and FPS, beside the seed's Jetson Nano FPS of that experiment. */
export function timingTable(runs: LiveDemo[], experiment: SeedExperiment): JupyterDisplayable {
  const stages = ["capture", "detect", "preprocess", "classify", "draw", "total"] as const;
  const head = [
    "variant",
    "format",
    "frames",
    "FPS",
    ...stages.map((s) => `${s} ms`),
    "seed FPS (Jetson Nano)",
  ];
  const rows = runs.map((r) => [
    r.variant,
    r.format,
    String(r.summary.frames),
    r.summary.fps.toFixed(1),
    ...stages.map((s) => r.summary.ms_median[s].toFixed(2)),
    seedFigure(experiment, r.variant)?.fps?.toFixed(1) ?? "—",
  ]);
  return htmlTable(head, rows);
}

/** The N-run classifier timing beside the seed's figures of that experiment (its 100-run mean ms). */
export function inferenceTable(
  times: Awaited<ReturnType<typeof timeInferences>>,
  experiment: SeedExperiment,
): JupyterDisplayable {
  return htmlTable(
    ["variant", "mean ms", "median ms", "classifications / s", "seed ms (Jetson Nano)"],
    times.map((t) => [
      t.variant,
      t.mean_ms.toFixed(3),
      t.median_ms.toFixed(3),
      t.fps.toFixed(0),
      seedFigure(experiment, t.variant)?.latency_ms?.toFixed(2) ?? "—",
    ]),
  );
}

/** Annotated frames inline (PNG data URIs). */
export function framesView(runs: DemoFrames[]): JupyterDisplayable {
  const figures = runs.flatMap((r) => r.frames).map((f) =>
    `<figure style="display:inline-block;margin:4px"><img src="data:image/png;base64,${base64(f.png)}" ` +
    `width="320" alt="${escape(f.caption)}"><figcaption>${escape(f.caption)}</figcaption></figure>`
  );
  return { [Symbol.for("Jupyter.display")]: () => ({ "text/html": figures.join("") || "<p>no frames</p>" }) };
}

function htmlTable(head: string[], rows: string[][]): JupyterDisplayable {
  const html = `<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join("")}</tr>`).join("") +
    "</tbody></table>";
  const text = [head, ...rows].map((r) => r.join(" | ")).join("\n");
  return { [Symbol.for("Jupyter.display")]: () => ({ "text/html": html, "text/plain": text }) };
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One exported U-Net scored and timed: test Dice through onnxruntime, mean ms over N batch-1 runs. */
export interface UnetTiming {
  variant: string;
  format: string;
  dice: number;
  mean_ms: number;
  fps: number;
}

/**
 * The quick pipeline's exported U-Nets (seg_export) on its test split (seg_fetch): each format's
 * test Dice through onnxruntime-node, scored by the task as the export stage does, and the mean of
 * `runs` batch-1 inferences after 10 warm-up runs (the seed's timing).
 */
export async function unetTimings(o: {
  root: string;
  variants: string[];
  formats?: ("onnx-fp32" | "onnx-int8")[];
  runs?: number;
  profile?: string;
}): Promise<UnetTiming[]> {
  const base = join(o.root, "artifacts", o.profile ?? "quick");
  const data = await loadDataset(join(base, "seg_fetch"));
  const exports = JSON.parse(await Deno.readTextFile(join(base, "seg_export", "results.part.json"))).exports;
  const task = taskByName("segmentation");
  const out: UnetTiming[] = [];
  for (const variant of o.variants) {
    for (const format of o.formats ?? ["onnx-fp32", "onnx-int8"]) {
      const e = exports[variant], shapes = { input: e.input as number[] };
      const runner = await onnxRunner(
        join(base, "seg_export", e.formats[format].path),
        e.input[0],
        1,
        "NHWC",
      );
      const scorer = splitScorer(task, data, "test", Infinity, shapes)!;
      const images = splitImages(task, data, "test", scorer.count, shapes)!;
      const dice = scorer.score(await runner.predict(images, scorer.count)).metrics.dice;
      const times = await timeRuns(
        runner,
        images.subarray(0, images.length / scorer.count),
        10,
        o.runs ?? 100,
      );
      await runner.dispose();
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      out.push({ variant, format, dice, mean_ms: mean, fps: 1000 / mean });
    }
  }
  return out;
}

/** The U-Net timings as a table, beside the seed's Dice (its only U-Net speed: about 8.5 FPS on a Pi 4, TFLite). */
export function unetTable(rows: UnetTiming[]): JupyterDisplayable {
  const seed: Record<string, string> = { unet_standard: "0.4719", unet_depthwise: "0.4963" };
  return htmlTable(
    ["variant", "format", "test Dice", "mean ms (batch 1)", "FPS", "seed 000 Dice (its Pi 4: ~8.5 FPS)"],
    rows.map((
      r,
    ) => [
      r.variant,
      r.format,
      r.dice.toFixed(4),
      r.mean_ms.toFixed(2),
      r.fps.toFixed(1),
      seed[r.variant] ?? "—",
    ]),
  );
}

/** A U-Net run live on `source` at 640×480 for `frames` frames, keeping `keep` frames with the mask blended. */
export async function segDemo(o: {
  root: string;
  source: string;
  variant: string;
  frames?: number;
  keep?: number;
  profile?: string;
}): Promise<SegDemo> {
  const frames = o.frames ?? 60;
  const wanted = evenlySpaced(o.keep ?? 2, frames);
  const run = await openSegmentLive({
    source: o.source,
    width: 640,
    height: 480,
    maxFrames: frames,
    model: o.variant,
    format: "onnx-fp32",
    exportDir: join(o.root, "artifacts", o.profile ?? "quick", "seg_export"),
    annotate: true,
  });
  const kept: SegDemo["frames"] = [];
  for (;;) {
    const next = await run.frames.next();
    if (next.done) return { variant: o.variant, summary: next.value.summary, frames: kept };
    const { record, rgb } = next.value;
    if (!wanted.has(record.frame)) continue;
    kept.push({
      frame: record.frame,
      png: await halfSizePng(rgb, 640, 480),
      caption: `#${record.frame} ${o.variant}: mask ${(record.foreground * 100).toFixed(1)} % of the frame`,
    });
  }
}
