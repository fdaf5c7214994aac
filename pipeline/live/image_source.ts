/**
 * Frame sources of still images: one image file, or a folder of them in name order, decoded
 * with sharp to RGB24. In a folder, an image that cannot be decoded is skipped and listed.
 */
import sharp from "sharp";
import { ExpectedError } from "../core/errors.ts";
import {
  type Frame,
  type FrameSource,
  type FrameSourceOptions,
  outputSize,
  type SkippedImage,
} from "./source.ts";

/** File names taken as images (what sharp decodes). */
export const IMAGE_NAME = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif|svg)$/i;

/** An image file as one frame (resized when width/height are asked). */
export async function openImageSource(path: string, o: FrameSourceOptions = {}): Promise<FrameSource> {
  const label = `image "${path}"`;
  const first = await decodeRgb(path, o).catch((e) => {
    throw new ExpectedError(`${label} cannot be decoded: ${reason(e)}`);
  });
  return imagesSource("image", label, first, [], o, []);
}

/**
 * The images of folder `dir` (`IMAGE_NAME`), in name order with numbers compared as numbers
 * (frame2 before frame10), all at the size of the first decodable one unless width/height are asked.
 */
export async function openFolderSource(dir: string, o: FrameSourceOptions = {}): Promise<FrameSource> {
  const label = `folder "${dir}"`;
  const byName = new Intl.Collator("en", { numeric: true }).compare;
  const names = (await Array.fromAsync(Deno.readDir(dir)))
    .filter((e) => (e.isFile || e.isSymlink) && IMAGE_NAME.test(e.name))
    .map((e) => e.name)
    .sort(byName);
  if (names.length === 0) throw new ExpectedError(`${label} has no images (${IMAGE_NAME.source})`);
  const paths = names.map((name) => `${dir.replace(/\/+$/, "")}/${name}`);
  const skipped: SkippedImage[] = [];
  while (paths.length > 0) {
    const path = paths.shift()!;
    try {
      const first = await decodeRgb(path, o);
      return imagesSource("folder", label, first, paths, o, skipped);
    } catch (e) {
      skipped.push({ path, reason: reason(e) });
    }
  }
  throw new ExpectedError(
    `${label}: none of its ${names.length} images could be decoded: ` +
      skipped.map((s) => `${s.path}: ${s.reason}`).join("; "),
  );
}

interface Decoded {
  path: string;
  rgb: Uint8Array;
  width: number;
  height: number;
  ms: number;
}

/** Decode to 8-bit sRGB without alpha, turned upright by its EXIF orientation, resized as asked. */
async function decodeRgb(path: string, asked: FrameSourceOptions): Promise<Decoded> {
  const start = performance.now();
  const image = sharp(path).rotate();
  const meta = await image.metadata();
  const upright = (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : meta;
  const size = outputSize(upright, asked);
  const { data, info } = await image
    .resize(size.width, size.height, { fit: "fill" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, not 3`);
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { path, rgb, width: info.width, height: info.height, ms: performance.now() - start };
}

function imagesSource(
  kind: "image" | "folder",
  label: string,
  first: Decoded,
  rest: string[],
  o: FrameSourceOptions,
  skipped: SkippedImage[],
): FrameSource {
  const size = { width: first.width, height: first.height };
  let closed = false;

  async function* frames(): AsyncGenerator<Frame> {
    let index = 0;
    const wanted = o.maxFrames ?? Infinity;
    if (index < wanted) yield { index: index++, rgb: first.rgb, captureMs: first.ms, path: first.path };
    for (const path of rest) {
      if (closed || index >= wanted) return;
      let image: Decoded;
      try {
        image = await decodeRgb(path, size);
      } catch (e) {
        skipped.push({ path, reason: reason(e) });
        continue;
      }
      yield { index: index++, rgb: image.rgb, captureMs: image.ms, path };
    }
    if (!closed && o.maxFrames !== undefined && index < o.maxFrames) {
      const skips = skipped.length ? ` (${skipped.length} skipped as undecodable)` : "";
      throw new ExpectedError(
        `${label} ended after ${index} frames${skips}, before the ${o.maxFrames} asked (maxFrames)`,
      );
    }
  }

  const iterator = frames();
  const close = () => {
    closed = true;
    return Promise.resolve();
  };
  return {
    kind,
    label,
    ...size,
    skipped,
    [Symbol.asyncIterator]: () => iterator,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
