/**
 * Stage "live": the seed's live inference, measured. Each chosen variant × format runs the live
 * loop of `deno task infer` (Haar faces → crops → classifier → boxes drawn) on a real video at a
 * camera's size, and the stage records the end-to-end FPS, the median milliseconds of every
 * frame stage (capture, detect, preprocess, classify, draw) and the classifier-only rate (1000 /
 * median classify ms: the figure a classifier benchmark alone would give), plus a strip of
 * annotated frames (`strip/*.png`) for the report.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ExpectedError } from "../core/errors.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { CASCADE_PATHS } from "../live/infer.ts";
import { facesText, type FrameTimes, openLive } from "../live/run_live.ts";
import { evenlySpaced, halfSizePng } from "../live/draw.ts";
import { type DeviceConfig, deviceSchema } from "../bench/devices.ts";
import { modelPath } from "../live/classifier.ts";
import { inferOnDevice } from "../live/remote_infer.ts";

export const paramsSchema = z.strictObject({
  /** The video (any ffmpeg reads); the default is Debian opencv-doc's, a face in nearly every frame. */
  video: z.string().min(1).default("/usr/share/doc/opencv-doc/examples/data/Megamind.avi"),
  /** Frame size the video is scaled to (a webcam's 640×480 by default). */
  width: z.int().min(16).default(640),
  height: z.int().min(16).default(480),
  /** Frames per run (the video must have as many). */
  frames: z.int().min(1).default(120),
  /** Variants of the export stage to run, and their formats. */
  variants: z.array(z.string().min(1)).min(1).default(["teacher", "teacher_p50", "small_kd"]),
  formats: z.array(z.enum(["onnx-fp32", "onnx-int8"])).min(1).default(["onnx-fp32", "onnx-int8"]),
  /** Haar settings (detectMultiScale's) and the detection scale / interval, as `deno task infer`. */
  scale_factor: z.number().gt(1).default(1.1),
  min_neighbors: z.int().min(0).default(5),
  min_size: z.int().min(1).default(60),
  detect_scale: z.number().gt(0).max(1).default(0.5),
  detect_every: z.int().min(1).default(1),
  /** The cascade file (default: the first of Debian's / JetPack's usual paths that exists). */
  cascade: z.string().min(1).optional(),
  /** Annotated frames kept for the report's strip (evenly spaced, from the first run). */
  strip: z.int().min(0).max(12).default(4),
  /**
   * Boards that run the same loop over SSH on the same video (sent along), as the bench stage's
   * devices (`runtime: deno`; see `deno task infer --device`). A failing board fails the stage.
   */
  devices: z.array(deviceSchema).default([]),
  /** Also run on this machine (false: the devices only). */
  local: z.boolean().default(true),
});

export type LiveParams = z.infer<typeof paramsSchema>;

/** One variant × format measured live. */
export interface LiveRunRecord {
  variant: string;
  format: string;
  device: string;
  frames: number;
  faces: number;
  fps: number;
  ms_median: FrameTimes;
  /** 1000 / median classify ms. */
  classifier_fps: number;
}

/** The stage's results.part.json (under the classification track's `extra.live`). */
export interface LivePart {
  task: "classification";
  video: string;
  width: number;
  height: number;
  settings: Record<string, number>;
  runs: LiveRunRecord[];
  strip: { file: string; frame: number; caption: string }[];
}

/** Run every variant × format live on the video. */
export async function run(ctx: StageContext<LiveParams>): Promise<StageResult> {
  const p = ctx.params, exportDir = ctx.depDirs.export;
  if (!exportDir) throw new ExpectedError(`live: stage "export" must be a dep of "${ctx.name}" (deps)`);
  if (!existsSync(p.video)) {
    throw new ExpectedError(
      `live: the video "${p.video}" (param video) does not exist: apt-get install opencv-doc, or set ` +
        `${ctx.name}.params.video to a video with faces`,
    );
  }
  const cascade = p.cascade ?? CASCADE_PATHS.find((c) => existsSync(c)) ?? CASCADE_PATHS[0];
  const settings = {
    scaleFactor: p.scale_factor,
    minNeighbors: p.min_neighbors,
    minSize: p.min_size,
    detectScale: p.detect_scale,
    detectEvery: p.detect_every,
  };
  const pairs = p.variants.flatMap((variant) => p.formats.map((format) => ({ variant, format })));
  const jobs = [
    ...(p.local ? pairs.map((j) => ({ ...j, device: "local" })) : []),
    ...p.devices.flatMap((d) => pairs.map((j) => ({ ...j, device: d.name }))),
  ];
  const bar = ctx.progress("live", jobs.length, "runs");
  const runs: LiveRunRecord[] = [];
  const strip: LivePart["strip"] = [];
  await Deno.mkdir(join(ctx.outDir, "strip"), { recursive: true });
  const keep = evenlySpaced(p.strip, p.frames);
  for (const [j, { variant, format, device }] of jobs.entries()) {
    if (device !== "local") {
      runs.push(
        await onDevice(p.devices.find((d) => d.name === device)!, variant, format, exportDir, cascade, p),
      );
      ctx.log.info(runLine(runs.at(-1)!));
      bar.tick(1, { run: `${device}: ${variant} ${format}` });
      continue;
    }
    const live = await openLive({
      ...settings,
      source: p.video,
      width: p.width,
      height: p.height,
      maxFrames: p.frames,
      model: variant,
      format,
      exportDir,
      cascade,
      annotate: true,
    });
    let faces = 0;
    for (;;) {
      const next = await live.frames.next();
      if (next.done) {
        const s = next.value.summary;
        runs.push(runRecord(variant, format, "local", faces, s));
        ctx.log.info(runLine(runs.at(-1)!));
        break;
      }
      const { record, rgb } = next.value;
      faces += record.faces.length;
      if (j === 0 && keep.has(record.frame)) {
        const file = `strip/frame-${String(record.frame).padStart(4, "0")}.png`;
        await writeFileAtomic(join(ctx.outDir, file), await halfSizePng(rgb, p.width, p.height));
        const labels = facesText(record.faces);
        strip.push({
          file,
          frame: record.frame,
          caption: `#${record.frame} ${variant} ${format}: ${labels}`,
        });
      }
    }
    bar.tick(1, { run: `${variant} ${format}` });
  }
  bar.done();
  const part: LivePart = {
    task: "classification",
    video: p.video,
    width: p.width,
    height: p.height,
    settings: { ...settings, frames: p.frames },
    runs,
    strip,
  };
  await writeFileAtomic(join(ctx.outDir, "results.part.json"), JSON.stringify(part, null, 1));
  const best = runs.reduce((a, b) => (b.fps > a.fps ? b : a));
  return {
    summary: { runs: runs.length, fastest: `${best.variant} ${best.format} ${best.fps.toFixed(1)} FPS` },
  };
}

function runRecord(
  variant: string,
  format: string,
  device: string,
  faces: number,
  s: { frames: number; fps: number; ms_median: FrameTimes },
): LiveRunRecord {
  return {
    variant,
    format,
    device,
    frames: s.frames,
    faces,
    fps: s.fps,
    ms_median: s.ms_median,
    classifier_fps: 1000 / s.ms_median.classify,
  };
}

function runLine(r: LiveRunRecord): string {
  const on = r.device === "local" ? "" : `${r.device}: `;
  const ms = Object.entries(r.ms_median).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
  return `${on}${r.variant} ${r.format}: ${r.fps.toFixed(1)} FPS end to end, classifier alone ` +
    `${r.classifier_fps.toFixed(0)} /s; median ms ${ms}`;
}

/** One variant × format on a board: the same flags through `infer --device`, the video sent along. */
async function onDevice(
  device: DeviceConfig,
  variant: string,
  format: "onnx-fp32" | "onnx-int8",
  exportDir: string,
  cascade: string,
  p: LiveParams,
): Promise<LiveRunRecord> {
  let faces = 0, summary: { frames: number; fps: number; ms_median: FrameTimes } | undefined;
  const args = [
    ...[
      "--json",
      "--draw",
      "--frames",
      String(p.frames),
      "--width",
      String(p.width),
      "--height",
      String(p.height),
    ],
    ...["--format", format.slice("onnx-".length), "--detect-scale", String(p.detect_scale)],
    ...["--detect-every", String(p.detect_every), "--scale-factor", String(p.scale_factor)],
    ...["--min-neighbors", String(p.min_neighbors), "--min-size", String(p.min_size)],
  ];
  await inferOnDevice({
    device,
    args,
    model: await modelPath(variant, { exportDir, format }),
    cascade,
    video: p.video,
    print: (line) => {
      const r = JSON.parse(line);
      if (r.summary) summary = r.summary;
      else faces += r.faces.length;
    },
    log: () => {},
  });
  if (!summary) {
    throw new ExpectedError(`live: device "${device.name}" printed no summary for ${variant} ${format}`);
  }
  return runRecord(variant, format, device.name, faces, summary);
}
