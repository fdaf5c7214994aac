/** col2im for NHWC convolutions with any stride and padding (dilation 1): the strided input gradient. */

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
