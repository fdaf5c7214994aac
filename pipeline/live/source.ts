/**
 * What every frame source gives: its size, its kind, and whole RGB24 frames in order.
 */
import { ExpectedError } from "../core/errors.ts";

/** Where frames come from. */
export type SourceKind = "video" | "v4l2" | "csi" | "image" | "folder";

/** One whole frame: `rgb` is `width * height * 3` bytes, rows top to bottom, no padding. */
export interface Frame {
  /** 0, 1, 2… in the order the source gave them. */
  index: number;
  rgb: Uint8Array;
  /** Wall milliseconds spent waiting for this frame after the previous one was taken. */
  captureMs: number;
  /** The image file it came from (image and folder sources only). */
  path?: string;
}

/** An image of a folder that could not be decoded, and why. */
export interface SkippedImage {
  path: string;
  reason: string;
}

/** Frames from a video, a camera or images; iterate once, then (or instead) `close()`. */
export interface FrameSource extends AsyncIterable<Frame> {
  readonly kind: SourceKind;
  readonly width: number;
  readonly height: number;
  /** Frames per second, when the source has a rate (videos, cameras). */
  readonly fps?: number;
  /** Names the source in messages, e.g. `video "a.mp4"` or `camera /dev/video0`. */
  readonly label: string;
  /** Folder sources: the images skipped so far as corrupt or unreadable. */
  readonly skipped: readonly SkippedImage[];
  /** Stop the source: kill its child process (if any) and wait for it to exit. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of `openFrameSource`: the wanted frame size and rate, and a frame budget. */
export interface FrameSourceOptions {
  /** Output width; with only one of width/height the other keeps the aspect ratio. */
  width?: number;
  height?: number;
  /** Cameras: the rate asked of the device; videos: resample to this rate. */
  fps?: number;
  /** Stop after this many frames; a source that ends before them is an error. */
  maxFrames?: number;
}

/** Throw an ExpectedError naming the option when one is not a positive number (integer where it must be). */
export function checkOptions(o: FrameSourceOptions): void {
  for (const key of ["width", "height", "maxFrames"] as const) {
    const v = o[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
      throw new ExpectedError(`option ${key} must be a positive integer, not ${v}`);
    }
  }
  if (o.fps !== undefined && !(Number.isFinite(o.fps) && o.fps > 0)) {
    throw new ExpectedError(`option fps must be a positive number, not ${o.fps}`);
  }
}

/**
 * The output size: both asked dimensions, or one asked and the other scaled to keep the aspect
 * ratio, or the source's own size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outputSize } from "./source.ts";
 * assert.deepEqual(outputSize({ width: 720, height: 528 }, { width: 360 }), { width: 360, height: 264 });
 * ```
 */
export function outputSize(
  source: { width: number; height: number },
  asked: FrameSourceOptions,
): { width: number; height: number } {
  const { width, height } = asked;
  if (width && height) return { width, height };
  if (width) return { width, height: Math.max(1, Math.round(source.height * width / source.width)) };
  if (height) return { width: Math.max(1, Math.round(source.width * height / source.height)), height };
  return { width: source.width, height: source.height };
}
