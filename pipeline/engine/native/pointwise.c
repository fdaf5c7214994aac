/*
 * Memory-bound kernels of the engine's layers: ReLU, batch norm (statistics, apply, backward),
 * pooling windows. Branch-free inner loops over channels, which the compiler vectorises.
 * Sums are accumulated in double in a fixed order (pixel-major, then channel), so results depend
 * only on the shapes. NHWC; `rows` = pixels (n·h·w), `c` = channels.
 */
#include <stdint.h>
#include <string.h>

/* y = max(x, 0), x and y may alias. */
int es_relu(const float *x, float *y, int64_t len) {
  for (int64_t i = 0; i < len; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
  return 0;
}

/* dz = y > 0 ? dy : 0 (y the ReLU's output). */
int es_relu_grad(const float *y, const float *dy, float *dz, int64_t len) {
  for (int64_t i = 0; i < len; i++) dz[i] = y[i] > 0.f ? dy[i] : 0.f;
  return 0;
}

/* sums[j] = Σ x[., j], sums[c + j] = Σ x[., j]² (double). */
int es_channel_sums(const float *x, int64_t rows, int c, double *sums) {
  memset(sums, 0, sizeof(double) * 2 * (size_t)c);
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * c;
    for (int j = 0; j < c; j++) {
      double v = p[j];
      sums[j] += v;
      sums[c + j] += v * v;
    }
  }
  return 0;
}

/* y = (x − mean)·invstd·gamma + beta, per channel (the float32 formula of the TS reference). */
int es_bn_apply(const float *x, int64_t rows, int c, const float *mean, const float *invstd, const float *gamma,
                const float *beta, float *y) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * c;
    float *q = y + r * c;
    for (int j = 0; j < c; j++) q[j] = (p[j] - mean[j]) * invstd[j] * gamma[j] + beta[j];
  }
  return 0;
}

/* sums[j] = Σ dy, sums[c + j] = Σ dy·xhat with xhat = (x − mean)·invstd (double). */
int es_bn_grad_sums(const float *x, const float *dy, int64_t rows, int c, const float *mean, const float *invstd,
                    double *sums) {
  memset(sums, 0, sizeof(double) * 2 * (size_t)c);
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * c, *d = dy + r * c;
    for (int j = 0; j < c; j++) {
      float h = (p[j] - mean[j]) * invstd[j];
      sums[j] += d[j];
      sums[c + j] += (double)d[j] * h;
    }
  }
  return 0;
}

/* dx = scale·(dy − mdy − xhat·mdyx) per channel, xhat recomputed from x. */
int es_bn_grad_input(const float *x, const float *dy, int64_t rows, int c, const float *mean, const float *invstd,
                     const float *scale, const float *mdy, const float *mdyx, float *dx) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * c, *d = dy + r * c;
    float *q = dx + r * c;
    for (int j = 0; j < c; j++) {
      float h = (p[j] - mean[j]) * invstd[j];
      q[j] = scale[j] * (d[j] - mdy[j] - h * mdyx[j]);
    }
  }
  return 0;
}

/*
 * Max pooling: out[b, oy, ox, j] = max over the window's in-bounds pixels; arg = flat input index of
 * the first maximum in row-major window order (strict >, as tfjs' cpu backend).
 */
int es_maxpool(const float *x, int n, int h, int w, int c, int ph, int pw, int sh, int sw, int pt, int pl, int oh,
               int ow, float *out, int32_t *arg) {
  for (int b = 0; b < n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        float *o = out + (((int64_t)b * oh + oy) * ow + ox) * c;
        int32_t *a = arg + (((int64_t)b * oh + oy) * ow + ox) * c;
        int first = 1;
        for (int ky = 0; ky < ph; ky++) {
          int iy = oy * sh + ky - pt;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < pw; kx++) {
            int ix = ox * sw + kx - pl;
            if (ix < 0 || ix >= w) continue;
            int32_t base = (int32_t)((((int64_t)b * h + iy) * w + ix) * c);
            const float *p = x + base;
            if (first) {
              for (int j = 0; j < c; j++) {
                o[j] = p[j];
                a[j] = base + j;
              }
              first = 0;
            } else {
              for (int j = 0; j < c; j++) {
                int gt = p[j] > o[j];
                o[j] = gt ? p[j] : o[j];
                a[j] = gt ? base + j : a[j];
              }
            }
          }
        }
      }
  return 0;
}

/* dx[arg[i]] += dy[i]; dx zeroed first. */
int es_maxpool_grad(const float *dy, const int32_t *arg, int64_t outLen, float *dx, int64_t inLen) {
  memset(dx, 0, sizeof(float) * (size_t)inLen);
  for (int64_t i = 0; i < outLen; i++) dx[arg[i]] += dy[i];
  return 0;
}
