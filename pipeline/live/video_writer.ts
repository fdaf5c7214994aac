/**
 * Writes RGB24 frames to a video file through ffmpeg (H.264 when this ffmpeg has libx264, else
 * MPEG-4 part 2), into a temp file beside the target that is renamed over it on `close()`: a run
 * killed midway never leaves a half video at the target path.
 */
import { basename, dirname, extname, join } from "node:path";
import { ExpectedError } from "../core/errors.ts";
import { lastLines, readTail, runTool, spawnTool, stopChild } from "./child.ts";

/** Encoders the writer can use. */
export type VideoCodec = "libx264" | "mpeg4";

/** An open video file being written. */
export interface VideoWriter {
  readonly path: string;
  readonly codec: VideoCodec;
  /** Frames accepted by ffmpeg so far. */
  readonly framesWritten: number;
  /** Send one frame of `width * height * 3` bytes; resolves when ffmpeg has taken it (backpressure). */
  write(rgb: Uint8Array): Promise<void>;
  /** Finish the file and rename it to `path`; throws ExpectedError when ffmpeg failed or nothing was written. */
  close(): Promise<void>;
  /** Stop ffmpeg and delete the temp file; `path` is left as it was. */
  abort(): Promise<void>;
}

/** libx264 when `ffmpeg -encoders` lists it, else mpeg4. */
export async function bestVideoCodec(): Promise<VideoCodec> {
  const run = await runTool("ffmpeg", ["-hide_banner", "-encoders"]);
  return /^\s*V\S*\s+libx264\s/m.test(run.stdout) ? "libx264" : "mpeg4";
}

/**
 * Open `path` (its extension picks the container: .mp4, .mkv, .avi…) for frames of
 * `width`x`height` at `fps`. Odd sizes are padded by one pixel to even, as yuv420p needs.
 */
export async function openVideoWriter(
  path: string,
  width: number,
  height: number,
  fps: number,
  o: { codec?: VideoCodec } = {},
): Promise<VideoWriter> {
  const label = `video "${path}"`;
  if (![width, height].every((v) => Number.isInteger(v) && v > 0) || !(fps > 0)) {
    throw new ExpectedError(`${label}: size ${width}x${height} at ${fps} fps is not positive`);
  }
  if (!extname(path)) {
    throw new ExpectedError(`${label} needs an extension (.mp4, .mkv, .avi) for its container`);
  }
  const codec = o.codec ?? await bestVideoCodec();
  await Deno.mkdir(dirname(path), { recursive: true });
  // The extension stays last: ffmpeg picks the container from it.
  const temp = join(
    dirname(path),
    `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}${extname(path)}`,
  );
  const pad = width % 2 || height % 2 ? ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] : [];
  const encode = codec === "libx264"
    ? ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    : ["-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p"];
  const input = [
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-s",
    `${width}x${height}`,
    "-r",
    String(fps),
    "-i",
    "-",
  ];
  const child = spawnTool("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    ...input,
    ...pad,
    ...encode,
    temp,
  ], "piped");
  const stderr = readTail(child.stderr);
  const stdin = child.stdin.getWriter();
  const frameBytes = width * height * 3;
  let framesWritten = 0;
  let state: "open" | "closed" | "aborted" = "open";

  async function failed(what: string): Promise<ExpectedError> {
    const status = await child.status;
    await Deno.remove(temp).catch(() => {});
    const said = lastLines(await stderr);
    return new ExpectedError(
      `${label}: ${what} (ffmpeg exit code ${status.code}, after ${framesWritten} frames)` +
        (said ? `; ffmpeg said: ${said}` : ""),
    );
  }

  async function abort(): Promise<void> {
    if (state === "aborted") return;
    state = "aborted";
    await stdin.abort().catch(() => {});
    await stopChild(child, "SIGKILL");
    await stderr;
    await Deno.remove(temp).catch(() => {});
  }

  return {
    path,
    codec,
    get framesWritten() {
      return framesWritten;
    },
    async write(rgb) {
      if (state !== "open") throw new Error(`${label} is ${state}`);
      if (rgb.length !== frameBytes) {
        throw new RangeError(
          `${label}: a frame has ${rgb.length} bytes, not ${width}x${height}x3 = ${frameBytes}`,
        );
      }
      try {
        await stdin.ready;
        await stdin.write(rgb);
      } catch {
        state = "aborted";
        throw await failed("ffmpeg stopped taking frames");
      }
      framesWritten++;
    },
    async close() {
      if (state !== "open") throw new Error(`${label} is ${state}`);
      if (framesWritten === 0) {
        await abort();
        throw new ExpectedError(`${label}: no frames were written`);
      }
      state = "closed";
      await stdin.close().catch(() => {});
      if (!(await child.status).success) throw await failed("encoding failed");
      await stderr;
      await Deno.rename(temp, path);
    },
    abort,
  };
}
