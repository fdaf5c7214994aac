/**
 * Stride-1 conv filter gradient without im2col: per image and tap one GEMM (the wasm Conv2D as
 * a 1×1 conv, i.e. XNNPACK) of a shifted alias of a zero-padded, channel-major copy of x with dz
 * laid out on the same padded grid; dz is the weight operand, shared by all taps of an image.
 * Measured faster than im2col + matmul (which writes kh·kw× the input) and than whole-batch
 * GEMMs (XNNPACK streams the full reduction length per output tile: memory-bound when long).
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { alloc, conv2dHeap, free, heap, unview, viewAt } from "./_wasm_ops.ts";

/**
 * Padded grid of n images: x (h×w) sits at (pt, pl) of a hp×wp image; dz (oh×ow) sits at (ay, ax).
 * `guard` spare elements at both ends of each image block absorb the taps' shifts.
 */
export interface PadGrid {
  n: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  pt: number;
  pl: number;
  hp: number;
  wp: number;
  ay: number;
  ax: number;
  /** Pixels in one padded image (hp·wp) and in the grid (n·s). */
  s: number;
  l: number;
  guard: number;
}

/** Grid for a stride-1 conv of n images h×w, kernel kh×kw, paddings [top, bottom, left, right]. */
export function convGrid(
  n: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  [pt, pb, pl, pr]: number[],
  anchor: [number, number] = [0, 0],
): PadGrid {
  const hp = h + pt + pb, wp = w + pl + pr, [ay, ax] = anchor;
  const s = hp * wp;
  const guard = Math.max(ay, kh - 1 - ay) * wp + Math.max(ax, kw - 1 - ax);
  return { n, h, w, kh, kw, pt, pl, hp, wp, ay, ax, s, l: n * s, guard };
}

/** The trainer's grid: 3×3 'same', one pixel of zeros on every side, dz centred like x. */
export function padGrid(n: number, h: number, w: number): PadGrid {
  return convGrid(n, h, w, 3, 3, [1, 1, 1, 1], [1, 1]);
}

/** Grid index of x's pixel (b, y, x); dz's pixel (b, oy, ox) is at `padIndex(p, b, oy + ay - pt, ox + ax - pl)`. */
export function padIndex(p: PadGrid, b: number, y: number, x: number): number {
  return (b * p.hp + y + p.pt) * p.wp + x + p.pl;
}

/** Per-image block length of `padInput`'s layout (channels × padded pixels + guards). */
function blockLen(p: PadGrid, c: number): number {
  return c * p.s + 2 * p.guard;
}

/** Zero-padded channel-major copy of NHWC `x`, per image: element (b, c, P) at b·blockLen + guard + c·s + P. */
export function padInput(xt: TensorInfo, p: PadGrid, c: number): TensorInfo {
  const blk = blockLen(p, c);
  const out = alloc([p.n * blk]);
  const ov = heap(out), x = heap(xt);
  ov.fill(0);
  for (let b = 0; b < p.n; b++) {
    for (let y = 0; y < p.h; y++) {
      for (let xx = 0; xx < p.w; xx++) {
        const src = ((b * p.h + y) * p.w + xx) * c, d = b * blk + p.guard + padIndex(p, b, y, xx) - b * p.s;
        for (let ch = 0; ch < c; ch++) ov[d + ch * p.s] = x[src + ch];
      }
    }
  }
  return out;
}

const NO_PAD = [[0, 0], [0, 0], [0, 0], [0, 0]];

/** dW[ky,kx,ci,co] from `padInput(x)` and dz as [l][co] on the grid (zero off the output pixels). */
export function filterGradS1(
  xPad: TensorInfo,
  dz: TensorInfo,
  p: PadGrid,
  ci: number,
  co: number,
): Float32Array {
  const taps = p.kh * p.kw;
  const acc = new Float32Array(taps * ci * co);
  const blk = blockLen(p, ci);
  for (let b = 0; b < p.n; b++) {
    const dzb = viewAt(dz, b * p.s * co, [1, 1, p.s, co]); // one XNNPACK weight packing per image
    for (let t = 0; t < taps; t++) {
      // Row c of the alias starts at guard + c·s + shift; spill-over into row c+1 meets dz = 0.
      const shift = p.guard + (Math.floor(t / p.kw) - p.ay) * p.wp + (t % p.kw) - p.ax;
      const a = viewAt(xPad, b * blk + shift, [1, ci, 1, p.s]);
      const r = conv2dHeap(a, dzb, NO_PAD);
      const rv = heap(r), base = t * ci * co;
      for (let i = 0; i < ci * co; i++) acc[base + i] += rv[i];
      unview(a);
      free(r);
    }
    unview(dzb);
  }
  return acc;
}
