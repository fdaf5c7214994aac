/**
 * Live segmentation (seed 000's real-time U-Net): each frame resized as training images are, an
 * exported U-Net in onnxruntime, and its mask blended onto the frame. Timed per stage like the
 * face loop: capture, preprocess, segment, draw.
 */
import { ExpectedError } from "../core/errors.ts";
import { toFloatBatch } from "../data/dataset.ts";
import { cropToInput } from "../data/decode.ts";
import { createSession, ort, toNchw } from "../export/ort.ts";
import { drawFps, loadFont } from "./draw.ts";
import { FrameClock, type StageTimes } from "./frame_clock.ts";
import { modelPath, readExported } from "./classifier.ts";
import { type FrameSource, openFrameSource } from "./frames.ts";

/** Where a segmented frame's milliseconds went. */
export type SegFrameTimes = StageTimes<"capture" | "preprocess" | "segment" | "draw">;

/** One frame, as `--json` prints it: the share of the frame the mask covers. */
export interface SegFrameRecord {
  frame: number;
  foreground: number;
  ms: SegFrameTimes;
}

/** The run's last line. */
export interface SegSummary {
  summary: {
    frames: number;
    seconds: number;
    fps: number;
    ms_median: SegFrameTimes;
    model: string;
    source: string;
    width: number;
    height: number;
  };
}

/** What to segment live. */
export interface SegLiveOptions {
  source: string;
  /** A U-Net variant of `exportDir` (the seg_export stage) or a path to its .onnx file. */
  model: string;
  exportDir: string;
  format: "onnx-fp32" | "onnx-int8" | "onnx-fp16";
  maxFrames?: number;
  width?: number;
  height?: number;
  threads?: number;
  annotate: boolean;
}

/** Open the U-Net and the source; `frames` yields records (and annotated pixels), then the summary. */
export async function openSegmentLive(o: SegLiveOptions) {
  const path = await modelPath(o.model, o);
  const { bytes, meta, size, layout } = await readExported(path);
  if (meta.task !== "segmentation" || !size) {
    throw new ExpectedError(
      `model "${path}" is not a U-Net exported by edgeslim (metadata task "${meta.task}")`,
    );
  }
  const session = await createSession(bytes, { threads: o.threads ?? 1 });
  const source = await openFrameSource(o.source, { maxFrames: o.maxFrames, width: o.width, height: o.height })
    .catch(async (e) => {
      await session.release();
      throw e;
    });
  const name = o.model.endsWith(".onnx") ? path.split("/").pop()! : o.model;
  return { source, frames: loop(o, source, session, size, layout, name) };
}

async function* loop(
  o: SegLiveOptions,
  source: FrameSource,
  session: Awaited<ReturnType<typeof createSession>>,
  size: number,
  layout: "NHWC" | "NCHW",
  model: string,
): AsyncGenerator<{ record: SegFrameRecord; rgb: Uint8Array }, SegSummary> {
  const { width, height } = source;
  const font = o.annotate ? await loadFont(14) : undefined;
  const clock = new FrameClock(["capture", "preprocess", "segment", "draw"] as const);
  try {
    for await (const frame of source) {
      clock.start();
      const pixels = await cropToInput(frame.rgb, width, height, [0, 0, width, height], size);
      const x = toFloatBatch(pixels, [0], size);
      const preprocess = clock.lap();
      const input = layout === "NHWC" ? x : toNchw(x, 1, size, size, 3);
      const dims = layout === "NHWC" ? [1, size, size, 3] : [1, 3, size, size];
      const out = await session.run({ input: new ort.Tensor("float32", input, dims) });
      const probs = out[session.outputNames[0]].data as Float32Array;
      const segment = clock.lap();
      let covered = 0;
      for (let y = 0; y < height; y++) {
        const row = Math.min(size - 1, Math.floor((y + 0.5) * size / height)) * size;
        for (let px = 0; px < width; px++) {
          if (probs[row + Math.min(size - 1, Math.floor((px + 0.5) * size / width))] < 0.5) continue;
          covered++;
          if (!font) continue;
          const at = (y * width + px) * 3; // blend the mask in cyan, half opacity
          frame.rgb[at] = frame.rgb[at] >> 1;
          frame.rgb[at + 1] = (frame.rgb[at + 1] + 255) >> 1;
          frame.rgb[at + 2] = (frame.rgb[at + 2] + 255) >> 1;
        }
      }
      for (const t of Object.values(out)) t.dispose();
      if (font) drawFps(frame.rgb, width, height, clock.fps(), font);
      const ms = clock.end({ capture: frame.captureMs, preprocess, segment, draw: clock.lap() });
      yield { record: { frame: frame.index, foreground: covered / (width * height), ms }, rgb: frame.rgb };
    }
  } finally {
    await source.close();
    await session.release();
  }
  return {
    summary: {
      ...clock.summary(),
      model,
      source: source.label,
      width,
      height,
    },
  };
}
