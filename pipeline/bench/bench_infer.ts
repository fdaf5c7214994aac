/**
 * Batch-1 inference latency of one classifier through onnxruntime-node (the exported ONNX fp32
 * file) and tfjs-wasm, optionally beside PyTorch on the same machine in the same run.
 *
 *   deno task bench:infer --model teacher --size 128 --runs 100 --warmup 10 --threads 1,2 [--torch]
 *
 * The weights are a seeded init: latency does not depend on their values. The ONNX model takes
 * NCHW input, as PyTorch does. The last stdout line is a JSON summary.
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initEngine } from "../engine/mod.ts";
import { tfjsToOnnx } from "../export/onnx_graph.ts";
import { encodeModel } from "../export/onnx_model.ts";
import { createSession, ORT_RUNTIME, runBatch } from "../export/ort.ts";
import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
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
const spec = CLASSIFIERS[args.model];
if (!spec) {
  console.error(
    `bench:infer: --model "${args.model}" is unknown; use one of ${Object.keys(CLASSIFIERS).join(", ")}`,
  );
  Deno.exit(2);
}
const [size, runs, warmup] = [Number(args.size), Number(args.runs), Number(args.warmup)];
const threads = args.threads.split(",").map(Number);
if (![size, runs, warmup, ...threads].every((n) => Number.isInteger(n) && n >= 0) || runs < 1) {
  console.error("bench:infer: --size, --runs, --warmup and --threads take positive integers");
  Deno.exit(2);
}

/** Time `fn` `warmup` + `runs` times; statistics of the timed runs. */
async function time(fn: () => Promise<unknown> | unknown): Promise<LatencyStats> {
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    await fn();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return latencyStats(times);
}

const round = (s: LatencyStats) =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Number(v.toFixed(3))]));
await initEngine();
const model = buildClassifier(spec, [size, size, 3], 1);
const bytes = encodeModel(tfjsToOnnx(model, { layout: "nchw" }));
const image = new Float32Array(3 * size * size).map((_, i) => (i * 7919 % 255) / 255);
const rows: Record<string, unknown>[] = [];

for (const t of threads) {
  const session = await createSession(bytes, { threads: t });
  const stats = await time(() => runBatch(session, image, [1, 3, size, size]));
  await session.release();
  rows.push({ runtime: ORT_RUNTIME, format: "onnx-fp32", threads: t, ...round(stats) });
}
const x = tf.tensor4d(image, [1, size, size, 3]);
const wasm = await time(() => tf.tidy(() => model.predict(x) as tf.Tensor).data());
rows.push({
  runtime: `tfjs-${tf.getBackend()} ${tf.version.tfjs}`,
  format: "tfjs",
  threads: 1,
  ...round(wasm),
});

if (args.torch) {
  const script = new URL("../engine/bench_torch.py", import.meta.url).pathname;
  for (const t of threads) {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [
        script,
        "--infer",
        "--model",
        args.model,
        "--size",
        `${size}`,
        "--runs",
        `${runs}`,
        "--warmup",
        `${warmup}`,
        "--threads",
        `${t}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output().catch((e) => ({
      success: false,
      stdout: new Uint8Array(),
      stderr: new TextEncoder().encode(e.message),
    }));
    if (!out.success) {
      console.log(
        `torch: not measured (${
          new TextDecoder().decode(out.stderr).trim().split("\n").pop()
        }); apt-get install python3-torch`,
      );
      break;
    }
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
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
for (const r of rows) {
  console.log(
    `${String(r.runtime).padEnd(32)} ${
      String(r.threads).padStart(2)
    } thread(s)  mean ${r.latency_ms_mean} ms  p50 ${r.latency_ms_p50}  p90 ${r.latency_ms_p90}`,
  );
}
console.log(JSON.stringify({ model: args.model, size, batch: 1, runs, warmup, rows }));
