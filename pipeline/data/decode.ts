/**
 * Decode + resize images to size×size RGB bytes with sharp, cached on disk by content.
 *
 * Resize uses `fit: "fill"` (stretch to size×size, no crop), like the seed's
 * `transforms.Resize((128, 128))`; EXIF orientation is applied and alpha dropped.
 */
import { join } from "node:path";
import sharp from "sharp";
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
  const { data, info } = await sharp(bytes, { failOn: "warning" })
    .rotate()
    .removeAlpha()
    .toColourspace("srgb")
    .resize(size, size, { fit: RESIZE_FIT })
    .raw()
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
