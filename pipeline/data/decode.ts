/**
 * Decode + resize images to size×size RGB bytes with sharp, cached on disk by content.
 *
 * Resize uses `fit: "fill"` (stretch to size×size, no crop), like the seed's
 * `transforms.Resize((128, 128))`; EXIF orientation is applied and alpha dropped.
 */
import { join } from "node:path";
import sharp, { type Sharp } from "sharp";
import { writeFileAtomic } from "../core/atomic_write.ts";
import { codeHash } from "../core/code_graph.ts";

/** How images are fitted to the square (recorded in dataset.json). */
export const RESIZE_FIT = "fill";

/**
 * Decode `bytes` (any format sharp reads) to size×size×3 uint8, row-major RGB.
 * Throws with a short reason for empty, truncated or non-image input.
 */
export async function decodeImage(bytes: Uint8Array, size: number): Promise<Uint8Array> {
  if (bytes.length === 0) throw new Error("empty file (0 bytes)");
  const { data, info } = await fitToInput(sharp(bytes, { failOn: "warning" }).rotate(), size)
    .toBuffer({ resolveWithObject: true })
    .catch((error: Error) => {
      if (/unsupported image format/i.test(error.message)) {
        throw new Error("not an image (unsupported format)");
      }
      // libvips words cut-off data in many ways ("libpng read error", "Warning treated as error…").
      throw new Error(`truncated or corrupt image data (${error.message})`);
    });
  if (info.channels !== 3 || data.length !== size * size * 3) {
    throw new Error(`unexpected decoded shape ${info.width}×${info.height}×${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** The one resize from any image to a model's size×size RGB input: training data and live crops alike. */
function fitToInput(image: Sharp, size: number): Sharp {
  return image.removeAlpha().toColourspace("srgb").resize(size, size, { fit: RESIZE_FIT }).raw();
}

/**
 * The region `box` ([x, y, w, h], clipped to the frame) of a packed RGB24 frame, resized to
 * size×size×3 uint8 exactly as training images are (`decodeImage`): what live inference feeds a
 * classifier, so serving sees what training saw.
 *
 * @example
 * ```ts
 * import { cropToInput } from "./decode.ts";
 * const frame = new Uint8Array(4 * 4 * 3).fill(200);
 * const crop = await cropToInput(frame, 4, 4, [1, 1, 2, 2], 8);
 * if (crop.length !== 8 * 8 * 3 || crop[0] !== 200) throw new Error(String(crop[0]));
 * ```
 */
export async function cropToInput(
  rgb: Uint8Array,
  width: number,
  height: number,
  box: readonly [number, number, number, number],
  size: number,
): Promise<Uint8Array> {
  const left = Math.max(0, Math.min(width - 1, Math.round(box[0])));
  const top = Math.max(0, Math.min(height - 1, Math.round(box[1])));
  const w = Math.max(1, Math.min(width - left, Math.round(box[2])));
  const h = Math.max(1, Math.min(height - top, Math.round(box[3])));
  const raw = sharp(rgb, { raw: { width, height, channels: 3 } }).extract({ left, top, width: w, height: h });
  const data = await fitToInput(raw, size).toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * On-disk cache of decoded tensors: <cacheDir>/tensors/<fit>-<size>-<code>/<sha[0:2]>/<sha>.u8,
 * `sha` the image file's content hash and `code` 12 hex digits of the hash of this module's
 * import graph (the decoding code and the sharp version), so a change of the decoding never
 * serves tensors decoded the old way. Open one with {@linkcode TensorCache.open}.
 */
export class TensorCache {
  readonly dir: string;
  readonly size: number;

  /** `code`: the decoding code's hash, as {@linkcode TensorCache.open} finds it. */
  constructor(cacheDir: string, size: number, code: string) {
    this.dir = join(cacheDir, "tensors", `${RESIZE_FIT}-${size}-${code.slice(0, 12)}`);
    this.size = size;
  }

  /** The cache for images of side `size` decoded by this module's code. */
  static async open(cacheDir: string, size: number): Promise<TensorCache> {
    return new TensorCache(cacheDir, size, await codeHash(new URL(import.meta.url)));
  }

  #path(sha: string): string {
    return join(this.dir, sha.slice(0, 2), `${sha}.u8`);
  }

  /** The cached tensor for content hash `sha`, or null (missing or wrong length). */
  async get(sha: string): Promise<Uint8Array | null> {
    try {
      const data = await Deno.readFile(this.#path(sha));
      return data.length === this.size * this.size * 3 ? data : null;
    } catch {
      return null;
    }
  }

  async put(sha: string, data: Uint8Array): Promise<void> {
    await Deno.mkdir(join(this.dir, sha.slice(0, 2)), { recursive: true });
    await writeFileAtomic(this.#path(sha), data);
  }
}
