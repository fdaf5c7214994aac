/**
 * Square-image resizing in plain TypeScript, so that a model trained at a lower resolution is fed
 * and scored the same way in every stage: bilinear with half-pixel centres (as tf.image's
 * `halfPixelCenters` and ONNX Resize's `half_pixel`) for images and probabilities, nearest for
 * masks (a class index must not be blended).
 */

/**
 * Resize `n` square `from`×`from` images of `channels` channels (NHWC, flat) to `to`×`to`,
 * bilinear with half-pixel centres. Integer sources are rounded back into a Uint8Array.
 *
 * @example
 * ```ts
 * import { resizeBilinear } from "./resize.ts";
 * // A 2×2 image halves to the mean of its pixels; a 1×1 doubles to four copies.
 * const half = resizeBilinear(new Float32Array([0, 1, 2, 3]), 1, 2, 1, 1);
 * if (half[0] !== 1.5) throw new Error(String(half[0]));
 * if (resizeBilinear(new Uint8Array([7]), 1, 1, 2, 1).join() !== "7,7,7,7") throw new Error();
 * ```
 */
export function resizeBilinear<T extends Uint8Array | Float32Array>(
  src: T,
  n: number,
  from: number,
  to: number,
  channels: number,
): T {
  const out =
    (src instanceof Uint8Array
      ? new Uint8Array(n * to * to * channels)
      : new Float32Array(n * to * to * channels)) as T;
  const round = src instanceof Uint8Array;
  const taps = axisTaps(from, to);
  for (let b = 0; b < n; b++) {
    const base = b * from * from * channels, outBase = b * to * to * channels;
    for (let y = 0; y < to; y++) {
      const [y0, y1, wy] = [taps.lo[y], taps.hi[y], taps.w[y]];
      for (let x = 0; x < to; x++) {
        const [x0, x1, wx] = [taps.lo[x], taps.hi[x], taps.w[x]];
        for (let c = 0; c < channels; c++) {
          const at = (yy: number, xx: number) => src[base + (yy * from + xx) * channels + c];
          const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
          const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
          const v = top * (1 - wy) + bottom * wy;
          out[outBase + (y * to + x) * channels + c] = round ? Math.round(v) : v;
        }
      }
    }
  }
  return out;
}

/**
 * Resize `n` square single-channel masks to `to`×`to` by nearest neighbour (the source pixel whose
 * centre is nearest, as sharp's and tfjs's nearest with half-pixel centres).
 *
 * @example
 * ```ts
 * import { resizeNearest } from "./resize.ts";
 * if (resizeNearest(new Uint8Array([0, 1, 1, 0]), 1, 2, 4).join("") !== "0011001111001100") throw new Error();
 * ```
 */
export function resizeNearest(masks: Uint8Array, n: number, from: number, to: number): Uint8Array {
  const out = new Uint8Array(n * to * to);
  const pick = Int32Array.from(
    { length: to },
    (_, i) => Math.min(from - 1, Math.floor((i + 0.5) * from / to)),
  );
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < to; y++) {
      for (let x = 0; x < to; x++) {
        out[b * to * to + y * to + x] = masks[b * from * from + pick[y] * from + pick[x]];
      }
    }
  }
  return out;
}

/** Per output index along one axis: the two source indices and the weight of the second. */
function axisTaps(from: number, to: number) {
  const lo = new Int32Array(to), hi = new Int32Array(to), w = new Float64Array(to);
  for (let i = 0; i < to; i++) {
    const s = Math.max(0, (i + 0.5) * from / to - 0.5);
    lo[i] = Math.min(from - 1, Math.floor(s));
    hi[i] = Math.min(from - 1, lo[i] + 1);
    w[i] = s - lo[i];
  }
  return { lo, hi, w };
}
