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
import sharp from "sharp";
import { z } from "zod";
import { ExpectedError } from "../core/errors.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { CASCADE_PATHS } from "../live/infer.ts";
import { type FrameTimes, openLive } from "../live/run_live.ts";

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
  const jobs = p.variants.flatMap((variant) => p.formats.map((format) => ({ variant, format })));
  const bar = ctx.progress("live", jobs.length, "runs");
  const runs: LiveRunRecord[] = [];
  const strip: LivePart["strip"] = [];
  await Deno.mkdir(join(ctx.outDir, "strip"), { recursive: true });
  const keep = new Set(Array.from({ length: p.strip }, (_, i) => Math.floor((i + 0.5) * p.frames / p.strip)));
  for (const [j, { variant, format }] of jobs.entries()) {
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
        runs.push({
          variant,
          format,
          device: "local",
          frames: s.frames,
          faces,
          fps: s.fps,
          ms_median: s.ms_median,
          classifier_fps: 1000 / s.ms_median.classify,
        });
        ctx.log.info(
          `${variant} ${format}: ${s.fps.toFixed(1)} FPS end to end, classifier alone ${
            (1000 / s.ms_median.classify).toFixed(0)
          } /s; median ms ${Object.entries(s.ms_median).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`,
        );
        break;
      }
      const { record, rgb } = next.value;
      faces += record.faces.length;
      if (j === 0 && keep.has(record.frame)) {
        const file = `strip/frame-${String(record.frame).padStart(4, "0")}.png`;
        const png = await sharp(rgb, { raw: { width: p.width, height: p.height, channels: 3 } })
          .resize(Math.round(p.width / 2)).png().toBuffer();
        await writeFileAtomic(join(ctx.outDir, file), new Uint8Array(png));
        const labels = record.faces.map((f) => `${f.label} ${(f.prob * 100).toFixed(0)}%`).join(", ");
        strip.push({
          file,
          frame: record.frame,
          caption: `#${record.frame} ${variant} ${format}: ${labels || "–"}`,
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
