/**
 * Native CPU kernels (C, built at first use with the system `cc`, loaded with `Deno.dlopen`).
 *
 * All kernels are float32, NHWC, contiguous, single-threaded and bit-deterministic: the summation
 * order depends only on the shapes. Conv weights are HWIO (`w[ky][kx][ci][co]`), depthwise weights
 * `[kh][kw][c][mult]` (output channel `c*mult + j`).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Explicit conv geometry. Bottom/right padding is implied by `oh`/`ow`. Dilation 1 only. */
export interface ConvGeom {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  /** stride y, x */
  sh: number;
  sw: number;
  /** padding top, left */
  pt: number;
  pl: number;
  oh: number;
  ow: number;
}

/** Depthwise geometry: `ci` input channels, `ci*mult` output channels. */
export type DepthwiseGeom = Omit<ConvGeom, "co"> & { mult: number };

/** Instruction set the GEMM/conv kernels run with (results are bit-identical between "avx512" and "avx2"). */
export type NativeIsa = "avx512" | "avx2" | "portable";

/** Which build is loaded. */
export interface NativeInfo {
  variant: "avx2-fma" | "portable";
  flags: string[];
  path: string;
  /**
   * Active ISA of the conv/GEMM kernels: "avx512" on CPUs with AVX-512F/BW/VL (unless
   * `EDGESLIM_NATIVE_NO_AVX512=1` or `setIsa("avx2")`), else "avx2"; "portable" for the portable build.
   * Process-wide (shared by every Worker of the process).
   */
  isa: NativeIsa;
  /** Whether this CPU and build can run the AVX-512 path. */
  avx512Available: boolean;
}

/** Typed, validated, synchronous wrappers around the C kernels. Outputs are overwritten. */
export interface NativeKernels {
  /** y = conv(x, w) (+ bias[co]). */
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, g: ConvGeom): void;
  /** dx (n·h·w·ci) = ∂conv/∂x applied to dy. */
  conv2dGradInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: ConvGeom): void;
  /** dw (kh·kw·ci·co) = Σ over batch and pixels. */
  conv2dGradFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeom): void;
  depthwise2d(x: Float32Array, w: Float32Array, y: Float32Array, g: DepthwiseGeom): void;
  depthwise2dGradInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: DepthwiseGeom): void;
  /** dw accumulated in double, rounded once to float. */
  depthwise2dGradFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: DepthwiseGeom): void;
  /** out[j] = Σ_p dy[p·c + j] (Float32Array out, accumulated in double). */
  biasGrad(dy: Float32Array, pixels: number, c: number, out: Float32Array): void;
  /** Row-major C = op(A)·op(B), or C += op(A)·op(B) when `accumulate`; op(A) is m×k, op(B) k×n. */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    c: Float32Array,
    ldc: number,
    accumulate: boolean,
  ): void;
  /** y = max(x, 0) (x and y may be the same array). */
  relu(x: Float32Array, y: Float32Array): void;
  /** dz = y > 0 ? dy : 0, from the ReLU's output y. */
  reluGrad(y: Float32Array, dy: Float32Array, dz: Float32Array): void;
  /** Per channel of NHWC x: out[j] = Σ x, out[c + j] = Σ x² (out: 2c doubles). */
  channelSums(x: Float32Array, c: number, out: Float64Array): void;
  /** y = (x − mean)·invstd·gamma + beta per channel. */
  bnApply(
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
  ): void;
  /** out[j] = Σ dy, out[c + j] = Σ dy·(x − mean)·invstd (2c doubles). */
  bnGradSums(
    x: Float32Array,
    dy: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    out: Float64Array,
  ): void;
  /** dx = scale·(dy − mdy − xhat·mdyx) per channel. */
  bnGradInput(
    x: Float32Array,
    dy: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    scale: Float32Array,
    mdy: Float32Array,
    mdyx: Float32Array,
    dx: Float32Array,
  ): void;
  /**
   * Selects the ISA of the conv/GEMM kernels for the whole process (all Workers): "avx512" falls back to
   * "avx2" where unsupported. Returns the active ISA (also in `info.isa`). Outputs do not depend on it.
   */
  setIsa(isa: "avx512" | "avx2"): NativeIsa;
  /** Max pooling with the window [ph, pw], strides and padding of `g` (kh/kw = window); arg = input index of the first max. */
  maxPool(x: Float32Array, g: PoolGeom, out: Float32Array, arg: Int32Array): void;
  /** dx (zeroed first) gets dy at the max positions. */
  maxPoolGrad(dy: Float32Array, arg: Int32Array, dx: Float32Array): void;
  /** acc = g (`first`) or acc += g, in double: the shards' gradients summed in shard order. */
  gradAccumulate(acc: Float64Array, g: Float32Array, first: boolean): void;
  /**
   * One Adam step in place: m, v (double) from the summed gradient g, then
   * w ← w − lr·(m / c1) / (√(v / c2) + eps), with the bias corrections c1 = 1 − b1^t, c2 = 1 − b2^t.
   */
  adam(
    w: Float32Array,
    m: Float64Array,
    v: Float64Array,
    g: Float64Array,
    o: { lr: number; b1: number; b2: number; c1: number; c2: number; eps: number },
  ): void;
  info: NativeInfo;
}

/** Pooling geometry: n images h×w×c, window ph×pw, strides, padding top/left, output size. */
export interface PoolGeom {
  n: number;
  h: number;
  w: number;
  c: number;
  ph: number;
  pw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  oh: number;
  ow: number;
}

/** TF-style geometry for 'same' / 'valid' padding (asymmetric 'same': extra pad goes bottom/right). */
export function convGeom(
  o: { n: number; h: number; w: number; ci: number; co: number; kh: number; kw: number },
  stride: number | [number, number],
  padding: "same" | "valid",
): ConvGeom {
  const [sh, sw] = typeof stride === "number" ? [stride, stride] : stride;
  if (padding === "valid") {
    return {
      ...o,
      sh,
      sw,
      pt: 0,
      pl: 0,
      oh: Math.floor((o.h - o.kh) / sh) + 1,
      ow: Math.floor((o.w - o.kw) / sw) + 1,
    };
  }
  const oh = Math.ceil(o.h / sh), ow = Math.ceil(o.w / sw);
  const padH = Math.max((oh - 1) * sh + o.kh - o.h, 0), padW = Math.max((ow - 1) * sw + o.kw - o.w, 0);
  return { ...o, sh, sw, pt: Math.floor(padH / 2), pl: Math.floor(padW / 2), oh, ow };
}

// -fno-math-errno lets Adam's sqrt vectorise (it only drops errno on negative inputs; values are the same).
const AVX2_FLAGS = [
  "-O3",
  "-mavx2",
  "-mfma",
  "-ffp-contract=off",
  "-fno-fast-math",
  "-fno-math-errno",
  "-fPIC",
  "-shared",
];
const PORTABLE_FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-fPIC", "-shared"];
const LIB = "libedgeslim_kernels.so";
// kernels.c: convolutions and GEMM; pointwise.c: the memory-bound layer kernels (ReLU, BN, pooling);
// adam.c: the trainer's gradient sum and Adam step.
const SOURCES = ["./kernels.c", "./pointwise.c", "./adam.c"].map((f) => new URL(f, import.meta.url));

const G = Array(13).fill("i32") as "i32"[];
const SYMBOLS = {
  es_variant: { parameters: [], result: "i32" },
  es_isa: { parameters: [], result: "i32" },
  es_set_isa: { parameters: ["i32"], result: "i32" },
  es_cpu_avx512: { parameters: [], result: "i32" },
  es_conv2d: { parameters: ["buffer", "buffer", "buffer", "buffer", ...G], result: "i32" },
  es_conv2d_grad_input: { parameters: ["buffer", "buffer", "buffer", ...G], result: "i32" },
  es_conv2d_grad_filter: { parameters: ["buffer", "buffer", "buffer", ...G], result: "i32" },
  es_depthwise2d: { parameters: ["buffer", "buffer", "buffer", ...G], result: "i32" },
  es_depthwise2d_grad_input: { parameters: ["buffer", "buffer", "buffer", ...G], result: "i32" },
  es_depthwise2d_grad_filter: { parameters: ["buffer", "buffer", "buffer", ...G], result: "i32" },
  es_bias_grad: { parameters: ["buffer", "i32", "i32", "buffer"], result: "i32" },
  es_sgemm: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "buffer", "i32", "buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  es_relu: { parameters: ["buffer", "buffer", "i64"], result: "i32" },
  es_relu_grad: { parameters: ["buffer", "buffer", "buffer", "i64"], result: "i32" },
  es_channel_sums: { parameters: ["buffer", "i64", "i32", "buffer"], result: "i32" },
  es_bn_apply: {
    parameters: ["buffer", "i64", "i32", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  es_bn_grad_sums: {
    parameters: ["buffer", "buffer", "i64", "i32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  es_bn_grad_input: {
    parameters: [
      "buffer",
      "buffer",
      "i64",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  es_maxpool: { parameters: ["buffer", ...Array(12).fill("i32"), "buffer", "buffer"], result: "i32" },
  es_maxpool_grad: { parameters: ["buffer", "buffer", "i64", "buffer", "i64"], result: "i32" },
  es_grad_accumulate: { parameters: ["buffer", "buffer", "i64", "i32"], result: "i32" },
  es_adam: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "i64", "f64", "f64", "f64", "f64", "f64", "f64"],
    result: "i32",
  },
} as const;

function hasAvx2Fma(): boolean {
  if (Deno.build.arch !== "x86_64") return false;
  if (Deno.build.os !== "linux") return true; // no /proc/cpuinfo: assume a modern x86-64
  try {
    const flags = Deno.readTextFileSync("/proc/cpuinfo").match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
    return flags.includes("avx2") && flags.includes("fma");
  } catch {
    return false;
  }
}

function plan(): { flags: string[]; path: string; dir: string } {
  // EDGESLIM_NATIVE_PORTABLE=1 forces the portable build (for testing it on an AVX2 machine).
  const forcePortable = Deno.env.get("EDGESLIM_NATIVE_PORTABLE") === "1";
  const flags = hasAvx2Fma() && !forcePortable ? AVX2_FLAGS : PORTABLE_FLAGS;
  const hasher = createHash("sha256");
  for (const src of SOURCES) hasher.update(Deno.readTextFileSync(src)).update("\0");
  const hash = hasher.update(flags.join(" ")).digest("hex").slice(0, 16);
  const dir = decodeURIComponent(new URL(`./.build/${hash}/`, import.meta.url).pathname);
  return { flags, dir, path: dir + LIB };
}

function exists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

function compileArgs(flags: string[], out: string): string[] {
  return [...flags, "-o", out, ...SOURCES.map((src) => decodeURIComponent(src.pathname)), "-lm"];
}

function compileError(what: string, detail: string): Error {
  return new Error(
    `edgeslim native kernels: ${what}. A C compiler is needed (install it with \`apt-get install gcc\`).` +
      (detail ? `\n${detail}` : ""),
  );
}

function finishBuild(path: string, tmp: string, ok: boolean, stderr: Uint8Array): string {
  if (!ok) {
    try {
      Deno.removeSync(tmp);
    } catch { /* nothing written */ }
    throw compileError("`cc` failed to compile the kernels", new TextDecoder().decode(stderr));
  }
  Deno.renameSync(tmp, path); // atomic: a concurrent builder just overwrites with identical bytes
  return path;
}

function tmpName(path: string): string {
  return `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

function buildSync(): string {
  const { flags, dir, path } = plan();
  if (exists(path)) return path;
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = tmpName(path);
  let out;
  try {
    out = new Deno.Command("cc", { args: compileArgs(flags, tmp), stdout: "piped", stderr: "piped" })
      .outputSync();
  } catch (e) {
    throw compileError(`could not run \`cc\` (${(e as Error).message})`, "");
  }
  return finishBuild(path, tmp, out.success, out.stderr);
}

/** Builds the shared library if it is not built yet; resolves to its path. */
export async function buildNative(): Promise<string> {
  const { flags, dir, path } = plan();
  if (exists(path)) return path;
  await Deno.mkdir(dir, { recursive: true });
  const tmp = tmpName(path);
  let out;
  try {
    out = await new Deno.Command("cc", { args: compileArgs(flags, tmp), stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    throw compileError(`could not run \`cc\` (${(e as Error).message})`, "");
  }
  return finishBuild(path, tmp, out.success, out.stderr);
}

function need(name: string, a: Float32Array | null | undefined, len: number): void {
  if (!(a instanceof Float32Array)) throw new Error(`native: ${name} must be a Float32Array`);
  if (a.length !== len) throw new Error(`native: ${name} has length ${a.length}, expected ${len}`);
}

function checkGeom(g: Record<string, number>, keys: string[]): number[] {
  return keys.map((k) => {
    const v = g[k];
    if (!Number.isInteger(v) || v < (k === "pt" || k === "pl" ? -(2 ** 30) : 0) || v > 2 ** 31 - 1) {
      throw new Error(`native: geometry field ${k} = ${v} is not a valid integer`);
    }
    return v;
  });
}

const CONV_KEYS = ["n", "h", "w", "ci", "co", "kh", "kw", "sh", "sw", "pt", "pl", "oh", "ow"];
const DW_KEYS = ["n", "h", "w", "ci", "mult", "kh", "kw", "sh", "sw", "pt", "pl", "oh", "ow"];

let cached: NativeKernels | undefined; // module state is per isolate, i.e. per thread / Worker

/** Builds (if needed) and dlopens the kernels; cached per thread (each Worker opens its own handle). */
export function loadNative(): NativeKernels {
  if (cached) return cached;
  const { flags } = plan();
  const path = buildSync();
  const lib = Deno.dlopen(path, SYMBOLS).symbols;
  const ok = (name: string, rc: number) => {
    if (rc !== 0) throw new Error(`native: ${name} failed (scratch allocation, rc=${rc})`);
  };
  const conv = (g: ConvGeom) => {
    const v = checkGeom(g as unknown as Record<string, number>, CONV_KEYS);
    if (g.sh < 1 || g.sw < 1) throw new Error("native: strides must be >= 1");
    return v as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
  };
  const dw = (g: DepthwiseGeom) => {
    const v = checkGeom(g as unknown as Record<string, number>, DW_KEYS);
    if (g.sh < 1 || g.sw < 1) throw new Error("native: strides must be >= 1");
    return v as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
  };
  const isaName = (v: number): NativeIsa => v === 2 ? "avx512" : v === 1 ? "avx2" : "portable";
  // The ISA is process-wide C state (the library is loaded once per process): only touch it when asked.
  if (Deno.env.get("EDGESLIM_NATIVE_NO_AVX512") === "1") lib.es_set_isa(1);
  const info: NativeInfo = {
    variant: lib.es_variant() === 1 ? "avx2-fma" : "portable",
    flags,
    path,
    get isa() {
      return isaName(lib.es_isa());
    },
    avx512Available: lib.es_cpu_avx512() === 1,
  };
  const perChannel = (name: string, c: number, ...arrays: Float32Array[]) =>
    arrays.forEach((a) => need(name, a, c));
  cached = {
    info,
    setIsa(isa) {
      if (isa !== "avx512" && isa !== "avx2") throw new Error(`native: unknown ISA ${isa}`);
      return isaName(lib.es_set_isa(isa === "avx512" ? 2 : 1));
    },
    relu(x, y) {
      need("y", y, x.length);
      ok("relu", lib.es_relu(x, y, BigInt(x.length)));
    },
    reluGrad(y, dy, dz) {
      need("dy", dy, y.length);
      need("dz", dz, y.length);
      ok("reluGrad", lib.es_relu_grad(y, dy, dz, BigInt(y.length)));
    },
    channelSums(x, c, out) {
      if (out.length !== 2 * c || x.length % c) {
        throw new Error(`native: channelSums of ${x.length} values over ${c} channels`);
      }
      ok("channelSums", lib.es_channel_sums(x, BigInt(x.length / c), c, out));
    },
    bnApply(x, mean, invstd, gamma, beta, y) {
      const c = mean.length;
      perChannel("bn vector", c, invstd, gamma, beta);
      need("y", y, x.length);
      ok("bnApply", lib.es_bn_apply(x, BigInt(x.length / c), c, mean, invstd, gamma, beta, y));
    },
    bnGradSums(x, dy, mean, invstd, out) {
      const c = mean.length;
      perChannel("invstd", c, invstd);
      need("dy", dy, x.length);
      if (out.length !== 2 * c) throw new Error(`native: bnGradSums out must have ${2 * c} values`);
      ok("bnGradSums", lib.es_bn_grad_sums(x, dy, BigInt(x.length / c), c, mean, invstd, out));
    },
    bnGradInput(x, dy, mean, invstd, scale, mdy, mdyx, dx) {
      const c = mean.length;
      perChannel("bn vector", c, invstd, scale, mdy, mdyx);
      need("dy", dy, x.length);
      need("dx", dx, x.length);
      ok(
        "bnGradInput",
        lib.es_bn_grad_input(x, dy, BigInt(x.length / c), c, mean, invstd, scale, mdy, mdyx, dx),
      );
    },
    maxPool(x, g, out, arg) {
      need("x", x, g.n * g.h * g.w * g.c);
      need("out", out, g.n * g.oh * g.ow * g.c);
      if (arg.length !== out.length) {
        throw new Error(`native: maxPool arg has length ${arg.length}, expected ${out.length}`);
      }
      if (x.length > 2 ** 31 - 1) throw new Error("native: maxPool input over 2^31 values");
      const v = [g.n, g.h, g.w, g.c, g.ph, g.pw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow] as const;
      ok("maxPool", lib.es_maxpool(x, ...v, out, arg));
    },
    maxPoolGrad(dy, arg, dx) {
      if (arg.length !== dy.length) {
        throw new Error(`native: maxPoolGrad arg has length ${arg.length}, expected ${dy.length}`);
      }
      ok("maxPoolGrad", lib.es_maxpool_grad(dy, arg, BigInt(dy.length), dx, BigInt(dx.length)));
    },
    gradAccumulate(acc, g, first) {
      if (!(acc instanceof Float64Array) || acc.length !== g.length) {
        throw new Error(`native: gradAccumulate of ${g.length} values into ${acc.length}`);
      }
      ok("gradAccumulate", lib.es_grad_accumulate(acc, g, BigInt(g.length), first ? 1 : 0));
    },
    adam(w, m, v, g, o) {
      for (const [name, a] of [["m", m], ["v", v], ["g", g]] as const) {
        if (!(a instanceof Float64Array) || a.length !== w.length) {
          throw new Error(`native: adam ${name} must be a Float64Array of ${w.length} values`);
        }
      }
      ok("adam", lib.es_adam(w, m, v, g, BigInt(w.length), o.lr, o.b1, o.b2, o.c1, o.c2, o.eps));
    },
    conv2d(x, w, bias, y, g) {
      const v = conv(g);
      need("x", x, g.n * g.h * g.w * g.ci);
      need("w", w, g.kh * g.kw * g.ci * g.co);
      if (bias !== null) need("bias", bias, g.co);
      need("y", y, g.n * g.oh * g.ow * g.co);
      ok("conv2d", lib.es_conv2d(x, w, bias, y, ...v));
    },
    conv2dGradInput(dy, w, dx, g) {
      const v = conv(g);
      need("dy", dy, g.n * g.oh * g.ow * g.co);
      need("w", w, g.kh * g.kw * g.ci * g.co);
      need("dx", dx, g.n * g.h * g.w * g.ci);
      ok("conv2dGradInput", lib.es_conv2d_grad_input(dy, w, dx, ...v));
    },
    conv2dGradFilter(x, dy, dwo, g) {
      const v = conv(g);
      need("x", x, g.n * g.h * g.w * g.ci);
      need("dy", dy, g.n * g.oh * g.ow * g.co);
      need("dw", dwo, g.kh * g.kw * g.ci * g.co);
      ok("conv2dGradFilter", lib.es_conv2d_grad_filter(x, dy, dwo, ...v));
    },
    depthwise2d(x, w, y, g) {
      const v = dw(g);
      need("x", x, g.n * g.h * g.w * g.ci);
      need("w", w, g.kh * g.kw * g.ci * g.mult);
      need("y", y, g.n * g.oh * g.ow * g.ci * g.mult);
      ok("depthwise2d", lib.es_depthwise2d(x, w, y, ...v));
    },
    depthwise2dGradInput(dy, w, dx, g) {
      const v = dw(g);
      need("dy", dy, g.n * g.oh * g.ow * g.ci * g.mult);
      need("w", w, g.kh * g.kw * g.ci * g.mult);
      need("dx", dx, g.n * g.h * g.w * g.ci);
      ok("depthwise2dGradInput", lib.es_depthwise2d_grad_input(dy, w, dx, ...v));
    },
    depthwise2dGradFilter(x, dy, dwo, g) {
      const v = dw(g);
      need("x", x, g.n * g.h * g.w * g.ci);
      need("dy", dy, g.n * g.oh * g.ow * g.ci * g.mult);
      need("dw", dwo, g.kh * g.kw * g.ci * g.mult);
      ok("depthwise2dGradFilter", lib.es_depthwise2d_grad_filter(x, dy, dwo, ...v));
    },
    biasGrad(dy, pixels, c, out) {
      checkGeom({ pixels, c }, ["pixels", "c"]);
      need("dy", dy, pixels * c);
      need("out", out, c);
      ok("biasGrad", lib.es_bias_grad(dy, pixels, c, out));
    },
    sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate) {
      checkGeom({ m, n, k, lda, ldb, ldc }, ["m", "n", "k", "lda", "ldb", "ldc"]);
      const span = (rows: number, cols: number, ld: number, name: string) => {
        if (ld < cols) throw new Error(`native: ${name} = ${ld} must be >= ${cols}`);
        return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
      };
      const needAtLeast = (name: string, arr: Float32Array, len: number) => {
        if (!(arr instanceof Float32Array)) throw new Error(`native: ${name} must be a Float32Array`);
        if (arr.length < len) throw new Error(`native: ${name} has length ${arr.length}, expected >= ${len}`);
      };
      needAtLeast("a", a, transA ? span(k, m, lda, "lda") : span(m, k, lda, "lda"));
      needAtLeast("b", b, transB ? span(n, k, ldb, "ldb") : span(k, n, ldb, "ldb"));
      needAtLeast("c", c, span(m, n, ldc, "ldc"));
      ok("sgemm", lib.es_sgemm(+transA, +transB, m, n, k, a, lda, b, ldb, c, ldc, +accumulate));
    },
  };
  return cached;
}

/** Which variant (AVX2+FMA or portable) is in use, with its compile flags and library path. */
export function nativeInfo(): NativeInfo {
  return loadNative().info;
}
