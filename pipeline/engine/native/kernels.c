/*
 * edgeslim native CPU kernels (float32, NHWC, conv weights HWIO, depthwise [kh][kw][c][mult]).
 *
 * Determinism: every reduction runs in an order fixed by the shapes only (blocking constants are
 * compile-time, every load is unaligned-safe, no threads). Built with -ffp-contract=off so the
 * compiler never fuses a*b+c by itself; FMAs are explicit intrinsics.
 *
 * ISA dispatch (AVX2 build only): on CPUs with AVX-512F/BW/VL the GEMM and conv micro-kernels use
 * 512-bit registers (more output columns and rows per tile). Each output element still gets exactly
 * the same sequence of operations as in the AVX2 kernels: the same start value (0 or bias), the same
 * FMAs in the same k order, the same KC blocks added to C in the same order, the same zero padding.
 * Only the number of elements an instruction covers changes, so results are bit-identical across
 * ISAs (tested). es_set_isa() forces a level (EDGESLIM_NATIVE_NO_AVX512=1 in mod.ts).
 *
 * All entry points return 0 on success and -1 when scratch allocation failed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ES_AVX2 1
#else
#define ES_AVX2 0
#endif

#define MR 6
#define NR 16
#ifndef KC
#define KC 256
#endif
#define MC 120  /* multiple of MR */
#define NC 3072 /* multiple of NR */

/* 1 = AVX2+FMA variant, 0 = portable C variant. */
int es_variant(void) { return ES_AVX2; }

/* Active ISA: 0 portable, 1 AVX2+FMA, 2 AVX-512 (F/BW/VL) + FMA. Read once per kernel call. */
#define ISA_PORTABLE 0
#define ISA_AVX2 1
#define ISA_AVX512 2
static int g_cpu512 = 0;
static int g_isa = ES_AVX2 ? ISA_AVX2 : ISA_PORTABLE;

#if ES_AVX2
__attribute__((constructor)) static void es_isa_init(void) {
  __builtin_cpu_init();
  g_cpu512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  __atomic_store_n(&g_isa, g_cpu512 ? ISA_AVX512 : ISA_AVX2, __ATOMIC_RELAXED);
}
#endif

/* 1 when the CPU (and OS) support the AVX-512 path in this build. */
int es_cpu_avx512(void) { return ES_AVX2 && g_cpu512; }

int es_isa(void) { return __atomic_load_n(&g_isa, __ATOMIC_RELAXED); }

/* Requests an ISA level (2 = AVX-512 if supported, else the best lower one); returns the active one. */
int es_set_isa(int want) {
  int v = !ES_AVX2 ? ISA_PORTABLE : (want >= ISA_AVX512 && g_cpu512) ? ISA_AVX512 : ISA_AVX2;
  __atomic_store_n(&g_isa, v, __ATOMIC_RELAXED);
  return v;
}

static void *amalloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
  return p;
}

static inline int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------------------------------------ */
/* Micro-kernels: 6 rows x 16 columns.                                                        */
/* ------------------------------------------------------------------------------------------ */

/* Writes a 6x16 tile t (row-major, 16 floats per row) into C: C = t, or C = C + t when add. */
static void tile_out(const float *t, float *c, int ldc, int mv, int nv, int add) {
  for (int i = 0; i < mv; i++) {
    float *ci = c + (size_t)i * ldc;
    const float *ti = t + i * NR;
    if (add) {
      for (int j = 0; j < nv; j++) ci[j] = ci[j] + ti[j];
    } else {
      for (int j = 0; j < nv; j++) ci[j] = ti[j];
    }
  }
}

#if ES_AVX2

#define ACC_DECL                                                                                     \
  __m256 c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b, c4a, c4b, c5a, c5b;

#define ACC_ZERO                                                                                     \
  c0a = c0b = c1a = c1b = c2a = c2b = c3a = c3b = c4a = c4b = c5a = c5b = _mm256_setzero_ps();

#define FMA_ROW(i, ptr)                                                                              \
  {                                                                                                  \
    __m256 av = _mm256_broadcast_ss(ptr);                                                            \
    c##i##a = _mm256_fmadd_ps(av, b0, c##i##a);                                                      \
    c##i##b = _mm256_fmadd_ps(av, b1, c##i##b);                                                      \
  }

#define ROW_STORE(i)                                                                                 \
  {                                                                                                  \
    float *cr = c + (size_t)(i) * ldc;                                                               \
    if (add) {                                                                                       \
      c##i##a = _mm256_add_ps(_mm256_loadu_ps(cr), c##i##a);                                         \
      c##i##b = _mm256_add_ps(_mm256_loadu_ps(cr + 8), c##i##b);                                     \
    }                                                                                                \
    _mm256_storeu_ps(cr, c##i##a);                                                                   \
    _mm256_storeu_ps(cr + 8, c##i##b);                                                               \
  }

#define TILE_STORE                                                                                   \
  if (mv == MR && nv == NR) {                                                                        \
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)                    \
  } else {                                                                                           \
    float t[MR * NR] __attribute__((aligned(32)));                                                   \
    _mm256_store_ps(t + 0, c0a); _mm256_store_ps(t + 8, c0b);                                        \
    _mm256_store_ps(t + 16, c1a); _mm256_store_ps(t + 24, c1b);                                      \
    _mm256_store_ps(t + 32, c2a); _mm256_store_ps(t + 40, c2b);                                      \
    _mm256_store_ps(t + 48, c3a); _mm256_store_ps(t + 56, c3b);                                      \
    _mm256_store_ps(t + 64, c4a); _mm256_store_ps(t + 72, c4b);                                      \
    _mm256_store_ps(t + 80, c5a); _mm256_store_ps(t + 88, c5b);                                      \
    tile_out(t, c, ldc, mv, nv, add);                                                                \
  }

/* Packed A (kc x 6 interleaved) times packed B (kc x 16). */
static void ukr_packed(int kc, const float *restrict a, const float *restrict b, float *c, int ldc, int mv,
                       int nv, int add) {
  ACC_DECL
  ACC_ZERO
  for (int p = 0; p < kc; p++) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    FMA_ROW(0, a + 0) FMA_ROW(1, a + 1) FMA_ROW(2, a + 2) FMA_ROW(3, a + 3) FMA_ROW(4, a + 4) FMA_ROW(5, a + 5)
    a += MR;
    b += NR;
  }
  TILE_STORE
}

/* Indirect conv kernel: for each tap, 6 row pointers (ci contiguous floats each); B packed [K][16].
 * Accumulators start at bias16 (or 0); C is overwritten. */
static void ukr_indirect(int ntaps, int ci, const float *const *ptrs, const float *restrict b,
                         const float *bias16, float *c, int ldc, int mv, int nv) {
  const int add = 0;
  ACC_DECL
  if (bias16) {
    c0a = c1a = c2a = c3a = c4a = c5a = _mm256_loadu_ps(bias16);
    c0b = c1b = c2b = c3b = c4b = c5b = _mm256_loadu_ps(bias16 + 8);
  } else {
    ACC_ZERO
  }
  for (int t = 0; t < ntaps; t++) {
    const float *a0 = ptrs[0], *a1 = ptrs[1], *a2 = ptrs[2], *a3 = ptrs[3], *a4 = ptrs[4], *a5 = ptrs[5];
    ptrs += MR;
    for (int q = 0; q < ci; q++) {
      __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
      FMA_ROW(0, a0 + q) FMA_ROW(1, a1 + q) FMA_ROW(2, a2 + q) FMA_ROW(3, a3 + q) FMA_ROW(4, a4 + q)
      FMA_ROW(5, a5 + q)
      b += NR;
    }
  }
  TILE_STORE
}

#else /* portable */

static void ukr_packed(int kc, const float *restrict a, const float *restrict b, float *c, int ldc, int mv,
                       int nv, int add) {
  float t[MR * NR];
  memset(t, 0, sizeof t);
  for (int p = 0; p < kc; p++) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) t[i * NR + j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  tile_out(t, c, ldc, mv, nv, add);
}

static void ukr_indirect(int ntaps, int ci, const float *const *ptrs, const float *restrict b,
                         const float *bias16, float *c, int ldc, int mv, int nv) {
  float t[MR * NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) t[i * NR + j] = bias16 ? bias16[j] : 0.0f;
  for (int tp = 0; tp < ntaps; tp++) {
    for (int q = 0; q < ci; q++) {
      for (int i = 0; i < MR; i++) {
        const float ai = ptrs[i][q];
        for (int j = 0; j < NR; j++) t[i * NR + j] += ai * b[j];
      }
      b += NR;
    }
    ptrs += MR;
  }
  tile_out(t, c, ldc, mv, nv, 0);
}

#endif

/* ------------------------------------------------------------------------------------------ */
/* AVX-512 micro-kernels: 6, 8, 9 or 12 rows x 32 columns (two zmm per row).                  */
/* Same per-element operation sequence as the 6x16 AVX2 kernels above.                        */
/* ------------------------------------------------------------------------------------------ */

#if ES_AVX2
#define ES_AVX512_PATH 1
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define ZN 32 /* columns of an AVX-512 tile / B panel */

#define ZR6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define ZR8(X) ZR6(X) X(6) X(7)
#define ZR12(X) ZR8(X) X(8) X(9) X(10) X(11)

#define Z_DECL(i) __m512 z##i##a, z##i##b;
#define Z_ZERO(i) z##i##a = z##i##b = _mm512_setzero_ps();
#define Z_BIAS(i) z##i##a = bz0, z##i##b = bz1;
#define Z_FMA(i, ptr)                                                                                \
  {                                                                                                  \
    __m512 av = _mm512_set1_ps(*(ptr));                                                              \
    z##i##a = _mm512_fmadd_ps(av, b0, z##i##a);                                                      \
    z##i##b = _mm512_fmadd_ps(av, b1, z##i##b);                                                      \
  }
#define Z_FMA_P(i) Z_FMA(i, a + (i))
#define Z_PTR(i) const float *a##i = ((i) < 6 ? p0 : p1)[(i) % 6];
#define Z_FMA_I(i) Z_FMA(i, a##i + q)
/* C = t, or C = C + t when add (the AVX2 kernels add in the same operand order). */
#define Z_STORE(i)                                                                                   \
  if ((i) < mv) {                                                                                    \
    float *cr = c + (size_t)(i) * ldc;                                                               \
    if (add) {                                                                                       \
      z##i##a = _mm512_add_ps(_mm512_maskz_loadu_ps(ma, cr), z##i##a);                               \
      z##i##b = _mm512_add_ps(_mm512_maskz_loadu_ps(mb, cr + 16), z##i##b);                          \
    }                                                                                                \
    _mm512_mask_storeu_ps(cr, ma, z##i##a);                                                          \
    _mm512_mask_storeu_ps(cr + 16, mb, z##i##b);                                                     \
  }
#define Z_MASKS                                                                                      \
  const __mmask16 ma = nv >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nv) - 1);                   \
  const __mmask16 mb = nv >= 32 ? (__mmask16)0xFFFF : nv > 16 ? (__mmask16)((1u << (nv - 16)) - 1) : 0;

/* Packed A (kc x R interleaved) times packed B (kc x 32). */
#define DEF_UKR_PACKED_Z(NAME, ROWS, R)                                                              \
  static T512 void NAME(int kc, const float *restrict a, const float *restrict b, float *c, int ldc,   \
                        int mv, int nv, int add) {                                                   \
    ROWS(Z_DECL)                                                                                     \
    ROWS(Z_ZERO)                                                                                     \
    for (int p = 0; p < kc; p++) {                                                                   \
      __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);                                    \
      ROWS(Z_FMA_P)                                                                                  \
      a += (R);                                                                                      \
      b += ZN;                                                                                       \
    }                                                                                                \
    Z_MASKS                                                                                          \
    ROWS(Z_STORE)                                                                                    \
  }
DEF_UKR_PACKED_Z(ukr_packed_z8, ZR8, 8)

/* Indirect conv kernel: rows 0-5 from the pointer table p0, rows 6-11 from p1 (6 pointers per tap
 * each, like ukr_indirect); B packed [K][32]. Accumulators start at bias32 (or 0). */
#define DEF_UKR_INDIRECT_Z(NAME, ROWS)                                                               \
  static T512 void NAME(int ntaps, int seg, const float *const *p0, const float *const *p1,          \
                        const float *restrict b, const float *bias32, float *c, int ldc, int mv, int nv) { \
    const int add = 0;                                                                               \
    ROWS(Z_DECL)                                                                                     \
    if (bias32) {                                                                                    \
      const __m512 bz0 = _mm512_load_ps(bias32), bz1 = _mm512_load_ps(bias32 + 16);                  \
      ROWS(Z_BIAS)                                                                                   \
    } else {                                                                                         \
      ROWS(Z_ZERO)                                                                                   \
    }                                                                                                \
    for (int t = 0; t < ntaps; t++) {                                                                \
      ROWS(Z_PTR)                                                                                    \
      p0 += MR;                                                                                      \
      p1 += MR;                                                                                      \
      for (int q = 0; q < seg; q++) {                                                                \
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);                                  \
        ROWS(Z_FMA_I)                                                                                \
        b += ZN;                                                                                     \
      }                                                                                              \
    }                                                                                                \
    Z_MASKS                                                                                          \
    ROWS(Z_STORE)                                                                                    \
  }
DEF_UKR_INDIRECT_Z(ukr_indirect_z6, ZR6)
DEF_UKR_INDIRECT_Z(ukr_indirect_z12, ZR12)

#else
#define ES_AVX512_PATH 0
#define ZN NR
#endif

/* ------------------------------------------------------------------------------------------ */
/* Packed GEMM driver with pluggable packers.                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Pack rows [i0, i0+mc) x cols [k0, k0+kc) of A into ceil(mc/MRT) panels of kc*MRT (zero-padded). */
typedef void (*pack_a_fn)(const void *ctx, int i0, int mc, int k0, int kc, int MRT, float *dst);
/* Pack rows [k0, k0+kc) x cols [j0, j0+nc) of B into ceil(nc/NRT) panels of kc*NRT (zero-padded). */
typedef void (*pack_b_fn)(const void *ctx, int k0, int kc, int j0, int nc, int NRT, float *dst);

typedef struct {
  const float *p;
  int ld, trans;
} dense_t;

static void pack_a_dense(const void *ctx, int i0, int mc, int k0, int kc, int MRT, float *dst) {
  const dense_t *d = (const dense_t *)ctx;
  for (int ip = 0; ip < mc; ip += MRT, dst += (size_t)kc * MRT) {
    const int mr = imin(MRT, mc - ip);
    if (d->trans) { /* A(i,k) = p[k*ld + i] */
      for (int p = 0; p < kc; p++) {
        const float *src = d->p + (size_t)(k0 + p) * d->ld + i0 + ip;
        float *o = dst + p * MRT;
        int r = 0;
        for (; r < mr; r++) o[r] = src[r];
        for (; r < MRT; r++) o[r] = 0.0f;
      }
    } else { /* A(i,k) = p[i*ld + k] */
      for (int r = 0; r < MRT; r++) {
        if (r < mr) {
          const float *src = d->p + (size_t)(i0 + ip + r) * d->ld + k0;
          for (int p = 0; p < kc; p++) dst[p * MRT + r] = src[p];
        } else {
          for (int p = 0; p < kc; p++) dst[p * MRT + r] = 0.0f;
        }
      }
    }
  }
}

static void pack_b_dense(const void *ctx, int k0, int kc, int j0, int nc, int NRT, float *dst) {
  const dense_t *d = (const dense_t *)ctx;
  for (int jp = 0; jp < nc; jp += NRT, dst += (size_t)kc * NRT) {
    const int nr = imin(NRT, nc - jp);
    if (!d->trans) { /* B(k,j) = p[k*ld + j] */
      for (int p = 0; p < kc; p++) {
        const float *src = d->p + (size_t)(k0 + p) * d->ld + j0 + jp;
        float *o = dst + p * NRT;
        int j = 0;
        for (; j < nr; j++) o[j] = src[j];
        for (; j < NRT; j++) o[j] = 0.0f;
      }
    } else { /* B(k,j) = p[j*ld + k] */
      for (int j = 0; j < NRT; j++) {
        if (j < nr) {
          const float *src = d->p + (size_t)(j0 + jp + j) * d->ld + k0;
          for (int p = 0; p < kc; p++) dst[p * NRT + j] = src[p];
        } else {
          for (int p = 0; p < kc; p++) dst[p * NRT + j] = 0.0f;
        }
      }
    }
  }
}

/* The blocked loops of the GEMM; the micro-kernel (MRT x NRT tiles) is `UKR`. For every element of
 * C the k blocks [pc, pc+KC) are visited in increasing pc, whatever MRT/NRT/MC/NC are. */
#define GEMM_LOOPS(MRT, NRT, UKR)                                                                    \
  for (int jc = 0; jc < n; jc += NC) {                                                               \
    const int nc = imin(NC, n - jc);                                                                 \
    for (int pc = 0; pc < k; pc += KC) {                                                             \
      const int kc = imin(KC, k - pc);                                                               \
      const int add = accumulate || pc > 0;                                                          \
      pb(cb, pc, kc, jc, nc, NRT, bp);                                                               \
      for (int ic = 0; ic < m; ic += MC) {                                                           \
        const int mc = imin(MC, m - ic);                                                             \
        pa(ca, ic, mc, pc, kc, MRT, ap);                                                             \
        for (int jr = 0; jr < nc; jr += NRT) {                                                       \
          const int nv = imin(NRT, nc - jr);                                                         \
          const float *bpan = bp + (size_t)(jr / NRT) * kc * NRT;                                    \
          for (int ir = 0; ir < mc; ir += MRT) {                                                     \
            UKR(kc, ap + (size_t)(ir / MRT) * kc * MRT, bpan, C + (size_t)(ic + ir) * ldc + jc + jr, ldc, \
                imin(MRT, mc - ir), nv, add);                                                        \
          }                                                                                          \
        }                                                                                            \
      }                                                                                              \
    }                                                                                                \
  }

#define ZMR 8 /* rows of the AVX-512 GEMM tile (MC is a multiple of it) */
#if ES_AVX512_PATH
static T512 void gemm_loops_z(int m, int n, int k, pack_a_fn pa, const void *ca, pack_b_fn pb, const void *cb,
                              float *C, int ldc, int accumulate, float *ap, float *bp) {
  GEMM_LOOPS(ZMR, ZN, ukr_packed_z8)
}
#endif

/* C (m x n, ldc) = A·B, or C += A·B when accumulate. K is blocked by KC: the order of the sum over
 * k is fixed by k alone. */
static int gemm_drv(int m, int n, int k, pack_a_fn pa, const void *ca, pack_b_fn pb, const void *cb, float *C,
                    int ldc, int accumulate) {
  if (m <= 0 || n <= 0) return 0;
  if (k <= 0) {
    if (!accumulate)
      for (int i = 0; i < m; i++) memset(C + (size_t)i * ldc, 0, sizeof(float) * n);
    return 0;
  }
  const int z = ES_AVX512_PATH && es_isa() == ISA_AVX512;
  const int mrt = z ? ZMR : MR, nrt = z ? ZN : NR; /* the tile sizes (scratch is padded to them) */
  const int ncmax = ((imin(n, NC) + nrt - 1) / nrt) * nrt;
  const int mcmax = ((imin(m, MC) + mrt - 1) / mrt) * mrt;
  const int kcmax = imin(k, KC);
  float *bp = (float *)amalloc(sizeof(float) * (size_t)ncmax * kcmax);
  float *ap = (float *)amalloc(sizeof(float) * (size_t)mcmax * kcmax);
  if (!bp || !ap) {
    free(bp);
    free(ap);
    return -1;
  }
#if ES_AVX512_PATH
  if (z) {
    gemm_loops_z(m, n, k, pa, ca, pb, cb, C, ldc, accumulate, ap, bp);
  } else
#endif
  {
    GEMM_LOOPS(MR, NR, ukr_packed)
  }
  free(bp);
  free(ap);
  return 0;
}

/* C = op(A)·op(B) (+ C when accumulate). op(A) is m x k, op(B) is k x n, all row-major. */
int es_sgemm(int trans_a, int trans_b, int m, int n, int k, const float *A, int lda, const float *B, int ldb,
             float *C, int ldc, int accumulate) {
  dense_t da = {A, lda, trans_a != 0}, db = {B, ldb, trans_b != 0};
  return gemm_drv(m, n, k, pack_a_dense, &da, pack_b_dense, &db, C, ldc, accumulate);
}

/* ------------------------------------------------------------------------------------------ */
/* Convolution.                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Pixel tiles per block in the indirect conv (pointer table is block*taps*6 pointers). */
#define CONV_BLOCK_TILES 16

#if ES_AVX512_PATH
/* One block of nt 6-pixel tiles (starting at pixel pix0) through the AVX-512 kernels: pairs of tiles
 * as 12x32, an odd last tile as 6x32. bp/bb: B and bias packed in 32-wide panels. */
static T512 void conv_tiles_z(int nt, long pix0, long M, int co, int K, int kh, int seg, const float **ptrs,
                              const float *bp, const float *bb, float *y) {
  const int np = (co + ZN - 1) / ZN;
  for (int jp = 0; jp < np; jp++) {
    const int nv = imin(ZN, co - jp * ZN);
    const float *bpan = bp + (size_t)jp * K * ZN, *bias = bb ? bb + jp * ZN : NULL;
    int tl = 0;
    for (; tl + 1 < nt; tl += 2) {
      const long p = pix0 + (long)tl * MR;
      const int mv = (int)(M - p < 2 * MR ? M - p : 2 * MR);
      ukr_indirect_z12(kh, seg, ptrs + (size_t)tl * kh * MR, ptrs + (size_t)(tl + 1) * kh * MR, bpan, bias,
                       y + (size_t)p * co + jp * ZN, co, mv, nv);
    }
    if (tl < nt) {
      const long p = pix0 + (long)tl * MR;
      const int mv = (int)(M - p < MR ? M - p : MR);
      const float *const *pt = ptrs + (size_t)tl * kh * MR;
      ukr_indirect_z6(kh, seg, pt, pt, bpan, bias, y + (size_t)p * co + jp * ZN, co, mv, nv);
    }
  }
}
#endif

/* y[n,oh,ow,co] = conv(x[n,h,w,ci], w[kh,kw,ci,co]) + bias: indirect GEMM, weights packed once. */
static int conv_fwd_core(const float *x, const float *wt, const float *bias, float *y, int n, int h, int w,
                         int ci, int co, int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int z = ES_AVX512_PATH && es_isa() == ISA_AVX512;
  const int nrt = z ? ZN : NR; /* width of the B panels / output tiles */
  const int taps = kh * kw, K = taps * ci, np = (co + nrt - 1) / nrt;
  const long M = (long)n * oh * ow;
  if (M <= 0 || co <= 0) return 0;
  if (K == 0) { /* degenerate: only the bias */
    for (long p = 0; p < M; p++)
      for (int o = 0; o < co; o++) y[p * co + o] = bias ? bias[o] : 0.0f;
    return 0;
  }
  float *bp = (float *)amalloc(sizeof(float) * (size_t)np * K * nrt);
  float *bb = (float *)amalloc(sizeof(float) * (size_t)np * nrt);
  float *zero = (float *)calloc((size_t)kw * ci + 16, sizeof(float));
  const float **ptrs = (const float **)malloc(sizeof(float *) * (size_t)CONV_BLOCK_TILES * kh * MR);
  if (!bp || !bb || !zero || !ptrs) {
    free(bp);
    free(bb);
    free(zero);
    free(ptrs);
    return -1;
  }
  for (int jp = 0; jp < np; jp++) {
    float *d = bp + (size_t)jp * K * nrt;
    const int nv = imin(nrt, co - jp * nrt);
    for (int kk = 0; kk < K; kk++) {
      const float *src = wt + (size_t)kk * co + jp * nrt;
      int j = 0;
      for (; j < nv; j++) d[(size_t)kk * nrt + j] = src[j];
      for (; j < nrt; j++) d[(size_t)kk * nrt + j] = 0.0f;
    }
    for (int j = 0; j < nrt; j++) bb[jp * nrt + j] = (bias && j < nv) ? bias[jp * nrt + j] : 0.0f;
  }
  const long tiles = (M + MR - 1) / MR;
  /* Indirect rows: for each pixel and kernel row ky, one pointer to kw*ci contiguous floats (the kx
   * taps are adjacent in NHWC). Pixels whose kx window crosses the left/right border get that row
   * copied, zero-padded, into `cols`; rows above/below the image point at `zero`. */
  const int seg = kw * ci;
  float *cols = (float *)amalloc(sizeof(float) * (size_t)CONV_BLOCK_TILES * MR * K);
  if (!cols) {
    free(bp);
    free(bb);
    free(zero);
    free(ptrs);
    return -1;
  }
  for (long tb = 0; tb < tiles; tb += CONV_BLOCK_TILES) {
    const int nt = (int)(tiles - tb < CONV_BLOCK_TILES ? tiles - tb : CONV_BLOCK_TILES);
    /* output pixel tb*MR as (b, oy, ox); then stepped along (no divisions per pixel) */
    int ox = (int)(tb * MR % ow), oy = (int)(tb * MR / ow % oh), b = (int)(tb * MR / ((long)ow * oh));
    for (int r = 0; r < nt * MR; r++) {
      const long pix = tb * MR + r;
      const float **pp = ptrs + (size_t)(r / MR) * kh * MR + r % MR;
      if (pix >= M) {
        for (int ky = 0; ky < kh; ky++) pp[ky * MR] = zero;
        continue;
      }
      if (r > 0 && ++ox == ow) {
        ox = 0;
        if (++oy == oh) {
          oy = 0;
          b++;
        }
      }
      const int ix0 = ox * sw - pl;
      const int full = ix0 >= 0 && ix0 + kw <= w;
      for (int ky = 0; ky < kh; ky++) {
        const int iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) {
          pp[ky * MR] = zero;
        } else if (full) {
          pp[ky * MR] = x + (((size_t)b * h + iy) * w + ix0) * ci;
        } else {
          float *d = cols + (size_t)r * K + (size_t)ky * seg;
          for (int kx = 0; kx < kw; kx++) {
            const int ix = ix0 + kx;
            if (ix >= 0 && ix < w) {
              memcpy(d + kx * ci, x + (((size_t)b * h + iy) * w + ix) * ci, sizeof(float) * ci);
            } else {
              memset(d + kx * ci, 0, sizeof(float) * ci);
            }
          }
          pp[ky * MR] = d;
        }
      }
    }
#if ES_AVX512_PATH
    if (z) {
      conv_tiles_z(nt, tb * MR, M, co, K, kh, seg, ptrs, bp, bias ? bb : NULL, y);
      continue;
    }
#endif
    for (int jp = 0; jp < np; jp++) {
      const int nv = imin(NR, co - jp * NR);
      for (int tl = 0; tl < nt; tl++) {
        const long pix0 = (tb + tl) * MR;
        const int mv = (int)(M - pix0 < MR ? M - pix0 : MR);
        ukr_indirect(kh, seg, ptrs + (size_t)tl * kh * MR, bp + (size_t)jp * K * NR, bias ? bb + jp * NR : NULL,
                     y + (size_t)pix0 * co + jp * NR, co, mv, nv);
      }
    }
  }
  free(cols);
  free(bp);
  free(bb);
  free(zero);
  free(ptrs);
  return 0;
}

int es_conv2d(const float *x, const float *wt, const float *bias, float *y, int n, int h, int w, int ci, int co,
              int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  return conv_fwd_core(x, wt, bias, y, n, h, w, ci, co, kh, kw, sh, sw, pt, pl, oh, ow);
}

/* dx[n,h,w,ci] = d conv / d x. Stride 1: forward conv of dy with the flipped, transposed filter.
 * Otherwise: dcol = dy·wᵀ in pixel chunks, then col2im scatter-add (fixed order). */
int es_conv2d_grad_input(const float *dy, const float *wt, float *dx, int n, int h, int w, int ci, int co, int kh,
                         int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int taps = kh * kw, K = taps * ci;
  /* Stride 1 with enough input channels: forward conv with the flipped filter (its output has ci
   * channels, so few ci would waste most of the 16-wide tiles; those go through col2im instead). */
  if (sh == 1 && sw == 1 && ci >= 16) {
    float *wf = (float *)amalloc(sizeof(float) * (size_t)K * co + 4);
    if (!wf) return -1;
    for (int t = 0; t < taps; t++) {
      const int ky = t / kw, kx = t % kw;
      const int ts = (kh - 1 - ky) * kw + (kw - 1 - kx);
      for (int o = 0; o < co; o++)
        for (int c = 0; c < ci; c++) wf[((size_t)t * co + o) * ci + c] = wt[((size_t)ts * ci + c) * co + o];
    }
    int rc = conv_fwd_core(dy, wf, NULL, dx, n, oh, ow, co, ci, kh, kw, 1, 1, kh - 1 - pt, kw - 1 - pl, h, w);
    free(wf);
    return rc;
  }
  const long M = (long)n * oh * ow;
  memset(dx, 0, sizeof(float) * (size_t)n * h * w * ci);
  if (M <= 0 || K <= 0) return 0;
  long R = (1L << 20) / K;
  if (R < MR) R = MR;
  R = (R / MR) * MR;
  if (R > M) R = M;
  float *dcol = (float *)amalloc(sizeof(float) * (size_t)R * K);
  if (!dcol) return -1;
  dense_t db = {wt, co, 1}; /* B(k=o, j=kidx) = w[kidx*co + o] */
  for (long p0 = 0; p0 < M; p0 += R) {
    const int rows = (int)(M - p0 < R ? M - p0 : R);
    dense_t da = {dy + (size_t)p0 * co, co, 0};
    if (gemm_drv(rows, K, co, pack_a_dense, &da, pack_b_dense, &db, dcol, K, 0) != 0) {
      free(dcol);
      return -1;
    }
    for (int r = 0; r < rows; r++) {
      const long pix = p0 + r;
      const int ox = (int)(pix % ow), oy = (int)((pix / ow) % oh), b = (int)(pix / ((long)ow * oh));
      const float *src = dcol + (size_t)r * K;
      for (int ky = 0; ky < kh; ky++) {
        const int iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) continue;
        for (int kx = 0; kx < kw; kx++) {
          const int ix = ox * sw - pl + kx;
          if (ix < 0 || ix >= w) continue;
          float *d = dx + (((size_t)b * h + iy) * w + ix) * ci;
          const float *s = src + (size_t)(ky * kw + kx) * ci;
          for (int c = 0; c < ci; c++) d[c] = d[c] + s[c];
        }
      }
    }
  }
  free(dcol);
  return 0;
}

/* B = im2col patches: B(k = pixel, j = kidx). */
typedef struct {
  const float *x;
  int n, h, w, ci, kh, kw, sh, sw, pt, pl, oh, ow;
} patches_t;

static void pack_b_patches(const void *ctx, int k0, int kc, int j0, int nc, int NRT, float *dst) {
  const patches_t *g = (const patches_t *)ctx;
  const int ci = g->ci, seg = g->kw * ci;
  /* Per NRT-wide panel: runs of kidx within one kernel row ky (contiguous in x across kx and c). */
  int sky[32], skx0[32], skx1[32], sc[32], slen[32], soff[32];
  for (int jp = 0; jp < nc; jp += NRT, dst += (size_t)kc * NRT) {
    const int nj = imin(NRT, nc - jp);
    int ns = 0;
    for (int kk = j0 + jp; kk < j0 + jp + nj;) {
      const int ky = kk / seg, rem = kk % seg;
      const int len = imin(seg - rem, j0 + jp + nj - kk);
      sky[ns] = ky;
      skx0[ns] = rem / ci;
      skx1[ns] = (rem + len - 1) / ci;
      sc[ns] = rem % ci;
      slen[ns] = len;
      soff[ns] = kk - (j0 + jp);
      ns++;
      kk += len;
    }
    int ox = k0 % g->ow, oy = (k0 / g->ow) % g->oh, b = k0 / (g->ow * g->oh);
    for (int p = 0; p < kc; p++) {
      float *row = dst + (size_t)p * NRT;
      for (int j = nj; j < NRT; j++) row[j] = 0.0f;
      const int ixb = ox * g->sw - g->pl;
      for (int s = 0; s < ns; s++) {
        const int iy = oy * g->sh - g->pt + sky[s];
        float *d = row + soff[s];
        if (iy < 0 || iy >= g->h) {
          memset(d, 0, sizeof(float) * slen[s]);
          continue;
        }
        const float *xr = g->x + ((size_t)b * g->h + iy) * g->w * ci;
        if (ixb + skx0[s] >= 0 && ixb + skx1[s] < g->w) {
          const float *src = xr + (size_t)(ixb + skx0[s]) * ci + sc[s];
          if (slen[s] == 16) {
            memcpy(d, src, sizeof(float) * 16);
          } else if (slen[s] == 32) {
            memcpy(d, src, sizeof(float) * 32);
          } else {
            for (int q = 0; q < slen[s]; q++) d[q] = src[q];
          }
        } else {
          for (int q = 0, kx = skx0[s], c = sc[s]; q < slen[s]; q++) {
            const int ix = ixb + kx;
            d[q] = (ix >= 0 && ix < g->w) ? xr[(size_t)ix * ci + c] : 0.0f;
            if (++c == ci) {
              c = 0;
              kx++;
            }
          }
        }
      }
      if (++ox == g->ow) {
        ox = 0;
        if (++oy == g->oh) {
          oy = 0;
          b++;
        }
      }
    }
  }
}

#if ES_AVX512_PATH
#define ZR9(X) ZR8(X) X(8)
/* fma(dy, patch, acc): the operand order of ukr_packed in the dyᵀ·patches GEMM below. */
#define Z_FMA_G(i)                                                                                   \
  {                                                                                                  \
    __m512 av = _mm512_set1_ps(a[i]);                                                                \
    z##i##a = _mm512_fmadd_ps(b0, av, z##i##a);                                                      \
    z##i##b = _mm512_fmadd_ps(b1, av, z##i##b);                                                      \
  }
/* R rows of dw (kidx = a run of R inside one kernel row, at `off` in the row's kw*ci floats) x 32
 * output channels, over kc pixels: t = chain of FMAs over the pixels in order, starting at 0; then
 * dw = t, or dw = dw + t when add. rows[p*kh]: the pixel's input row pointer for this kernel row. */
#define DEF_UKR_GW_Z(NAME, ROWS, R)                                                                  \
  static T512 void NAME(int kc, const float *const *rows, int kh, int off, const float *dy, int co,  \
                        float *c, int nv, int add) {                                                 \
    const int ldc = co, mv = (R);                                                                    \
    Z_MASKS                                                                                          \
    ROWS(Z_DECL)                                                                                     \
    ROWS(Z_ZERO)                                                                                     \
    for (int p = 0; p < kc; p++) {                                                                   \
      const float *a = rows[(size_t)p * kh] + off;                                                   \
      const float *d = dy + (size_t)p * co;                                                          \
      __m512 b0 = _mm512_maskz_loadu_ps(ma, d), b1 = _mm512_maskz_loadu_ps(mb, d + 16);              \
      ROWS(Z_FMA_G)                                                                                  \
    }                                                                                                \
    ROWS(Z_STORE)                                                                                    \
  }
DEF_UKR_GW_Z(ukr_gw_z8, ZR8, 8)
DEF_UKR_GW_Z(ukr_gw_z9, ZR9, 9)
DEF_UKR_GW_Z(ukr_gw_z12, ZR12, 12)

/* Grad filter without packing the patches: for each block of KC pixels (the same blocks as the GEMM
 * path), a table of input-row pointers (zero / zero-padded copies at the borders, like the forward);
 * the kernels broadcast the patch values straight from x and load dy rows as they are. Same values
 * and operation order per dw element as gemm_drv(dyᵀ, patches) with its KC blocks. Needs
 * kw*ci % 8 == 0 or kw*ci == 9 (rows in tiles of 12, 8 or 9 inside one kernel row). */
static T512 int conv_gw_z(const float *x, const float *dy, float *dw, int n, int h, int w, int ci, int co,
                          int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int seg = kw * ci, K = kh * seg, R = seg % 12 == 0 ? 12 : seg % 8 == 0 ? 8 : 9;
  const long M = (long)n * oh * ow;
  const float **tab = (const float **)malloc(sizeof(float *) * (size_t)KC * kh);
  float *cols = (float *)amalloc(sizeof(float) * (size_t)KC * K);
  float *zero = (float *)calloc((size_t)seg + 16, sizeof(float));
  if (!tab || !cols || !zero) {
    free(tab);
    free(cols);
    free(zero);
    return -1;
  }
  int ox = 0, oy = 0, b = 0;
  for (long pc = 0; pc < M; pc += KC) {
    const int kc = (int)(M - pc < KC ? M - pc : KC);
    for (int p = 0; p < kc; p++) {
      const int ix0 = ox * sw - pl;
      const int full = ix0 >= 0 && ix0 + kw <= w;
      for (int ky = 0; ky < kh; ky++) {
        const int iy = oy * sh - pt + ky;
        const float **e = tab + (size_t)p * kh + ky;
        if (iy < 0 || iy >= h) {
          *e = zero;
        } else if (full) {
          *e = x + (((size_t)b * h + iy) * w + ix0) * ci;
        } else {
          float *d = cols + (size_t)p * K + (size_t)ky * seg;
          for (int kx = 0; kx < kw; kx++) {
            const int ix = ix0 + kx;
            if (ix >= 0 && ix < w) {
              memcpy(d + kx * ci, x + (((size_t)b * h + iy) * w + ix) * ci, sizeof(float) * ci);
            } else {
              memset(d + kx * ci, 0, sizeof(float) * ci);
            }
          }
          *e = d;
        }
      }
      if (++ox == ow) {
        ox = 0;
        if (++oy == oh) {
          oy = 0;
          b++;
        }
      }
    }
    for (int j0 = 0; j0 < co; j0 += ZN) {
      const int nv = imin(ZN, co - j0);
      for (int ky = 0; ky < kh; ky++) {
        for (int off = 0; off < seg; off += R) {
          float *c = dw + ((size_t)ky * seg + off) * co + j0;
          if (R == 12) {
            ukr_gw_z12(kc, tab + ky, kh, off, dy + (size_t)pc * co + j0, co, c, nv, pc > 0);
          } else if (R == 8) {
            ukr_gw_z8(kc, tab + ky, kh, off, dy + (size_t)pc * co + j0, co, c, nv, pc > 0);
          } else {
            ukr_gw_z9(kc, tab + ky, kh, off, dy + (size_t)pc * co + j0, co, c, nv, pc > 0);
          }
        }
      }
    }
  }
  free(tab);
  free(cols);
  free(zero);
  return 0;
}
#endif

/* dw[kh,kw,ci,co] = Σ_pixels patchᵀ·dy, computed as dwᵀ = dyᵀ·patches (pixels are the GEMM k). */
int es_conv2d_grad_filter(const float *x, const float *dy, float *dw, int n, int h, int w, int ci, int co, int kh,
                          int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int K = kh * kw * ci;
  const long M = (long)n * oh * ow;
  if (K <= 0 || co <= 0) return 0;
#if ES_AVX512_PATH
  if (M > 0 && es_isa() == ISA_AVX512 && (kw * ci % 8 == 0 || kw * ci == 9))
    return conv_gw_z(x, dy, dw, n, h, w, ci, co, kh, kw, sh, sw, pt, pl, oh, ow);
#endif
  float *ct = (float *)amalloc(sizeof(float) * (size_t)co * K);
  if (!ct) return -1;
  dense_t da = {dy, co, 1}; /* A(i = o, k = pixel) = dy[pixel*co + o] */
  patches_t pb = {x, n, h, w, ci, kh, kw, sh, sw, pt, pl, oh, ow};
  if (gemm_drv(co, K, (int)M, pack_a_dense, &da, pack_b_patches, &pb, ct, K, 0) != 0) {
    free(ct);
    return -1;
  }
  for (int kk = 0; kk < K; kk++)
    for (int o = 0; o < co; o++) dw[(size_t)kk * co + o] = ct[(size_t)o * K + kk];
  free(ct);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Depthwise convolution (channel multiplier m: output channel = c*m + j).                    */
/* ------------------------------------------------------------------------------------------ */

int es_depthwise2d(const float *x, const float *wt, float *y, int n, int h, int w, int c, int mult, int kh, int kw,
                   int sh, int sw, int pt, int pl, int oh, int ow) {
  const int C2 = c * mult;
  for (int b = 0; b < n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        float *yo = y + (((size_t)b * oh + oy) * ow + ox) * C2;
        for (int o = 0; o < C2; o++) yo[o] = 0.0f;
        for (int ky = 0; ky < kh; ky++) {
          const int iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < kw; kx++) {
            const int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= w) continue;
            const float *xi = x + (((size_t)b * h + iy) * w + ix) * c;
            const float *wk = wt + (size_t)(ky * kw + kx) * C2;
            if (mult == 1) {
              for (int o = 0; o < C2; o++) yo[o] = yo[o] + xi[o] * wk[o];
            } else {
              for (int ch = 0; ch < c; ch++)
                for (int j = 0; j < mult; j++) yo[ch * mult + j] = yo[ch * mult + j] + xi[ch] * wk[ch * mult + j];
            }
          }
        }
      }
  return 0;
}

int es_depthwise2d_grad_input(const float *dy, const float *wt, float *dx, int n, int h, int w, int c, int mult,
                              int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int C2 = c * mult;
  memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
  for (int b = 0; b < n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        const float *go = dy + (((size_t)b * oh + oy) * ow + ox) * C2;
        for (int ky = 0; ky < kh; ky++) {
          const int iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < kw; kx++) {
            const int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= w) continue;
            float *di = dx + (((size_t)b * h + iy) * w + ix) * c;
            const float *wk = wt + (size_t)(ky * kw + kx) * C2;
            if (mult == 1) {
              for (int o = 0; o < c; o++) di[o] = di[o] + go[o] * wk[o];
            } else {
              for (int ch = 0; ch < c; ch++) {
                float s = 0.0f;
                for (int j = 0; j < mult; j++) s = s + go[ch * mult + j] * wk[ch * mult + j];
                di[ch] = di[ch] + s;
              }
            }
          }
        }
      }
  return 0;
}

/* dw accumulated in double over batch and pixels, then rounded once to float. */
int es_depthwise2d_grad_filter(const float *x, const float *dy, float *dw, int n, int h, int w, int c, int mult,
                               int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int C2 = c * mult, taps = kh * kw;
  double *acc = (double *)calloc((size_t)taps * C2 + 1, sizeof(double));
  if (!acc) return -1;
  for (int b = 0; b < n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        const float *go = dy + (((size_t)b * oh + oy) * ow + ox) * C2;
        for (int ky = 0; ky < kh; ky++) {
          const int iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < kw; kx++) {
            const int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= w) continue;
            const float *xi = x + (((size_t)b * h + iy) * w + ix) * c;
            double *ak = acc + (size_t)(ky * kw + kx) * C2;
            if (mult == 1) {
              for (int o = 0; o < C2; o++) ak[o] = ak[o] + (double)xi[o] * (double)go[o];
            } else {
              for (int ch = 0; ch < c; ch++)
                for (int j = 0; j < mult; j++)
                  ak[ch * mult + j] = ak[ch * mult + j] + (double)xi[ch] * (double)go[ch * mult + j];
            }
          }
        }
      }
  for (size_t i = 0; i < (size_t)taps * C2; i++) dw[i] = (float)acc[i];
  free(acc);
  return 0;
}

/* out[j] = Σ_p dy[p*c + j], accumulated in double, written as float. */
int es_bias_grad(const float *dy, int pixels, int c, float *out) {
  double *acc = (double *)calloc((size_t)c + 1, sizeof(double));
  if (!acc) return -1;
  for (long p = 0; p < pixels; p++) {
    const float *r = dy + (size_t)p * c;
    for (int j = 0; j < c; j++) acc[j] = acc[j] + (double)r[j];
  }
  for (int j = 0; j < c; j++) out[j] = (float)acc[j];
  free(acc);
  return 0;
}
