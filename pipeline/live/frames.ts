/**
 * Frames for live inference: `openFrameSource(spec)` opens a video file, a V4L2 camera, the
 * Jetson CSI camera, an image or a folder of images, and yields whole RGB24 frames.
 */
import { ExpectedError } from "../core/errors.ts";
import { lastLines, runTool } from "./child.ts";
import { IMAGE_NAME, openFolderSource, openImageSource } from "./image_source.ts";
import { openPipeSource } from "./pipe_source.ts";
import { checkOptions, type FrameSource, type FrameSourceOptions, outputSize } from "./source.ts";

export type { Frame, FrameSource, FrameSourceOptions, SkippedImage, SourceKind } from "./source.ts";

/** Size and rate of a camera when none are asked. */
export const CAMERA_DEFAULTS = {
  v4l2: { width: 640, height: 480, fps: 30 },
  csi: { width: 1280, height: 720, fps: 30 },
};

/**
 * Open `spec` as a frame source:
 * - `csi` or `csi:N`: the Jetson CSI camera (sensor N) through gst-launch-1.0 and nvarguscamerasrc;
 * - `/dev/videoN`, `/dev/v4l/…` or `v4l2:PATH`: a V4L2 camera through ffmpeg;
 * - a folder: its images in name order; an image file (`IMAGE_NAME`): one frame;
 * - any other file: a video, probed with ffprobe and decoded by ffmpeg.
 *
 * Throws ExpectedError naming the input when it is missing, not a camera, or a tool is missing;
 * iterating throws ExpectedError when the source fails or ends before `maxFrames` or on a partial frame.
 */
export async function openFrameSource(spec: string, o: FrameSourceOptions = {}): Promise<FrameSource> {
  checkOptions(o);
  const csi = spec.match(/^csi(?::(\d+))?$/);
  if (csi) return await openCsiCamera(Number(csi[1] ?? 0), o);
  const device = v4l2DevicePath(spec);
  if (device) return await openV4l2Camera(device, o);
  const info = await Deno.stat(spec).catch((e) => {
    if (e instanceof Deno.errors.NotFound) {
      throw new ExpectedError(
        `input "${spec}" not found: give a video file, an image, a folder of images, /dev/videoN or csi`,
      );
    }
    throw new ExpectedError(`input "${spec}" cannot be read: ${e.message}`);
  });
  if (info.isDirectory) return await openFolderSource(spec, o);
  if (IMAGE_NAME.test(spec)) return await openImageSource(spec, o);
  return await openVideoFile(spec, o);
}

/** The device path of a V4L2 spec (`/dev/videoN`, `/dev/v4l/…`, `v4l2:PATH`), else undefined. */
function v4l2DevicePath(spec: string): string | undefined {
  if (spec.startsWith("v4l2:")) return spec.slice("v4l2:".length);
  if (/^\/dev\/(video\d+$|v4l\/)/.test(spec)) return spec;
}

/** ffmpeg arguments that write the first video stream as RGB24 frames of `width`x`height` to stdout. */
function rawOutputArgs(width: number, height: number, o: FrameSourceOptions): string[] {
  const filters = [...(o.fps ? [`fps=${o.fps}`] : []), `scale=${width}:${height}`];
  return [
    ...["-map", "0:v:0", "-vf", filters.join(",")],
    // Without passthrough, rawvideo output is constant-rate: ffmpeg duplicates or drops frames.
    ...["-vsync", "passthrough"],
    ...(o.maxFrames ? ["-frames:v", String(o.maxFrames)] : []),
    ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
  ];
}

/** A video file: size and rate from ffprobe (turned by its rotation metadata), frames from ffmpeg. */
async function openVideoFile(path: string, o: FrameSourceOptions): Promise<FrameSource> {
  const label = `video "${path}"`;
  const probe = await probeVideo(path, label);
  const { width, height } = outputSize(probe, o);
  return openPipeSource({
    command: "ffmpeg",
    args: ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, ...rawOutputArgs(width, height, o)],
    kind: "video",
    label,
    width,
    height,
    fps: o.fps ?? probe.fps,
    maxFrames: o.maxFrames,
  });
}

/** Width, height (as ffmpeg will output them, after rotation) and rate of the first video stream. */
export async function probeVideo(
  path: string,
  label = `video "${path}"`,
): Promise<{ width: number; height: number; fps?: number }> {
  const entries =
    "stream=width,height,avg_frame_rate,r_frame_rate:stream_side_data=rotation:stream_tags=rotate";
  const run = await runTool("ffprobe", [
    ...["-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "json", path],
  ]);
  if (run.code !== 0) {
    throw new ExpectedError(
      `${label} cannot be read by ffprobe: ${lastLines(run.stderr) || `exit ${run.code}`}`,
    );
  }
  const stream = JSON.parse(run.stdout).streams?.[0];
  if (!stream?.width || !stream?.height) throw new ExpectedError(`${label} has no video stream`);
  const rotation = Number(
    stream.side_data_list?.find((d: { rotation?: number }) => "rotation" in d)?.rotation ??
      stream.tags?.rotate ?? 0,
  );
  const turned = Math.abs(rotation) % 180 === 90;
  return {
    width: turned ? stream.height : stream.width,
    height: turned ? stream.width : stream.height,
    fps: parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate),
  };
}

function parseRate(rate: string | undefined): number | undefined {
  const [num, den] = (rate ?? "").split("/").map(Number);
  const fps = den ? num / den : num;
  return Number.isFinite(fps) && fps > 0 ? fps : undefined;
}

/** A V4L2 camera through ffmpeg, asked for the size and rate (the driver may pick the nearest; ffmpeg scales). */
async function openV4l2Camera(device: string, o: FrameSourceOptions): Promise<FrameSource> {
  const label = `camera ${device}`;
  const info = await Deno.stat(device).catch(async (e) => {
    if (e instanceof Deno.errors.NotFound) {
      const present = (await Array.fromAsync(Deno.readDir("/dev")).catch(() => []))
        .map((d) => d.name).filter((n) => /^video\d+$/.test(n)).sort().map((n) => `/dev/${n}`);
      throw new ExpectedError(
        `${label} not found: no such device (cameras present: ${present.join(", ") || "none"})`,
      );
    }
    throw new ExpectedError(`${label} cannot be opened: ${e.message}`);
  });
  if (!info.isCharDevice) throw new ExpectedError(`${label} is not a camera (not a character device)`);
  const width = o.width ?? CAMERA_DEFAULTS.v4l2.width;
  const height = o.height ?? CAMERA_DEFAULTS.v4l2.height;
  const fps = o.fps ?? CAMERA_DEFAULTS.v4l2.fps;
  const input = ["-f", "v4l2", "-framerate", String(fps), "-video_size", `${width}x${height}`, "-i", device];
  return openPipeSource({
    command: "ffmpeg",
    args: [
      ...["-hide_banner", "-loglevel", "error", "-nostdin", ...input],
      ...rawOutputArgs(width, height, { maxFrames: o.maxFrames }),
    ],
    kind: "v4l2",
    label,
    width,
    height,
    fps,
    maxFrames: o.maxFrames,
    explain: explainV4l2Failure,
  });
}

function explainV4l2Failure(stderr: string): string | undefined {
  if (/VIDIOC_QUERYCAP|Not a video capture device/i.test(stderr)) return "it is not a V4L2 capture device";
  if (/Device or resource busy/i.test(stderr)) return "it is busy (another program has it open)";
  if (/Permission denied/i.test(stderr)) return "permission denied (is the user in the video group?)";
}

/** The arguments of gst-launch-1.0 for the CSI camera, writing RGB frames to stdout. */
export function csiLaunchArgs(
  sensor: number,
  width: number,
  height: number,
  fps: number,
  maxFrames?: number,
): string[] {
  const source = [
    "nvarguscamerasrc",
    `sensor-id=${sensor}`,
    ...(maxFrames ? [`num-buffers=${maxFrames}`] : []),
  ];
  const caps = [
    `video/x-raw(memory:NVMM),width=${width},height=${height},framerate=${fps}/1`,
    "video/x-raw,format=BGRx",
    "video/x-raw,format=RGB",
  ];
  // -q: without it gst-launch-1.0 prints its state changes to stdout, into the frames.
  return ["-q", ...source, "!", caps[0], "!", "nvvidconv", "!", caps[1], "!", "videoconvert", "!", caps[2]]
    .concat(["!", "fdsink", "fd=1"]);
}

/** The Jetson CSI camera (nvarguscamerasrc), checked with gst-inspect-1.0 first. */
async function openCsiCamera(sensor: number, o: FrameSourceOptions): Promise<FrameSource> {
  const label = `CSI camera ${sensor}`;
  const width = o.width ?? CAMERA_DEFAULTS.csi.width;
  const height = o.height ?? CAMERA_DEFAULTS.csi.height;
  const fps = o.fps ?? CAMERA_DEFAULTS.csi.fps;
  if (width % 4 !== 0) {
    // GStreamer pads each RGB row to a multiple of 4 bytes, which would tear the frames.
    throw new ExpectedError(`${label}: width ${width} must be a multiple of 4`);
  }
  if (!Number.isInteger(fps)) throw new ExpectedError(`${label}: fps ${fps} must be an integer`);
  await runTool("gst-launch-1.0", ["--version"]); // a missing gst-launch-1.0 is named before the element
  const inspect = await runTool("gst-inspect-1.0", ["nvarguscamerasrc"]);
  if (inspect.code !== 0) {
    throw new ExpectedError(
      `${label}: the GStreamer element nvarguscamerasrc is missing (it comes with the Jetson's L4T ` +
        `GStreamer plugins, nvidia-l4t-gstreamer): ${lastLines(inspect.stderr + inspect.stdout, 2)}`,
    );
  }
  return openPipeSource({
    command: "gst-launch-1.0",
    args: csiLaunchArgs(sensor, width, height, fps, o.maxFrames),
    kind: "csi",
    label,
    width,
    height,
    fps,
    maxFrames: o.maxFrames,
    stopSignal: "SIGINT",
  });
}
