/**
 * `deno task bench:live [--model teacher_p50] [--profile quick]`: end-to-end FPS of live inference
 * on Megamind.avi (opencv-doc, a face in nearly every frame) scaled to 640×480, per setting
 * (detection scale, detecting every k-th frame), with the per-stage medians; beside it, the
 * median of python3-opencv's native detectMultiScale on the same frames and settings, in the same
 * run.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openLive } from "./run_live.ts";
import { openSegmentLive } from "./segment_live.ts";
import {
  CASCADE,
  decodeVideo,
  missingRequirements,
  pythonMedianMs,
  pythonOpenCvVersion,
  VIDEO,
} from "./opencv_reference.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "teacher_p50" },
    profile: { type: "string", default: "quick" },
    format: { type: "string", default: "fp32" },
  },
});
const missing = await missingRequirements();
if (missing.length) throw new Error(`bench:live needs ${missing.join(", ")}`);
const SETTINGS = [
  { detectScale: 1, detectEvery: 1, annotate: false },
  { detectScale: 0.5, detectEvery: 1, annotate: false },
  { detectScale: 0.5, detectEvery: 3, annotate: false },
  { detectScale: 0.5, detectEvery: 3, annotate: true },
];
const base = { scaleFactor: 1.1, minNeighbors: 5, minSize: 60 };
console.log(
  `live on ${VIDEO} at 640x480, ${values.model} onnx-${values.format}, Haar 1.1/5/60, ${navigator.hardwareConcurrency} CPUs`,
);
console.log(
  "| detect scale | every k | drawn | frames | FPS | capture | detect | preprocess | classify | draw | total (median ms) | native detect ms |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
const frames = await decodeVideo(VIDEO, 1, [640, 480]);
const native = await pythonMedianMs(frames, [1, 0.5].map((detectScale) => ({ ...base, detectScale })), 1, 0);
for (const s of SETTINGS) {
  const run = await openLive({
    ...base,
    ...s,
    source: VIDEO,
    width: 640,
    height: 480,
    model: values.model!,
    format: `onnx-${values.format}` as "onnx-fp32",
    exportDir: join("artifacts", values.profile!, "export"),
    cascade: CASCADE,
  });
  for (;;) {
    const next = await run.frames.next();
    if (!next.done) continue;
    const { frames: n, fps, ms_median: m } = next.value.summary;
    const nat = native.medianMs[s.detectScale === 1 ? 0 : 1];
    const cells = [m.capture, m.detect, m.preprocess, m.classify, m.draw, m.total].map((v) => v.toFixed(2));
    console.log(
      `| ${s.detectScale} | ${s.detectEvery} | ${s.annotate ? "yes" : "no"} | ${n} | ${fps.toFixed(1)} | ${
        cells.join(" | ")
      } | ${nat.toFixed(2)} |`,
    );
    break;
  }
}
console.log(
  `python3-opencv ${await pythonOpenCvVersion()} (${native.threads} threads), same ${frames.count} frames`,
);

// Seed 000's real-time U-Net (about 8.5 FPS on a Raspberry Pi 4): the same frames through the U-Nets.
const segExport = join("artifacts", values.profile!, "seg_export");
console.log(`\nU-Nets of ${segExport} on the same video at 640x480 (${values.format}), median ms:`);
console.log("| U-Net | frames | FPS | capture | preprocess | segment | draw | total |");
console.log("|---|---|---|---|---|---|---|---|");
for (const model of ["unet_standard", "unet_depthwise", "unet_small"]) {
  const run = await openSegmentLive({
    source: VIDEO,
    width: 640,
    height: 480,
    model,
    exportDir: segExport,
    format: `onnx-${values.format}` as "onnx-fp32",
    annotate: true,
  });
  for (;;) {
    const next = await run.frames.next();
    if (!next.done) continue;
    const { frames: n, fps, ms_median: m } = next.value.summary;
    const cells = [m.capture, m.preprocess, m.segment, m.draw, m.total].map((v) => v.toFixed(2));
    console.log(`| ${model} | ${n} | ${fps.toFixed(1)} | ${cells.join(" | ")} |`);
    break;
  }
}
