// edgeslim remote bench runner: one self-contained ESM file, run on the device inside an
// unpacked bench bundle as `node runner.mjs [NODE_MODULES]` or `deno run -A runner.mjs [NODE_MODULES]`.
// Needs only `onnxruntime-node`, found from NODE_MODULES (a folder holding it), else the
// workdir, else npm's global folder. Prints one JSON object on stdout; progress goes to stderr.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
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
function deviceInfo(ortVersion) {
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

function toNchw(x, n, size) {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < size * size; i++) {
      for (let c = 0; c < 3; c++) out[(b * 3 + c) * size * size + i] = x[(b * size * size + i) * 3 + c];
    }
  }
  return out;
}

async function benchModel(ort, m, threads, images) {
  const session = await ort.InferenceSession.create(m.file, {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const size = bundle.size, per = size * size * 3;
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
  let correct = 0;
  for (let i = 0; i < bundle.count; i += 32) {
    const n = Math.min(32, bundle.count - i);
    const y = await predict(images.slice(i * per, (i + n) * per), n);
    const k = y.length / n;
    for (let j = 0; j < n; j++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (y[j * k + c] > y[j * k + best]) best = c;
      correct += Number(best === bundle.labels[i + j]);
    }
  }
  await session.release();
  return { ...stats(times), accuracy: bundle.count ? correct / bundle.count : undefined };
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

const { ort, version } = loadOrt(process.argv[2]);
const f = readFileSync(bundle.images);
const images = new Float32Array(f.buffer, f.byteOffset, f.byteLength / 4);
const results = [];
for (const m of bundle.models) {
  for (const threads of bundle.threads) {
    process.stderr.write(`bench ${m.variant} ${m.format} x${threads}\n`);
    results.push({
      variant: m.variant,
      format: m.format,
      threads,
      ...(await benchModel(ort, m, threads, images)),
    });
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
      const s = bundle.size, shape = bundle.layout === "NCHW" ? `1x3x${s}x${s}` : `1x${s}x${s}x3`;
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
process.stdout.write(JSON.stringify({ device: deviceInfo(version), results, trtexec }) + "\n");
