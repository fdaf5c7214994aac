/**
 * Batch-1 inference latency of one model through onnxruntime-node (our exported ONNX fp32 file)
 * and tfjs-wasm, optionally beside PyTorch on the same machine in the same run.
 *
 *   deno task bench:infer --model teacher --size 128 --runs 100 --warmup 10 --threads 1,2 [--torch]
 *   deno task bench:infer --model unet_depthwise --size 128 --torch
 *
 * Models: the classifiers (teacher, medium, small) and the U-Nets (unet_standard, unet_depthwise).
 * The weights are a seeded init: latency does not depend on their values. The ONNX model takes
 * NCHW input, as PyTorch does. `--torch` adds PyTorch's own latency (eager, `torch.no_grad`) and,
 * for a U-Net, PyTorch's own ONNX export of the same model with the same weights (copied from
 * tfjs; pipeline/bench/torch_onnx.py) timed in onnxruntime-node beside ours, the two sessions
 * interleaved run by run so that a busy machine slows both alike; the ratio is ours / PyTorch's
 * mean latency, and both files' outputs on the timed image must agree within 1e-4. The last stdout
 * line is a JSON summary.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { initEngine } from "../engine/mod.ts";
import { maxAbsDiff } from "../export/evaluate.ts";
import { tfjsToOnnx } from "../export/onnx_graph.ts";
import { encodeModel } from "../export/onnx_model.ts";
import { createSession, ORT_RUNTIME, runBatch } from "../export/ort.ts";
import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
import { buildUNet, UNETS } from "../models/unet.ts";
import { type LatencyStats, latencyStats } from "./stats.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "teacher" },
    size: { type: "string", default: "128" },
    runs: { type: "string", default: "100" },
    warmup: { type: "string", default: "10" },
    threads: { type: "string", default: "1,2" },
    torch: { type: "boolean", default: false },
  },
});
const unet = UNETS[args.model];
const spec = CLASSIFIERS[args.model];
if (!spec && !unet) {
  const names = [...Object.keys(CLASSIFIERS), ...Object.keys(UNETS)].join(", ");
  console.error(`bench:infer: --model "${args.model}" is unknown; use one of ${names}`);
  Deno.exit(2);
}
const [size, runs, warmup] = [Number(args.size), Number(args.runs), Number(args.warmup)];
const threads = args.threads.split(",").map(Number);
if (![size, runs, warmup, ...threads].every((n) => Number.isInteger(n) && n >= 0) || runs < 1) {
  console.error("bench:infer: --size, --runs, --warmup and --threads take positive integers");
  Deno.exit(2);
}

/** Time `fns` `warmup` + `runs` times, one call of each in turn; statistics of each one's timed runs. */
async function time(...fns: (() => Promise<unknown> | unknown)[]): Promise<LatencyStats[]> {
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < warmup + runs; i++) {
    for (const [j, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      if (i >= warmup) times[j].push(performance.now() - t0);
    }
  }
  return times.map(latencyStats);
}

const round = (s: LatencyStats) =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Number(v.toFixed(3))]));
await initEngine();
const model = unet ? buildUNet(unet, [size, size, 3], 1) : buildClassifier(spec, [size, size, 3], 1);
const bytes = encodeModel(tfjsToOnnx(model, { layout: "nchw" }));
const image = new Float32Array(3 * size * size).map((_, i) => (i * 7919 % 255) / 255);
const dims = [1, 3, size, size];
const rows: Record<string, unknown>[] = [];
const summary: Record<string, unknown> = {};

// PyTorch's own ONNX export of the U-Net, with our weights (needs python3-torch).
const torchOnnx = args.torch && unet ? await torchExport() : undefined;
for (const t of threads) {
  const session = await createSession(bytes, { threads: t });
  if (!torchOnnx) {
    const [stats] = await time(() => runBatch(session, image, dims));
    rows.push({ runtime: ORT_RUNTIME, format: "onnx-fp32", threads: t, ...round(stats) });
  } else {
    const theirs = await createSession(torchOnnx.path, { threads: t });
    const [a, b] = [await runBatch(session, image, dims), await runBatch(theirs, image, dims)];
    const diff = maxAbsDiff(a[session.outputNames[0]], b[theirs.outputNames[0]]);
    if (!(diff <= 1e-4)) throw new Error(`bench:infer: our ONNX and PyTorch's differ by ${diff} (> 1e-4)`);
    const [ours, torch] = await time(
      () => runBatch(session, image, dims),
      () => runBatch(theirs, image, dims),
    );
    await theirs.release();
    rows.push({ runtime: ORT_RUNTIME, format: "onnx-fp32", threads: t, ...round(ours) });
    rows.push({
      runtime: ORT_RUNTIME,
      format: `onnx-fp32 (torch.onnx ${torchOnnx.torch}, opset ${torchOnnx.opset})`,
      threads: t,
      ...round(torch),
    });
    summary[`ratio_vs_torch_onnx_${t}t`] = Number((ours.latency_ms_mean / torch.latency_ms_mean).toFixed(3));
    summary.max_abs_diff_vs_torch_onnx = Math.max(Number(summary.max_abs_diff_vs_torch_onnx ?? 0), diff);
  }
  await session.release();
}
const x = tf.tensor4d(image, [1, size, size, 3]);
const [wasm] = await time(() => tf.tidy(() => model.predict(x) as tf.Tensor).data());
rows.push({
  runtime: `tfjs-${tf.getBackend()} ${tf.version.tfjs}`,
  format: "tfjs",
  threads: 1,
  ...round(wasm),
});

if (args.torch) {
  const script = new URL("../engine/bench_torch.py", import.meta.url).pathname;
  for (const t of threads) {
    const common = ["--model", args.model, "--size", `${size}`, "--runs", `${runs}`, "--warmup", `${warmup}`];
    const out = await python([script, "--infer", ...common, "--threads", `${t}`]);
    if (!out.ok) {
      console.log(`torch: not measured (${out.error}); apt-get install python3-torch`);
      break;
    }
    const r = out.json!;
    rows.push({
      runtime: `pytorch ${r.torch}`,
      format: "pytorch",
      threads: t,
      latency_ms_mean: r.latency_ms_mean,
      latency_ms_p50: r.latency_ms_p50,
      latency_ms_p90: r.latency_ms_p90,
    });
  }
}
if (torchOnnx) await Deno.remove(torchOnnx.dir, { recursive: true });
for (const r of rows) {
  console.log(
    `${String(r.runtime).padEnd(32)} ${String(r.format).padEnd(42)} ${
      String(r.threads).padStart(2)
    } thread(s)  mean ${r.latency_ms_mean} ms  p50 ${r.latency_ms_p50}  p90 ${r.latency_ms_p90}`,
  );
}
for (const t of threads) {
  const ratio = summary[`ratio_vs_torch_onnx_${t}t`];
  if (ratio !== undefined) console.log(`ours / torch.onnx's latency, ${t} thread(s): ${ratio}`);
}
console.log(JSON.stringify({ model: args.model, size, batch: 1, runs, warmup, ...summary, rows }));

/** Run Debian's python3 with `argv`; its last stdout line as JSON, or the last stderr line as the error. */
async function python(
  argv: string[],
): Promise<{ ok: boolean; json?: Record<string, string | number>; error?: string }> {
  const out = await new Deno.Command("/usr/bin/python3", { args: argv, stdout: "piped", stderr: "piped" })
    .output()
    .catch((e) => ({
      success: false,
      stdout: new Uint8Array(),
      stderr: new TextEncoder().encode(e.message),
    }));
  if (!out.success) {
    return { ok: false, error: new TextDecoder().decode(out.stderr).trim().split("\n").pop() };
  }
  return { ok: true, json: JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!) };
}

/** The U-Net's weights for torch_onnx.py (tfjs layouts, one float32 file), then PyTorch's ONNX export. */
async function torchExport() {
  const dir = await Deno.makeTempDir({ prefix: "edgeslim_torch_onnx_" });
  const values: Float32Array[] = [];
  let offset = 0;
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    class: layer.getClassName(),
    weights: layer.getWeights().map((w) => {
      values.push(w.dataSync() as Float32Array);
      offset += w.size;
      return { shape: w.shape, offset: offset - w.size };
    }),
  }));
  const data = new Float32Array(offset);
  values.reduce((at, v) => (data.set(v, at), at + v.length), 0);
  await Deno.writeFile(join(dir, "weights.bin"), new Uint8Array(data.buffer));
  const manifest = {
    model: args.model,
    filters: unet!.filters,
    separable: unet!.conv === "separable",
    bin: "weights.bin",
    layers,
  };
  await Deno.writeTextFile(join(dir, "weights.json"), JSON.stringify(manifest));
  const path = join(dir, "model.torch.onnx");
  const script = new URL("./torch_onnx.py", import.meta.url).pathname;
  const out = await python([
    script,
    "--weights",
    join(dir, "weights.json"),
    "--out",
    path,
    "--size",
    `${size}`,
  ]);
  if (!out.ok) {
    console.log(`torch.onnx: not exported (${out.error}); apt-get install python3-torch`);
    await Deno.remove(dir, { recursive: true });
    return undefined;
  }
  return { dir, path, torch: String(out.json!.torch), opset: Number(out.json!.opset) };
}
