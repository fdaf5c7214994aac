import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import {
  type ConvGeom,
  convGeom,
  type DepthwiseGeom,
  loadNative,
  nativeInfo,
} from "../pipeline/engine/native/mod.ts";
import { seededRandom } from "../pipeline/core/random.ts";

const K = loadNative();

function rand(len: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}

/** Max abs diff, and asserts it is within tol·max|ref|. */
function check(label: string, got: Float32Array, ref: Float64Array, tol = 1e-4): void {
  assertEquals(got.length, ref.length, label);
  let d = 0, mag = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(got[i] - ref[i]));
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  console.log(`${label.padEnd(58)} maxAbsDiff=${d.toExponential(2)} (max|ref|=${mag.toFixed(2)})`);
  assert(Number.isFinite(d) && d <= tol * Math.max(mag, 1e-6), `${label}: diff ${d} > ${tol}·${mag}`);
}

// ---- reference loops (float64) ----

function forEachTap(
  g: ConvGeom | DepthwiseGeom,
  f: (b: number, oy: number, ox: number, ky: number, kx: number, iy: number, ix: number) => void,
): void {
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.pt + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.pl + kx;
            if (ix < 0 || ix >= g.w) continue;
            f(b, oy, ox, ky, kx, iy, ix);
          }
        }
      }
    }
  }
}

function refConv(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: ConvGeom): Float64Array {
  const y = new Float64Array(g.n * g.oh * g.ow * g.co);
  if (bias) {
    for (let p = 0; p < g.n * g.oh * g.ow; p++) for (let o = 0; o < g.co; o++) y[p * g.co + o] = bias[o];
  }
  forEachTap(g, (b, oy, ox, ky, kx, iy, ix) => {
    const yo = ((b * g.oh + oy) * g.ow + ox) * g.co, xi = ((b * g.h + iy) * g.w + ix) * g.ci;
    for (let c = 0; c < g.ci; c++) {
      const wi = ((ky * g.kw + kx) * g.ci + c) * g.co;
      for (let o = 0; o < g.co; o++) y[yo + o] += x[xi + c] * w[wi + o];
    }
  });
  return y;
}

function refConvGradInput(dy: Float32Array, w: Float32Array, g: ConvGeom): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.ci);
  forEachTap(g, (b, oy, ox, ky, kx, iy, ix) => {
    const yo = ((b * g.oh + oy) * g.ow + ox) * g.co, xi = ((b * g.h + iy) * g.w + ix) * g.ci;
    for (let c = 0; c < g.ci; c++) {
      const wi = ((ky * g.kw + kx) * g.ci + c) * g.co;
      for (let o = 0; o < g.co; o++) dx[xi + c] += dy[yo + o] * w[wi + o];
    }
  });
  return dx;
}

function refConvGradFilter(x: Float32Array, dy: Float32Array, g: ConvGeom): Float64Array {
  const dw = new Float64Array(g.kh * g.kw * g.ci * g.co);
  forEachTap(g, (b, oy, ox, ky, kx, iy, ix) => {
    const yo = ((b * g.oh + oy) * g.ow + ox) * g.co, xi = ((b * g.h + iy) * g.w + ix) * g.ci;
    for (let c = 0; c < g.ci; c++) {
      const wi = ((ky * g.kw + kx) * g.ci + c) * g.co;
      for (let o = 0; o < g.co; o++) dw[wi + o] += x[xi + c] * dy[yo + o];
    }
  });
  return dw;
}

function refDepthwise(x: Float32Array, w: Float32Array, g: DepthwiseGeom) {
  const C2 = g.ci * g.mult;
  const y = new Float64Array(g.n * g.oh * g.ow * C2);
  forEachTap(g, (b, oy, ox, ky, kx, iy, ix) => {
    const yo = ((b * g.oh + oy) * g.ow + ox) * C2, xi = ((b * g.h + iy) * g.w + ix) * g.ci;
    for (let c = 0; c < g.ci; c++) {
      for (let j = 0; j < g.mult; j++) {
        y[yo + c * g.mult + j] += x[xi + c] * w[(ky * g.kw + kx) * C2 + c * g.mult + j];
      }
    }
  });
  return y;
}

function refDepthwiseGradInput(dy: Float32Array, w: Float32Array, g: DepthwiseGeom) {
  const C2 = g.ci * g.mult;
  const dx = new Float64Array(g.n * g.h * g.w * g.ci);
  forEachTap(g, (b, oy, ox, ky, kx, iy, ix) => {
    const yo = ((b * g.oh + oy) * g.ow + ox) * C2, xi = ((b * g.h + iy) * g.w + ix) * g.ci;
    for (let c = 0; c < g.ci; c++) {
      for (let j = 0; j < g.mult; j++) {
        dx[xi + c] += dy[yo + c * g.mult + j] * w[(ky * g.kw + kx) * C2 + c * g.mult + j];
      }
    }
  });
  return dx;
}

function refDepthwiseGradFilter(x: Float32Array, dy: Float32Array, g: DepthwiseGeom) {
  const C2 = g.ci * g.mult;
  const dw = new Float64Array(g.kh * g.kw * C2);
  forEachTap(g, (b, oy, ox, ky, kx, iy, ix) => {
    const yo = ((b * g.oh + oy) * g.ow + ox) * C2, xi = ((b * g.h + iy) * g.w + ix) * g.ci;
    for (let c = 0; c < g.ci; c++) {
      for (let j = 0; j < g.mult; j++) {
        dw[(ky * g.kw + kx) * C2 + c * g.mult + j] += x[xi + c] * dy[yo + c * g.mult + j];
      }
    }
  });
  return dw;
}

// ---- geometries ----

type Case = { n: number; h: number; w: number; ci: number; co: number; k: [number, number]; s: number };
const CASES: Case[] = [
  { n: 1, h: 7, w: 9, ci: 3, co: 5, k: [3, 3], s: 1 },
  { n: 3, h: 8, w: 8, ci: 5, co: 13, k: [3, 3], s: 2 },
  { n: 1, h: 9, w: 7, ci: 13, co: 3, k: [3, 3], s: 2 },
  { n: 3, h: 6, w: 5, ci: 8, co: 16, k: [1, 1], s: 1 },
  { n: 1, h: 7, w: 7, ci: 13, co: 17, k: [1, 1], s: 2 },
  { n: 3, h: 8, w: 9, ci: 5, co: 7, k: [2, 2], s: 2 },
  { n: 1, h: 6, w: 6, ci: 3, co: 32, k: [2, 2], s: 1 },
  { n: 1, h: 11, w: 10, ci: 5, co: 13, k: [5, 5], s: 1 },
  { n: 3, h: 9, w: 12, ci: 3, co: 5, k: [3, 5], s: 2 },
  { n: 1, h: 16, w: 16, ci: 32, co: 40, k: [3, 3], s: 1 },
  { n: 3, h: 12, w: 12, ci: 24, co: 33, k: [3, 3], s: 2 },
  { n: 1, h: 20, w: 20, ci: 40, co: 24, k: [7, 7], s: 1 }, // K = 1960 > KC blocking
];

function geoms(): { label: string; g: ConvGeom }[] {
  const out: { label: string; g: ConvGeom }[] = [];
  for (const c of CASES) {
    for (const pad of ["same", "valid"] as const) {
      const g = convGeom({ n: c.n, h: c.h, w: c.w, ci: c.ci, co: c.co, kh: c.k[0], kw: c.k[1] }, c.s, pad);
      if (g.oh < 1 || g.ow < 1) continue;
      const label = `n${c.n} ${c.h}x${c.w}x${c.ci}->${c.co} k${c.k.join("x")} s${c.s} ${pad}`;
      out.push({ label: `${label} pad(${g.pt},${g.pl})`, g });
    }
  }
  return out;
}

Deno.test("native: variant info", () => {
  const info = nativeInfo();
  console.log(
    `variant=${info.variant} isa=${info.isa} avx512Available=${info.avx512Available} ` +
      `flags=${info.flags.join(" ")}`,
  );
  assert(info.variant === "avx2-fma" || info.variant === "portable");
  const noAvx512 = Deno.env.get("EDGESLIM_NATIVE_NO_AVX512") === "1";
  const want = info.variant === "portable"
    ? "portable"
    : info.avx512Available && !noAvx512
    ? "avx512"
    : "avx2";
  assertEquals(info.isa, want);
});

Deno.test("native: conv2d forward (with and without bias) matches reference", () => {
  let seed = 1;
  for (const { label, g } of geoms()) {
    const x = rand(g.n * g.h * g.w * g.ci, seed++), w = rand(g.kh * g.kw * g.ci * g.co, seed++);
    const bias = rand(g.co, seed++);
    const y = new Float32Array(g.n * g.oh * g.ow * g.co).fill(NaN);
    K.conv2d(x, w, bias, y, g);
    check(`conv2d ${label}`, y, refConv(x, w, bias, g));
    K.conv2d(x, w, null, y, g);
    check(`conv2d nobias ${label}`, y, refConv(x, w, null, g));
  }
});

Deno.test("native: conv2d grad input matches reference", () => {
  let seed = 100;
  for (const { label, g } of geoms()) {
    const dy = rand(g.n * g.oh * g.ow * g.co, seed++), w = rand(g.kh * g.kw * g.ci * g.co, seed++);
    const dx = new Float32Array(g.n * g.h * g.w * g.ci).fill(NaN);
    K.conv2dGradInput(dy, w, dx, g);
    check(`conv2dGradInput ${label}`, dx, refConvGradInput(dy, w, g));
  }
});

Deno.test("native: conv2d grad filter matches reference", () => {
  let seed = 200;
  for (const { label, g } of geoms()) {
    const x = rand(g.n * g.h * g.w * g.ci, seed++), dy = rand(g.n * g.oh * g.ow * g.co, seed++);
    const dw = new Float32Array(g.kh * g.kw * g.ci * g.co).fill(NaN);
    K.conv2dGradFilter(x, dy, dw, g);
    check(`conv2dGradFilter ${label}`, dw, refConvGradFilter(x, dy, g));
  }
});

Deno.test("native: conv2d grad filter over many pixels (k blocking)", () => {
  const g = convGeom({ n: 3, h: 24, w: 24, ci: 5, co: 13, kh: 3, kw: 3 }, 1, "same");
  const x = rand(g.n * g.h * g.w * g.ci, 7), dy = rand(g.n * g.oh * g.ow * g.co, 8);
  const dw = new Float32Array(g.kh * g.kw * g.ci * g.co);
  K.conv2dGradFilter(x, dy, dw, g);
  check("conv2dGradFilter n3 24x24x5->13 k3x3 s1 same (1728 px)", dw, refConvGradFilter(x, dy, g));
});

Deno.test("native: depthwise forward / grad input / grad filter match reference", () => {
  let seed = 300;
  const cases: [number, number, number, number, number, number, number][] = [
    // n, h, w, c, mult, k, s
    [1, 7, 9, 3, 1, 3, 1],
    [3, 8, 8, 13, 1, 3, 2],
    [1, 9, 7, 5, 2, 3, 2],
    [3, 6, 5, 8, 3, 1, 1],
    [1, 8, 9, 16, 1, 2, 2],
    [1, 11, 10, 5, 1, 5, 1],
  ];
  for (const [n, h, w, c, mult, k, s] of cases) {
    for (const pad of ["same", "valid"] as const) {
      const cg = convGeom({ n, h, w, ci: c, co: c * mult, kh: k, kw: k }, s, pad);
      const { co: _co, ...rest } = cg;
      const g: DepthwiseGeom = { ...rest, mult };
      const label = `n${n} ${h}x${w}x${c} m${mult} k${k} s${s} ${pad} pad(${g.pt},${g.pl})`;
      const x = rand(n * h * w * c, seed++), wt = rand(k * k * c * mult, seed++);
      const dy = rand(n * g.oh * g.ow * c * mult, seed++);
      const y = new Float32Array(n * g.oh * g.ow * c * mult).fill(NaN);
      K.depthwise2d(x, wt, y, g);
      check(`depthwise2d ${label}`, y, refDepthwise(x, wt, g));
      const dx = new Float32Array(x.length).fill(NaN);
      K.depthwise2dGradInput(dy, wt, dx, g);
      check(`depthwise2dGradInput ${label}`, dx, refDepthwiseGradInput(dy, wt, g));
      const dw = new Float32Array(wt.length).fill(NaN);
      K.depthwise2dGradFilter(x, dy, dw, g);
      check(`depthwise2dGradFilter ${label}`, dw, refDepthwiseGradFilter(x, dy, g));
    }
  }
});

Deno.test("native: biasGrad", () => {
  for (const [pixels, c] of [[1, 3], [37, 5], [1000, 13]]) {
    const dy = rand(pixels * c, pixels + c), out = new Float32Array(c);
    const ref = new Float64Array(c);
    for (let p = 0; p < pixels; p++) for (let j = 0; j < c; j++) ref[j] += dy[p * c + j];
    K.biasGrad(dy, pixels, c, out);
    check(`biasGrad pixels=${pixels} c=${c}`, out, ref);
  }
});

Deno.test("native: sgemm (transposes, leading dims, accumulate)", () => {
  let seed = 400;
  for (const [m, n, k] of [[1, 1, 1], [5, 13, 3], [37, 29, 300], [130, 17, 600], [7, 140, 65]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
        const a = rand((ta ? k : m) * lda, seed++), b = rand((tb ? n : k) * ldb, seed++);
        const c0 = rand(m * ldc, seed++);
        const ref = new Float64Array(m * ldc), refAcc = new Float64Array(m * ldc);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < ldc; j++) {
            let s = 0;
            if (j < n) {
              for (let p = 0; p < k; p++) {
                s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
              }
            }
            ref[i * ldc + j] = j < n ? s : c0[i * ldc + j];
            refAcc[i * ldc + j] = j < n ? s + c0[i * ldc + j] : c0[i * ldc + j];
          }
        }
        const label = `sgemm m${m} n${n} k${k} tA=${+ta} tB=${+tb}`;
        const c = c0.slice();
        K.sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, false);
        check(label, c, ref);
        const c2 = c0.slice();
        K.sgemm(ta, tb, m, n, k, a, lda, b, ldb, c2, ldc, true);
        check(`${label} accumulate`, c2, refAcc);
      }
    }
  }
});

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

/** Copy of `a` living at a float offset `off` inside a larger buffer (changes the 32-byte alignment). */
function shifted(a: Float32Array, off: number): Float32Array {
  const buf = new Float32Array(a.length + off + 8);
  const v = buf.subarray(off, off + a.length);
  v.set(a);
  return v;
}

Deno.test("native: bit-determinism across calls and buffer alignments", () => {
  for (const [s, pad] of [[1, "same"], [2, "same"], [1, "valid"]] as const) {
    const g = convGeom({ n: 3, h: 19, w: 17, ci: 13, co: 21, kh: 3, kw: 3 }, s, pad);
    const x = rand(g.n * g.h * g.w * g.ci, 11), w = rand(g.kh * g.kw * g.ci * g.co, 12);
    const bias = rand(g.co, 13), dy = rand(g.n * g.oh * g.ow * g.co, 14);
    const ga = rand(5 * 301, 15), gb = rand(21 * 300, 16);
    const run = (off: number) => {
      const y = shifted(new Float32Array(g.n * g.oh * g.ow * g.co), off);
      const dx = shifted(new Float32Array(x.length), off), dw = shifted(new Float32Array(w.length), off);
      const gc = shifted(new Float32Array(5 * 21), off);
      K.conv2d(shifted(x, off), shifted(w, off), shifted(bias, off), y, g);
      K.conv2dGradInput(shifted(dy, off), shifted(w, off), dx, g);
      K.conv2dGradFilter(shifted(x, off), shifted(dy, off), dw, g);
      K.sgemm(false, true, 5, 21, 300, shifted(ga, off), 301, shifted(gb, off), 300, gc, 21, false);
      return [y, dx, dw, gc];
    };
    const ref = run(0);
    for (const off of [0, 1, 3, 5, 7]) {
      const got = run(off);
      ["conv2d", "conv2dGradInput", "conv2dGradFilter", "sgemm"].forEach((name, i) => {
        assert(bitsEqual(ref[i], got[i]), `${name} s${s} ${pad}: not bit-identical at offset ${off}`);
      });
    }
    console.log(`determinism s${s} ${pad}: bit-identical over 2 calls and offsets 1,3,5,7 floats`);
  }
});

Deno.test("native: argument validation names the argument", () => {
  const g = convGeom({ n: 1, h: 4, w: 4, ci: 2, co: 3, kh: 3, kw: 3 }, 1, "same");
  throws(
    () => K.conv2d(new Float32Array(32), new Float32Array(5), null, new Float32Array(48), g),
    /w has length 5, expected 54/,
  );
  throws(() => K.biasGrad(new Float32Array(6), 2, 3, new Float32Array(2)), /out has length 2/);
});

Deno.test("native: loads in a Worker and gives the same bits as the main thread", async () => {
  const g = convGeom({ n: 2, h: 10, w: 11, ci: 13, co: 21, kh: 3, kw: 3 }, 2, "same");
  const x = rand(g.n * g.h * g.w * g.ci, 21), w = rand(g.kh * g.kw * g.ci * g.co, 22);
  const y = new Float32Array(g.n * g.oh * g.ow * g.co);
  K.conv2d(x, w, null, y, g);
  const mod = new URL("../pipeline/engine/native/mod.ts", import.meta.url).href;
  const src = `import { loadNative } from ${JSON.stringify(mod)};
self.onmessage = (e) => {
  const { x, w, g } = e.data;
  const y = new Float32Array(g.n * g.oh * g.ow * g.co);
  loadNative().conv2d(x, w, null, y, g);
  self.postMessage(y);
};`;
  const url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const got = await new Promise<Float32Array>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage({ x, w, g });
    });
    assert(bitsEqual(y, got), "worker result differs from main thread");
    console.log("worker: conv2d bit-identical to main thread");
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

/** Runs `f` with the AVX-512 and with the AVX2 kernels; the ISA is restored afterwards. */
function bothIsas<T>(f: () => T): { z: T; a: T } {
  const before = K.info.isa;
  try {
    assertEquals(K.setIsa("avx512"), "avx512");
    const z = f();
    assertEquals(K.setIsa("avx2"), "avx2");
    const a = f();
    return { z, a };
  } finally {
    if (before !== "portable") K.setIsa(before);
  }
}

/** Asserts bit equality; returns the number of floats compared. */
function sameBits(label: string, z: Float32Array, a: Float32Array): number {
  assertEquals(z.length, a.length, label);
  const uz = new Uint32Array(z.buffer, z.byteOffset, z.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < uz.length; i++) {
    if (uz[i] !== ua[i]) {
      throw new Error(`${label}: avx512 and avx2 differ at ${i} (${z[i]} vs ${a[i]}) of ${z.length}`);
    }
  }
  return z.length;
}

const ISA_EXTRA: Case[] = [
  { n: 2, h: 13, w: 11, ci: 40, co: 72, k: [3, 3], s: 1 }, // several 32-wide panels, a 8-wide tail
  { n: 1, h: 9, w: 9, ci: 3, co: 32, k: [3, 3], s: 1 }, // first-layer-like
  { n: 2, h: 12, w: 12, ci: 64, co: 48, k: [3, 3], s: 2 }, // strided grad input through the GEMM
  { n: 1, h: 17, w: 15, ci: 24, co: 100, k: [1, 1], s: 1 },
  { n: 1, h: 10, w: 10, ci: 130, co: 20, k: [3, 3], s: 1 }, // K > 2·KC for the forward
];

Deno.test("native: AVX-512 and AVX2 kernels give bit-identical outputs", () => {
  if (!K.info.avx512Available) {
    const flags = (() => {
      try {
        return Deno.readTextFileSync("/proc/cpuinfo");
      } catch {
        return "";
      }
    })();
    const cpuHas = /^flags\s*:.*\bavx512f\b/m.test(flags);
    console.log(`AVX-512 path not available (variant=${K.info.variant}, cpu avx512f=${cpuHas}): skipped`);
    if (Deno.env.get("CI") === "true" && cpuHas && K.info.variant === "avx2-fma") {
      throw new Error("CPU reports avx512f but the AVX-512 kernel path is not available");
    }
    return;
  }
  const all = [...geoms()];
  for (const c of ISA_EXTRA) {
    for (const pad of ["same", "valid"] as const) {
      const g = convGeom({ n: c.n, h: c.h, w: c.w, ci: c.ci, co: c.co, kh: c.k[0], kw: c.k[1] }, c.s, pad);
      all.push({ label: `n${c.n} ${c.h}x${c.w}x${c.ci}->${c.co} k${c.k.join("x")} s${c.s} ${pad}`, g });
    }
  }
  all.push({
    label: "n3 24x24x5->13 k3x3 s1 same (1728 px)",
    g: convGeom({ n: 3, h: 24, w: 24, ci: 5, co: 13, kh: 3, kw: 3 }, 1, "same"),
  });
  const counts = { conv2d: 0, conv2dGradInput: 0, conv2dGradFilter: 0, sgemm: 0 };
  let seed = 900, gemmCases = 0;
  for (const { label, g } of all) {
    const x = rand(g.n * g.h * g.w * g.ci, seed++), w = rand(g.kh * g.kw * g.ci * g.co, seed++);
    const bias = rand(g.co, seed++), dy = rand(g.n * g.oh * g.ow * g.co, seed++);
    const { z, a } = bothIsas(() => {
      const y = new Float32Array(g.n * g.oh * g.ow * g.co), y0 = new Float32Array(y.length);
      const dx = new Float32Array(x.length), dw = new Float32Array(w.length);
      K.conv2d(x, w, bias, y, g);
      K.conv2d(x, w, null, y0, g);
      K.conv2dGradInput(dy, w, dx, g);
      K.conv2dGradFilter(x, dy, dw, g);
      return { y, y0, dx, dw };
    });
    counts.conv2d += sameBits(`conv2d ${label}`, z.y, a.y) + sameBits(`conv2d nobias ${label}`, z.y0, a.y0);
    counts.conv2dGradInput += sameBits(`conv2dGradInput ${label}`, z.dx, a.dx);
    counts.conv2dGradFilter += sameBits(`conv2dGradFilter ${label}`, z.dw, a.dw);
  }
  for (
    const [m, n, k] of [[1, 1, 1], [5, 13, 3], [37, 29, 300], [130, 17, 600], [7, 140, 65], [50, 70, 513]]
  ) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        for (const acc of [false, true]) {
          const lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
          const a = rand((ta ? k : m) * lda, seed++), b = rand((tb ? n : k) * ldb, seed++);
          const c0 = rand(m * ldc, seed++);
          const r = bothIsas(() => {
            const c = c0.slice();
            K.sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, acc);
            return c;
          });
          counts.sgemm += sameBits(`sgemm m${m} n${n} k${k} tA=${+ta} tB=${+tb} acc=${+acc}`, r.z, r.a);
          gemmCases++;
        }
      }
    }
  }
  for (const [name, count] of Object.entries(counts)) {
    console.log(`isa bit-identity ${name.padEnd(17)}: ${count} outputs identical (avx512 vs avx2)`);
  }
  console.log(`isa bit-identity: ${all.length} conv geometries, ${gemmCases} sgemm cases`);
});

Deno.test("native: the gradient sum and Adam step are the JavaScript formulas bit for bit", () => {
  const k = K, n = 1003, rnd = seededRandom(11);
  const shards = [0, 1].map(() => Float32Array.from({ length: n }, () => (rnd() - 0.5) * 1e-2));
  const w0 = Float32Array.from({ length: n }, () => rnd() - 0.5);
  const m0 = Float64Array.from({ length: n }, () => (rnd() - 0.5) * 1e-3);
  const v0 = Float64Array.from({ length: n }, () => rnd() * 1e-5);
  const step = 7, lr = 3e-3, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  const c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
  // The trainer's JavaScript before the kernel.
  const g = new Float64Array(n), w = w0.slice(), m = m0.slice(), v = v0.slice();
  for (const s of shards) for (let i = 0; i < n; i++) g[i] += s[i];
  for (let i = 0; i < n; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    w[i] -= lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
  }
  const gn = new Float64Array(n).fill(9), wn = w0.slice(), mn = m0.slice(), vn = v0.slice();
  shards.forEach((s, i) => k.gradAccumulate(gn, s, i === 0));
  k.adam(wn, mn, vn, gn, { lr, b1, b2, c1, c2, eps });
  assertEquals(gn, g);
  assertEquals([wn, mn, vn], [w, m, v]);
  throws(() => k.adam(wn, mn, vn, new Float64Array(3), { lr, b1, b2, c1, c2, eps }), /adam g must be/);
});
