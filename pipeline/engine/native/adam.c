/*
 * The trainer's update step: shard gradients summed in double, then Adam, over the flat weights.
 * The same IEEE double operations in the same order as the JavaScript it replaces (no FMA
 * contraction: built with -ffp-contract=off), so every CPU gets the same weights.
 */
#include <math.h>
#include <stdint.h>

/* acc = 0 + g (first shard) or acc += g (the next ones), in double. */
int es_grad_accumulate(double *acc, const float *g, int64_t n, int first) {
  if (first)
    for (int64_t i = 0; i < n; i++) acc[i] = 0.0 + (double)g[i];
  else
    for (int64_t i = 0; i < n; i++) acc[i] += (double)g[i];
  return 0;
}

/*
 * m ← b1·m + (1 − b1)·g, v ← b2·v + (1 − b2)·g·g, w ← w − lr·(m / c1) / (√(v / c2) + eps),
 * with c1 = 1 − b1^t and c2 = 1 − b2^t from the caller; w is rounded to float once.
 */
int es_adam(float *w, double *m, double *v, const double *g, int64_t n, double lr, double b1, double b2,
            double c1, double c2, double eps) {
  const double a1 = 1 - b1, a2 = 1 - b2;
  for (int64_t i = 0; i < n; i++) {
    const double mi = b1 * m[i] + a1 * g[i];
    const double vi = b2 * v[i] + a2 * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    w[i] = (float)((double)w[i] - lr * (mi / c1) / (sqrt(vi / c2) + eps));
  }
  return 0;
}
