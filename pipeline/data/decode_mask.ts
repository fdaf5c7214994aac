/**
 * Decode segmentation masks with sharp: pixel values mapped to class indices through a declared
 * table, checked against their image's size, then resized by nearest neighbour (a class index is
 * never blended). Images themselves go through decode.ts, as the classifier's.
 */
import sharp from "sharp";
import { RESIZE_FIT } from "./decode.ts";

/** How masks are resized (recorded in dataset.json). */
export const MASK_KERNEL = "nearest";

/**
 * A lookup from pixel value (0–255) to class index, -1 for a value no class lists.
 * `values[c]` are the pixel values of class c.
 *
 * @example
 * ```ts
 * import { maskLookup } from "./decode_mask.ts";
 * const lut = maskLookup([[0], [1, 255]]);
 * if (lut[255] !== 1 || lut[0] !== 0 || lut[7] !== -1) throw new Error();
 * ```
 */
export function maskLookup(values: number[][]): Int16Array {
  const lut = new Int16Array(256).fill(-1);
  values.forEach((vs, c) => vs.forEach((v) => (lut[v] = c)));
  return lut;
}

/** Width and height of an image as displayed (EXIF orientation applied, as decode.ts decodes it). */
export async function imageSize(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  const m = await sharp(bytes).metadata();
  return { width: m.autoOrient?.width ?? m.width, height: m.autoOrient?.height ?? m.height };
}

/** Options of {@link decodeMask}. */
export interface DecodeMaskOptions {
  /** Side of the square output. */
  size: number;
  /** From {@link maskLookup}. */
  lookup: Int16Array;
  /** The image's size: a mask of another size is refused. */
  image: { width: number; height: number };
  /** What the table is called in messages. @default "mask_values" */
  table?: string;
}

/**
 * Decode a mask (a grey or single-channel image, any format sharp reads) to size×size class
 * indices. Throws with a short reason for empty, corrupt, colour or wrongly sized masks and for a
 * pixel value the table does not list.
 *
 * @example
 * ```ts
 * import sharp from "sharp";
 * import { decodeMask, maskLookup } from "./decode_mask.ts";
 * const px = new Uint8Array([0, 255, 255, 0]);
 * const png = await sharp(px, { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
 * const mask = await decodeMask(png, { size: 4, lookup: maskLookup([[0], [255]]), image: { width: 2, height: 2 } });
 * if (mask.join("") !== "0011001111001100") throw new Error(mask.join(""));
 * ```
 */
export async function decodeMask(bytes: Uint8Array, opts: DecodeMaskOptions): Promise<Uint8Array> {
  const { size, lookup, image, table = "mask_values" } = opts;
  if (bytes.length === 0) throw new Error("empty file (0 bytes)");
  const { data, info } = await sharp(bytes, { failOn: "warning" }).rotate().removeAlpha().raw()
    .toBuffer({ resolveWithObject: true })
    .catch((error: Error) => {
      if (/unsupported image format/i.test(error.message)) {
        throw new Error("not an image (unsupported format)");
      }
      throw new Error(`truncated or corrupt image data (${error.message.split("\n")[0]})`);
    });
  const { width, height, channels } = info;
  if (width !== image.width || height !== image.height) {
    throw new Error(`${width}×${height} but its image is ${image.width}×${image.height}`);
  }
  const n = width * height, indices = new Uint8Array(n);
  const bad = new Map<number, number>(); // value → pixels
  for (let i = 0; i < n; i++) {
    const v = data[i * channels];
    for (let k = 1; k < channels; k++) {
      if (data[i * channels + k] !== v) {
        const px = [...data.subarray(i * channels, (i + 1) * channels)].join(",");
        throw new Error(
          `a colour mask (pixel ${i % width},${
            Math.floor(i / width)
          } is ${px}); expected one grey value per pixel`,
        );
      }
    }
    const c = lookup[v];
    if (c < 0) bad.set(v, (bad.get(v) ?? 0) + 1);
    else indices[i] = c;
  }
  if (bad.size > 0) {
    const values = [...bad.keys()].sort((a, b) => a - b);
    const where = values.slice(0, 5).map((v) => `${v} (${bad.get(v)} px)`).join(", ");
    throw new Error(
      `${values.length === 1 ? `value ${values[0]} is` : `values ${values.join(", ")} are`} not in ${table}` +
        ` (${where}${values.length > 5 ? ", …" : ""})`,
    );
  }
  if (width === size && height === size) return indices;
  const out = await sharp(indices, { raw: { width, height, channels: 1 } })
    .resize(size, size, { fit: RESIZE_FIT, kernel: MASK_KERNEL })
    .extractChannel(0)
    .raw()
    .toBuffer();
  if (out.length !== size * size) throw new Error(`unexpected resized mask of ${out.length} bytes`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
