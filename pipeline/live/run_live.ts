/**
 * Live inference, frame by frame: capture → Haar face detection (every `detectEvery`-th frame,
 * boxes held in between) → each face cropped and resized as training images are → the
 * classifier → boxes and labels drawn (when an output wants pixels). Every stage is timed, so a
 * frame's time is broken down, not just counted.
 */
import { cropToInput } from "../data/decode.ts";
import { toFloatBatch } from "../data/dataset.ts";
import { type ClassifierOptions, type LiveClassifier, openClassifier } from "./classifier.ts";
import { drawFace, drawFps, type Font, loadFont } from "./draw.ts";
import { FrameClock, type StageTimes } from "./frame_clock.ts";
import { type FrameSource, openFrameSource } from "./frames.ts";
import { type Box, createHaarDetector, type DetectOptions, type HaarDetector } from "./haar.ts";

/** Where a frame's milliseconds went. `total`: wall time since the previous frame was done. */
export type FrameTimes = StageTimes<"capture" | "detect" | "preprocess" | "classify" | "draw">;

/** One frame's result, as `--json` prints it. */
export interface FrameRecord {
  frame: number;
  faces: { box: Box; label: string; prob: number }[];
  /** Whether the cascade ran on this frame (else its boxes are the last detection's). */
  detected: boolean;
  ms: FrameTimes;
}

/** The run's last line: frames, FPS and the per-stage medians. */
export interface LiveSummary {
  summary: {
    frames: number;
    seconds: number;
    fps: number;
    ms_median: FrameTimes;
    model: string;
    source: string;
    width: number;
    height: number;
    detect_every: number;
    detect_scale: number;
  };
}

/** What to run live. */
export interface LiveOptions extends DetectOptions, ClassifierOptions {
  source: string;
  model: string;
  cascade: string;
  /** Run the cascade on every k-th frame; the frames between keep its boxes (and are classified again). */
  detectEvery: number;
  maxFrames?: number;
  width?: number;
  height?: number;
  /** Draw boxes, labels and FPS into each frame's pixels (for `--out` and `--serve`). */
  annotate: boolean;
}

/** Frames with their annotated pixels (when `annotate`), then the summary. */
export interface LiveRun {
  source: FrameSource;
  classifier: LiveClassifier;
  frames: AsyncGenerator<{ record: FrameRecord; rgb: Uint8Array }, LiveSummary>;
}

/** Open the source, detector and classifier (each failure names its part), then iterate `frames`. */
export async function openLive(o: LiveOptions): Promise<LiveRun> {
  const detector = await createHaarDetector(o.cascade);
  const classifier = await openClassifier(o.model, o).catch((e) => {
    detector.dispose();
    throw e;
  });
  const source = await openFrameSource(o.source, { maxFrames: o.maxFrames, width: o.width, height: o.height })
    .catch(async (e) => {
      detector.dispose();
      await classifier.dispose();
      throw e;
    });
  const font = o.annotate ? await loadFont(14) : undefined;
  return { source, classifier, frames: loop(o, source, detector, classifier, font) };
}

async function* loop(
  o: LiveOptions,
  source: FrameSource,
  detector: HaarDetector,
  classifier: LiveClassifier,
  font: Font | undefined,
): AsyncGenerator<{ record: FrameRecord; rgb: Uint8Array }, LiveSummary> {
  const { width, height } = source, size = classifier.size;
  const clock = new FrameClock(["capture", "detect", "preprocess", "classify", "draw"] as const);
  let boxes: Box[] = [];
  try {
    for await (const frame of source) {
      const detected = frame.index % o.detectEvery === 0;
      clock.start();
      if (detected) boxes = detector.detect(frame.rgb, width, height, o);
      const detect = clock.lap();
      const crops = await Promise.all(boxes.map((b) => cropToInput(frame.rgb, width, height, b, size)));
      const batch = toFloatBatch(concat(crops), crops.map((_, i) => i), size);
      const preprocess = clock.lap();
      const results = await classifier.classify(batch, crops.length);
      const classify = clock.lap();
      const faces = boxes.map((box, i) => ({ box, ...results[i] }));
      if (font) {
        for (const f of faces) drawFace(frame.rgb, width, height, f.box, f.label, f.prob, font);
        drawFps(frame.rgb, width, height, clock.fps(), font);
      }
      const ms = clock.end({ capture: frame.captureMs, detect, preprocess, classify, draw: clock.lap() });
      yield { record: { frame: frame.index, faces, detected, ms }, rgb: frame.rgb };
    }
  } finally {
    await source.close();
    detector.dispose();
    await classifier.dispose();
  }
  return {
    summary: {
      ...clock.summary(),
      model: classifier.name,
      source: source.label,
      width,
      height,
      detect_every: o.detectEvery,
      detect_scale: o.detectScale,
    },
  };
}

/** A frame's faces as `with_mask 97%, without_mask 88%` (or "no face"). */
export function facesText(faces: FrameRecord["faces"]): string {
  return faces.map((f) => `${f.label} ${(f.prob * 100).toFixed(0)}%`).join(", ") || "no face";
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}
