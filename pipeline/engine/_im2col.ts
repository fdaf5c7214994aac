/** im2col / col2im for NHWC convolutions with any stride and padding (dilation 1); used by the
 * general (strided) conv-gradient kernels. */

/** Geometry of one 2-D convolution. */
export interface ConvGeom {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  oh: number;
  ow: number;
}

/** Transposed patches: P^T[(ky,kx,c), (n,oy,ox)], so dW = P^T · dy is the wasm matmul fast path. */
export function im2colT(x: Float32Array, g: ConvGeom): Float32Array {
  const { n, h, w, c, kh, kw, sh, sw, padTop, padLeft, oh, ow } = g;
  const cols = n * oh * ow;
  const out = new Float32Array(kh * kw * c * cols);
  // Channel-major copy first so each patch row is a (strided) walk over one plane.
  const plane = h * w;
  const xc = new Float32Array(n * c * plane);
  for (let b = 0; b < n; b++) {
    const xo = b * plane * c, po = b * c * plane;
    for (let p = 0; p < plane; p++) {
      const src = xo + p * c;
      for (let ch = 0; ch < c; ch++) xc[po + ch * plane + p] = x[src + ch];
    }
  }
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let ch = 0; ch < c; ch++) {
        const row = ((ky * kw + kx) * c + ch) * cols;
        for (let b = 0; b < n; b++) {
          const src = (b * c + ch) * plane;
          const dstB = row + b * oh * ow;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh + ky - padTop;
            if (iy < 0 || iy >= h) continue;
            const dst = dstB + oy * ow, srow = src + iy * w;
            for (let ox = 0; ox < ow; ox++) {
              const ix = ox * sw + kx - padLeft;
              if (ix >= 0 && ix < w) out[dst + ox] = xc[srow + ix];
            }
          }
        }
      }
    }
  }
  return out;
}

/** Scatter-add patch gradients dP[(n,oy,ox), (ky,kx,c)] back into dx (NHWC). */
export function col2im(dp: Float32Array, g: ConvGeom): Float32Array {
  const { n, h, w, c, kh, kw, sh, sw, padTop, padLeft, oh, ow } = g;
  const k = kh * kw * c;
  const dx = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const src = ((b * oh + oy) * ow + ox) * k;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh + ky - padTop;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw + kx - padLeft;
            if (ix < 0 || ix >= w) continue;
            const d = ((b * h + iy) * w + ix) * c, s = src + (ky * kw + kx) * c;
            for (let ch = 0; ch < c; ch++) dx[d + ch] += dp[s + ch];
          }
        }
      }
    }
  }
  return dx;
}
