// edgeslim remote bench runner: one self-contained ESM file, run on the device inside an
// unpacked bench bundle as `node runner.mjs [NODE_MODULES]` or `deno run -A runner.mjs [NODE_MODULES]`.
// ONNX files need only `onnxruntime-node`, found from NODE_MODULES (a folder holding it), else the
// workdir, else npm's global folder. TFLite files run through the bundle's tflite_run.py with the
// board's python3 and TFLite runtime (tflite_runtime, ai_edge_litert, tensorflow or pyarmnn); a
// board that cannot run one lists it in `errors` and goes on. Prints one JSON object on stdout;
// progress goes to stderr.
// Scores the bundled test images with the bundle's task: classification's accuracy (arg-max vs
// labels), or segmentation's Dice, IoU, pixel accuracy, soft Dice and BCE + Dice loss over every
// mask pixel at the data set's side (probabilities of a smaller model resized up first). Both copy
// pipeline/tasks/*.ts and pipeline/data/resize.ts formula for formula; the bench tests check that
// they give the same numbers.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";

const bundle = JSON.parse(readFileSync("bundle.json", "utf8"));

/** onnxruntime-node from the given node_modules, the folders above the workdir, or npm's global root. */
function loadOrt(nodeModules) {
  const bases = [];
  if (nodeModules) bases.push(join(resolve(nodeModules), "_"));
  bases.push(join(process.cwd(), "_"), join(resolve(process.cwd(), ".."), "_"));
  const tried = [];
  for (const base of bases) {
    try {
      const require = createRequire(base);
      const ort = require("onnxruntime-node");
      return { ort, version: ort.env?.versions?.node ?? "unknown" };
    } catch (e) {
      tried.push(`${base.slice(0, -2)}: ${String(e.message).split("\n")[0]}`);
    }
  }
  try {
    const root = execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
    const ort = createRequire(join(root, "_"))("onnxruntime-node");
    return { ort, version: ort.env?.versions?.node ?? "unknown" };
  } catch (e) {
    tried.push(`npm root -g: ${String(e.message).split("\n")[0]}`);
  }
  process.stderr.write(`edgeslim-runner: cannot load onnxruntime-node (tried ${tried.join("; ")})\n`);
  process.exit(3);
}

function readText(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** CPU, cores, RAM, OS, board model and runtime versions of this device. */
function deviceInfo(ortVersion, tflite) {
  const cpuinfo = readText("/proc/cpuinfo");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() || os.cpus()[0]?.model ||
    cpuinfo.match(/^Hardware\s*:\s*(.+)$/m)?.[1]?.trim() || "unknown";
  const pretty = readText("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]+)"?$/m)?.[1];
  const isDeno = typeof globalThis.Deno !== "undefined";
  return {
    cpu,
    board: readText("/proc/device-tree/model").replace(/\0/g, "").trim() || undefined,
    cores: os.cpus().length,
    ram_bytes: os.totalmem(),
    os: `${pretty ?? os.type()} (${os.platform()} ${os.release()}, ${os.arch()})`,
    runtime: isDeno ? `deno ${globalThis.Deno.version.deno}` : `node ${process.versions.node}`,
    onnxruntime_node: ortVersion,
    ...(tflite ? { tflite } : {}),
  };
}

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const pct = (p) => {
    const r = (p / 100) * (s.length - 1), lo = Math.floor(r), hi = Math.ceil(r);
    return s[lo] + (s[hi] - s[lo]) * (r - lo);
  };
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const v = times.length > 1 ? times.reduce((a, t) => a + (t - mean) ** 2, 0) / (times.length - 1) : 0;
  return {
    latency_ms_mean: mean,
    latency_ms_p50: pct(50),
    latency_ms_p90: pct(90),
    latency_ms_std: Math.sqrt(v),
    fps: 1000 / mean,
  };
}

/** Bilinear half-pixel taps along one axis, as pipeline/data/resize.ts. */
function axisTaps(from, to) {
  const lo = new Int32Array(to), hi = new Int32Array(to), w = new Float64Array(to);
  for (let i = 0; i < to; i++) {
    const s = Math.max(0, (i + 0.5) * from / to - 0.5);
    lo[i] = Math.min(from - 1, Math.floor(s));
    hi[i] = Math.min(from - 1, lo[i] + 1);
    w[i] = s - lo[i];
  }
  return { lo, hi, w };
}

/** `n` one-channel float maps from×from → to×to, bilinear with half-pixel centres (resizeBilinear). */
function resizeMaps(src, n, from, to) {
  if (from === to) return src;
  const out = new Float32Array(n * to * to), t = axisTaps(from, to);
  for (let b = 0; b < n; b++) {
    const base = b * from * from, at = (y, x) => src[base + y * from + x];
    for (let y = 0; y < to; y++) {
      for (let x = 0; x < to; x++) {
        const top = at(t.lo[y], t.lo[x]) * (1 - t.w[x]) + at(t.lo[y], t.hi[x]) * t.w[x];
        const bottom = at(t.hi[y], t.lo[x]) * (1 - t.w[x]) + at(t.hi[y], t.hi[x]) * t.w[x];
        out[(b * to + y) * to + x] = top * (1 - t.w[y]) + bottom * t.w[y];
      }
    }
  }
  return out;
}

/** Running sums of the segmentation task's score (pipeline/tasks/segmentation.ts), pixel by pixel. */
function segSums() {
  const EPS = 1e-7;
  const s = { bce: 0, inter: 0, sp: 0, st: 0, tp: 0, pp: 0, correct: 0, pixels: 0 };
  return {
    add(probs, masks) {
      for (let i = 0; i < probs.length; i++) {
        const p = Math.min(Math.max(probs[i], EPS), 1 - EPS), t = masks[i] === 1 ? 1 : 0;
        const hard = probs[i] >= 0.5 ? 1 : 0;
        s.bce -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
        s.inter += probs[i] * t;
        s.sp += probs[i];
        s.st += t;
        s.tp += hard * t;
        s.pp += hard;
        if (hard === t) s.correct++;
      }
      s.pixels += probs.length;
    },
    result(smooth = 1) {
      const softDice = (2 * s.inter + smooth) / (s.sp + s.st + smooth);
      const dice = s.pp + s.st ? 2 * s.tp / (s.pp + s.st) : 1;
      const iou = s.pp + s.st - s.tp ? s.tp / (s.pp + s.st - s.tp) : 1;
      return {
        metrics: { dice, iou, pixel_accuracy: s.correct / s.pixels, soft_dice: softDice },
        loss: s.bce / s.pixels + 1 - softDice,
      };
    },
  };
}

function toNchw(x, n, size) {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < size * size; i++) {
      for (let c = 0; c < 3; c++) out[(b * 3 + c) * size * size + i] = x[(b * size * size + i) * 3 + c];
    }
  }
  return out;
}

/** The task's metrics of `m` on its `m.count` bundled test images, batches of 32. */
async function score(predict, m, images) {
  const per = m.size * m.size * 3;
  if (bundle.task === "segmentation") {
    const sums = segSums(), side = bundle.data_size, masks = readFileSync(bundle.masks);
    for (let i = 0; i < m.count; i += 32) {
      const n = Math.min(32, m.count - i);
      const probs = resizeMaps(await predict(images.slice(i * per, (i + n) * per), n), n, m.size, side);
      sums.add(probs, masks.subarray(i * side * side, (i + n) * side * side));
    }
    return sums.result();
  }
  let correct = 0;
  for (let i = 0; i < m.count; i += 32) {
    const n = Math.min(32, m.count - i);
    const y = await predict(images.slice(i * per, (i + n) * per), n);
    const k = y.length / n;
    for (let j = 0; j < n; j++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (y[j * k + c] > y[j * k + best]) best = c;
      correct += Number(best === bundle.labels[i + j]);
    }
  }
  return { metrics: { accuracy: correct / m.count } };
}

async function benchModel(ort, m, threads, images) {
  const session = await ort.InferenceSession.create(m.file, {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const size = m.size, per = size * size * 3;
  const predict = async (x, n) => {
    const data = bundle.layout === "NCHW" ? toNchw(x, n, size) : x;
    const dims = bundle.layout === "NCHW" ? [n, 3, size, size] : [n, size, size, 3];
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", data, dims) });
    return out[session.outputNames[0]].data;
  };
  const one = images.subarray(0, per);
  for (let i = 0; i < bundle.warmup; i++) await predict(one, 1);
  const times = [];
  for (let i = 0; i < bundle.runs; i++) {
    const t0 = performance.now();
    await predict(one, 1);
    times.push(performance.now() - t0);
  }
  const scored = m.count ? await score(predict, m, images) : {};
  await session.release();
  return { ...stats(times), ...scored };
}

/**
 * A .tflite model through tflite_run.py: W + R timed runs of image 0 there (set input, invoke,
 * read output), then its outputs on the bundled images, scored here with the same code as ONNX.
 */
async function benchTflite(m, threads) {
  const out = mkdtempSync(join(os.tmpdir(), "edgeslim-tflite-"));
  try {
    const args = ["tflite_run.py", m.file, m.images, out, "--runtime", bundle.tflite_runtime];
    args.push("--threads", String(threads), "--warmup", String(bundle.warmup), "--runs", String(bundle.runs));
    let report;
    try {
      const stdout = execFileSync(bundle.python, args, { encoding: "utf8", maxBuffer: 16 << 20 });
      report = JSON.parse(stdout.trim().split("\n").pop());
    } catch (e) {
      const why = e.code === "ENOENT" ? `${bundle.python} not found` : String(e.stderr || e.message).trim();
      throw new Error(why.split("\n").filter(Boolean).pop());
    }
    const f = readFileSync(join(out, "output_0.f32"));
    const outputs = new Float32Array(f.buffer, f.byteOffset, f.byteLength / 4);
    // The outputs exist already: `score` asks for them in order, `n` images at a time.
    let at = 0;
    const per = outputs.length / report.images;
    const predict = (_x, n) => Promise.resolve(outputs.subarray(at, at += n * per));
    const scored = m.count ? await score(predict, m, imagesOf(m.images)) : {};
    const runtime = `${report.runtime} (python ${report.python})`;
    return { ...stats(report.times_ms), ...scored, runtime, backend: report.backend };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** trtexec on PATH or where JetPack puts it, else undefined. */
function findTrtexec() {
  for (const p of ["trtexec", "/usr/src/tensorrt/bin/trtexec"]) {
    try {
      execFileSync(p, ["--help"], { stdio: "ignore" });
      return p;
    } catch (e) {
      if (e.code !== "ENOENT" && e.status !== undefined) return p; // exists, --help exited non-zero
    }
  }
  return undefined;
}

const onnxModels = bundle.models.filter((m) => m.format.startsWith("onnx"));
const { ort, version } = onnxModels.length ? loadOrt(process.argv[2]) : { version: "not needed" };
const imageFiles = new Map();
/** The float32 images of one input size, read once. */
function imagesOf(file) {
  if (!imageFiles.has(file)) {
    const f = readFileSync(file);
    imageFiles.set(file, new Float32Array(f.buffer, f.byteOffset, f.byteLength / 4));
  }
  return imageFiles.get(file);
}
const results = [], errors = [];
let tflite;
for (const m of bundle.models) {
  for (const threads of bundle.threads) {
    process.stderr.write(`bench ${m.variant} ${m.format} x${threads}\n`);
    if (!m.format.startsWith("tflite")) {
      const r = await benchModel(ort, m, threads, imagesOf(m.images));
      results.push({ variant: m.variant, format: m.format, threads, ...r });
      continue;
    }
    try {
      const r = await benchTflite(m, threads);
      tflite ??= r.runtime;
      results.push({ variant: m.variant, format: m.format, threads, ...r });
    } catch (e) {
      errors.push({ variant: m.variant, format: m.format, threads, error: e.message });
    }
  }
}
const trtexec = [];
if (bundle.trtexec) {
  const bin = findTrtexec();
  for (const m of bundle.models.filter((x) => x.format === "onnx-fp32")) {
    if (!bin) {
      trtexec.push({ variant: m.variant, error: "trtexec not found (PATH, /usr/src/tensorrt/bin)" });
      continue;
    }
    try {
      const s = m.size, shape = bundle.layout === "NCHW" ? `1x3x${s}x${s}` : `1x${s}x${s}x3`;
      const args = [`--onnx=${m.file}`, "--fp16", `--shapes=input:${shape}`, "--warmUp=500"];
      const out = execFileSync(bin, args.concat([`--iterations=${bundle.runs}`]), {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      trtexec.push({ variant: m.variant, output: out });
    } catch (e) {
      trtexec.push({ variant: m.variant, error: String(e.message).slice(0, 500), output: e.stdout });
    }
  }
}
process.stdout.write(
  JSON.stringify({ device: deviceInfo(version, tflite), results, errors, trtexec }) + "\n",
);
