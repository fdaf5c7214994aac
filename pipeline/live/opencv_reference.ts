/**
 * What the Haar parity test and bench:live share: the Debian data they run on, decoding it to packed RGB24
 * (sharp for photos, ffmpeg for video), and the python3-opencv reference (haar_ref.py) fed the same bytes.
 *
 * @module
 */
import sharp from "sharp";
import type { Box, DetectOptions } from "./haar.ts";

/** The frontal-face cascade shipped by Debian's opencv-data. */
export const CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
/** Debian's python with python3-opencv (the `python3` on PATH may lack cv2). */
export const PYTHON = "/usr/bin/python3";

const DOC = "/usr/share/doc/opencv-doc";
/** Real photographs with faces, from opencv-doc. */
export const PHOTOS: readonly string[] = [
  `${DOC}/examples/data/messi5.jpg`,
  `${DOC}/opencv4/html/227943776_1.jpg`,
  `${DOC}/opencv4/html/230501201_1.jpg`,
  `${DOC}/opencv4/html/example.jpg`,
  `${DOC}/opencv4/html/julia_facedetect_sample.jpg`,
];
/** A film trailer with faces in nearly every frame, from opencv-doc. */
export const VIDEO = `${DOC}/examples/data/Megamind.avi`;

/** Packed RGB24 frames of one size, back to back. */
export interface Frames {
  width: number;
  height: number;
  count: number;
  rgb: Uint8Array;
}

/** The `index`-th frame of `frames`, as a view. */
export function frameAt(frames: Frames, index: number): Uint8Array {
  const size = frames.width * frames.height * 3;
  return frames.rgb.subarray(index * size, (index + 1) * size);
}

/** Decodes a photo to packed RGB24 (no EXIF rotation, alpha dropped). */
export async function decodePhoto(path: string): Promise<Frames> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace("srgb").raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, count: 1, rgb: new Uint8Array(data) };
}

/** Decodes every `every`-th frame of a video with ffmpeg, optionally resized (bilinear) to `size`. */
export async function decodeVideo(path: string, every: number, size?: [number, number]): Promise<Frames> {
  const [width, height] = size ?? await videoSize(path);
  const filters = [`select=not(mod(n\\,${every}))`, `scale=${width}:${height}:flags=bilinear`];
  const args = ["-v", "error", "-i", path, "-vf", filters.join(","), "-fps_mode", "passthrough"];
  const rgb = await run("ffmpeg", [...args, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
  return { width, height, count: rgb.length / (width * height * 3), rgb };
}

async function videoSize(path: string): Promise<[number, number]> {
  const args = [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=width,height",
    "-of",
    "csv=p=0",
  ];
  const [width, height] = new TextDecoder().decode(await run("ffprobe", [...args, path])).trim().split(",");
  return [Number(width), Number(height)];
}

/** Boxes python3-opencv finds in each frame, per setting: result[setting][frame]. */
export async function pythonBoxes(frames: Frames, settings: DetectOptions[]): Promise<Box[][][]> {
  return (await runReference({ mode: "detect", settings }, frames)).boxes as Box[][][];
}

/** python3-opencv's median ms per detect, per setting, with `threads` threads (0: OpenCV's default). */
export async function pythonMedianMs(
  frames: Frames,
  settings: DetectOptions[],
  rounds: number,
  threads: number,
): Promise<{ medianMs: number[]; threads: number }> {
  const answer = await runReference({ mode: "bench", settings, rounds, threads }, frames);
  return { medianMs: answer.medianMs as number[], threads: answer.threads as number };
}

/** The OpenCV version of python3-opencv. */
export async function pythonOpenCvVersion(): Promise<string> {
  const out = await run(PYTHON, ["-c", "import cv2; print(cv2.__version__)"]);
  return new TextDecoder().decode(out).trim();
}

async function runReference(job: Record<string, unknown>, frames: Frames): Promise<Record<string, unknown>> {
  const framesPath = await Deno.makeTempFile({ suffix: ".rgb" });
  try {
    await Deno.writeFile(framesPath, frames.rgb);
    const fullJob = {
      ...job,
      cascade: CASCADE,
      frames: framesPath,
      width: frames.width,
      height: frames.height,
    };
    const script = new URL("./haar_ref.py", import.meta.url).pathname;
    const out = await run(PYTHON, [script], new TextEncoder().encode(JSON.stringify(fullJob)));
    return JSON.parse(new TextDecoder().decode(out));
  } finally {
    await Deno.remove(framesPath);
  }
}

async function run(command: string, args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) await writeAndClose(child.stdin, stdin);
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${code}: ${new TextDecoder().decode(stderr)}`);
  }
  return stdout;
}

async function writeAndClose(stream: WritableStream<Uint8Array>, bytes: Uint8Array): Promise<void> {
  const writer = stream.getWriter();
  await writer.write(bytes);
  await writer.close();
}

/** What the parity test and the bench need but this machine lacks; empty when all is there. */
export async function missingRequirements(): Promise<string[]> {
  const missing: string[] = [];
  if (!await succeeds(PYTHON, ["-c", "import cv2, numpy"])) {
    missing.push(`${PYTHON} with cv2 (python3-opencv)`);
  }
  if (!await succeeds("ffmpeg", ["-version"])) missing.push("ffmpeg");
  for (const path of [CASCADE, VIDEO, ...PHOTOS]) {
    if (!await exists(path)) missing.push(path);
  }
  return missing;
}

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
