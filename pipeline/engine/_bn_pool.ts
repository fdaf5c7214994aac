/**
 * Fused training-mode BatchNorm → ReLU → 2×2 max-pool, forward and backward, as plain loops over
 * NHWC views of the wasm heap (memory-bound work). Loops are branch-free where the branch would
 * depend on data: mispredictions cost more than the arithmetic.
 */
import { type PadGrid, padIndex } from "./_filter_grad.ts";

/** NHWC geometry of the BN input z (n×h×w×c); the pool output is ⌊h/2⌋×⌊w/2⌋. */
export interface BnGeom {
  n: number;
  h: number;
  w: number;
  c: number;
}

/** Per-channel Σz and Σz² in float64: [c sums, c sums of squares]. */
export function bnSums(z: Float32Array, c: number): Float64Array {
  const st = new Float64Array(2 * c);
  for (let i = 0; i < z.length; i += c) {
    for (let ch = 0; ch < c; ch++) {
      const v = z[i + ch];
      st[ch] += v;
      st[c + ch] += v * v;
    }
  }
  return st;
}

/**
 * out = maxpool(relu(scale·z + shift)); arg = first window slot with the max (tfjs' choice),
 * -1 when the max is ≤ 0 (ReLU blocks the gradient).
 */
export function bnReluPool(
  z: Float32Array,
  out: Float32Array,
  arg: Int8Array,
  g: BnGeom,
  scale: Float32Array,
  shift: Float32Array,
): void {
  const { n, h, w, c: co } = g;
  const ph = h >> 1, pw = w >> 1, rowStride = w * co;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        const b0 = ((b * h + 2 * y) * w + 2 * x) * co, b2 = b0 + rowStride;
        const o = ((b * ph + y) * pw + x) * co;
        for (let c = 0; c < co; c++) {
          const sc = scale[c];
          const v0 = z[b0 + c] * sc, v1 = z[b0 + co + c] * sc;
          const v2 = z[b2 + c] * sc, v3 = z[b2 + co + c] * sc;
          const m01 = Math.max(v0, v1), m23 = Math.max(v2, v3);
          const i01 = +(v1 > v0), i23 = 2 + +(v3 > v2), right = +(m23 > m01);
          const m = Math.max(m01, m23) + shift[c];
          const pos = +(m > 0);
          out[o + c] = m * pos;
          arg[o + c] = (i01 + right * (i23 - i01) + 1) * pos - 1;
        }
      }
    }
  }
}

/** BN-backward sums [Σg, Σg·x̂] per channel over the positions the pool routes `dOut` to. */
export function bnBackwardSums(
  z: Float32Array,
  dOut: Float32Array,
  arg: Int8Array,
  g: BnGeom,
  mean: Float32Array,
  invstd: Float32Array,
): Float64Array {
  const { n, h, w, c: co } = g;
  const ph = h >> 1, pw = w >> 1, rowStride = w * co;
  const offs = new Int32Array([0, co, rowStride, rowStride + co]);
  const st = new Float64Array(2 * co);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        const b0 = ((b * h + 2 * y) * w + 2 * x) * co, o = ((b * ph + y) * pw + x) * co;
        for (let c = 0; c < co; c++) {
          const k = arg[o + c];
          const gv = dOut[o + c] * +(k >= 0);
          st[c] += gv;
          st[co + c] += gv * (z[b0 + offs[k & 3] + c] - mean[c]) * invstd[c];
        }
      }
    }
  }
  return st;
}

/**
 * dz = scale·(g − mean(g) − x̂·mean(g·x̂)) with g routed through the arg-max, written to the
 * zero-padded grid `p` as [pixel][c] (`dz` must be zeroed); returns Σdz per channel (the conv
 * bias gradient). `mg` = mean(g), `mgx` = mean(g·x̂)·invstd, both over the whole batch.
 */
export function bnReluPoolBackward(
  z: Float32Array,
  dOut: Float32Array,
  arg: Int8Array,
  dz: Float32Array,
  g: BnGeom,
  p: PadGrid,
  scale: Float32Array,
  mean: Float32Array,
  mg: Float32Array,
  mgx: Float32Array,
): Float64Array {
  const { n, h, w, c: co } = g;
  const ph = h >> 1, pw = w >> 1;
  const db = new Float64Array(co);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const py = y >> 1, sy = (y & 1) << 1;
      for (let x = 0; x < w; x++) {
        const i = ((b * h + y) * w + x) * co, d = padIndex(p, b, y, x) * co;
        const px = x >> 1, slot = sy | (x & 1);
        if (py < ph && px < pw) {
          const o = ((b * ph + py) * pw + px) * co;
          for (let c = 0; c < co; c++) {
            const v = scale[c] *
              (dOut[o + c] * +(arg[o + c] === slot) - mg[c] - (z[i + c] - mean[c]) * mgx[c]);
            dz[d + c] = v;
            db[c] += v;
          }
        } else {
          // Odd trailing row/column: outside every pool window, no routed gradient.
          for (let c = 0; c < co; c++) {
            const v = -scale[c] * (mg[c] + (z[i + c] - mean[c]) * mgx[c]);
            dz[d + c] = v;
            db[c] += v;
          }
        }
      }
    }
  }
  return db;
}
