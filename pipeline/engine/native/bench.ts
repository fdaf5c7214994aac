/**
 * Single-thread GFLOP/s of the native conv kernels vs tfjs-wasm Conv2D forward.
 *
 *   npx deno run -A pipeline/engine/native/bench.ts [--runs N] [--no-tfjs] [--isa avx2|avx512|both]
 *
 * `--isa both` (the default on AVX-512 machines) measures the native kernels once per ISA; the outputs
 * of the two are bit-identical, and the table also shows the AVX-512 / AVX2 speed-up.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { type ConvGeom, convGeom, loadNative } from "./mod.ts";

const SHAPES: { name: string; n: number; hw: number; ci: number; co: number }[] = [
  { name: "cls 3->32 @128", n: 16, hw: 128, ci: 3, co: 32 },
  { name: "cls 32->64 @64", n: 16, hw: 64, ci: 32, co: 64 },
  { name: "cls 64->128 @32", n: 16, hw: 32, ci: 64, co: 128 },
  { name: "unet 32->32 @128", n: 4, hw: 128, ci: 32, co: 32 },
  { name: "unet 64->64 @64", n: 4, hw: 64, ci: 64, co: 64 },
  { name: "unet 128->128 @32", n: 4, hw: 32, ci: 128, co: 128 },
  { name: "unet 256->256 @16", n: 4, hw: 16, ci: 256, co: 256 },
  { name: "unet 64->32 @128", n: 4, hw: 128, ci: 64, co: 32 },
];

function rand(len: number): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function median(f: () => void, runs: number): number {
  f(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

/**
 * V8 runs wasm in its baseline tier first and swaps in optimised code once the background compile of
 * hot functions finishes (slow on a busy machine): call until two consecutive timings agree.
 */
function warmUp(call: () => void, maxMs = 20000): void {
  const t0 = performance.now();
  let prev = Infinity;
  for (let i = 0; performance.now() - t0 < maxMs; i++) {
    const t = performance.now();
    call();
    const dt = performance.now() - t;
    if (i >= 3 && Math.abs(dt - prev) < 0.1 * prev && performance.now() - t0 > 1000) return;
    prev = dt;
  }
}

const args = Deno.args;
const runs = Number(args[args.indexOf("--runs") + 1]) || 5;
const withTf = !args.includes("--no-tfjs");
if (withTf) {
  await tf.setBackend("wasm");
  await tf.ready();
}

const K = loadNative();
const isaArg = args.includes("--isa") ? args[args.indexOf("--isa") + 1] : "both";
if (!["avx2", "avx512", "both"].includes(isaArg)) throw new Error(`--isa ${isaArg}: avx2, avx512 or both`);
const isas: ("avx2" | "avx512")[] = K.info.variant === "portable"
  ? []
  : isaArg === "both"
  ? (K.info.avx512Available ? ["avx2", "avx512"] : ["avx2"])
  : [isaArg as "avx2" | "avx512"];
const initialIsa = K.info.isa;
console.log(
  `native variant: ${K.info.variant}; isa ${isas.join(", ") || "portable"} (avx512 available: ` +
    `${K.info.avx512Available}); median of ${runs} runs; 3x3 'same' stride 1; GFLOP/s, one thread`,
);
const tag = (k: string, isa: string) => isas.length > 1 ? `${k}:${isa === "avx512" ? "512" : "avx2"}` : k;
const kernelCols = ["fwd", "gradIn", "gradW"].flatMap((k) =>
  isas.length ? isas.map((isa) => tag(k, isa)) : [k]
);
const ratioCols = isas.length > 1 ? ["fwd x", "gIn x", "gW x"] : [];
const cols = ["shape", "batch", ...kernelCols, ...ratioCols, "tfjs-wasm fwd", "fwd ms"];
const width = (c: string) => c === "tfjs-wasm fwd" ? 14 : Math.max(8, c.length + 2);
console.log(cols[0].padEnd(20) + cols.slice(1).map((c) => c.padStart(width(c))).join(""));
for (const s of SHAPES) {
  const g: ConvGeom = convGeom({ n: s.n, h: s.hw, w: s.hw, ci: s.ci, co: s.co, kh: 3, kw: 3 }, 1, "same");
  const x = rand(g.n * g.h * g.w * g.ci), w = rand(9 * g.ci * g.co), b = rand(g.co);
  const y = new Float32Array(g.n * g.oh * g.ow * g.co), dy = rand(y.length);
  const dx = new Float32Array(x.length), dw = new Float32Array(w.length);
  const flops = 2 * g.n * g.oh * g.ow * 9 * g.ci * g.co;
  const gf = (ms: number) => flops / ms / 1e6;
  const per: { fwd: number; gin: number; gw: number }[] = [];
  for (const isa of isas.length ? isas : [undefined]) {
    if (isa) K.setIsa(isa);
    per.push({
      fwd: median(() => K.conv2d(x, w, b, y, g), runs),
      gin: median(() => K.conv2dGradInput(dy, w, dx, g), runs),
      gw: median(() => K.conv2dGradFilter(x, dy, dw, g), runs),
    });
  }
  if (initialIsa !== "portable") K.setIsa(initialIsa);
  const fwd = per[per.length - 1].fwd;
  let tfj = NaN;
  if (withTf) {
    const tx = tf.tensor4d(x, [g.n, g.h, g.w, g.ci]), tw = tf.tensor4d(w, [3, 3, g.ci, g.co]);
    const call = () => {
      // (no tf.tidy here: wrapped in tidy the wasm Conv2D measured 10-20x slower in Deno)
      const ty = tf.conv2d(tx, tw, 1, "same");
      ty.dataSync();
      ty.dispose();
    };
    warmUp(call);
    tfj = median(call, runs);
    tx.dispose();
    tw.dispose();
  }
  console.log(
    s.name.padEnd(20) + String(s.n).padStart(8) +
      (["fwd", "gin", "gw"] as const).flatMap((k) => per.map((r) => gf(r[k]))).map((v, i) =>
        v.toFixed(1).padStart(width(kernelCols[i]))
      ).join("") +
      (per.length > 1
        ? (["fwd", "gin", "gw"] as const).map((k, i) =>
          (per[0][k] / per[1][k]).toFixed(2).padStart(width(ratioCols[i]))
        ).join("")
        : "") +
      (withTf ? gf(tfj).toFixed(1) : "-").padStart(14) + fwd.toFixed(1).padStart(8),
  );
}
