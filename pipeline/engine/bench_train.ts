/**
 * Training-throughput benchmark of the engine (optionally against PyTorch on the same machine).
 *
 *   deno task bench:train --model teacher|medium|small|unet_standard|unet_depthwise --batch 32
 *     --size 128 --steps 10 [--workers N] [--torch] [--warmup 2]
 *
 * The last stdout line is a JSON summary; `img_per_s` is batch / median step time.
 */
import type * as tf from "@tensorflow/tfjs";
import { createProgress } from "../core/progress.ts";
import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
import { buildUNet, UNETS } from "../models/unet.ts";
import { createTrainer, defaultWorkers, initEngine } from "./mod.ts";
import { nativeInfo } from "./native/mod.ts";

function arg(name: string, def?: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length && !Deno.args[i + 1].startsWith("--") ? Deno.args[i + 1] : def;
}

/** CPU seconds used by this process so far, all threads (workers included); Linux only. */
function cpuSeconds(): number | undefined {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Run bench_torch.py with Debian's python3; undefined (with a message) when torch is missing. */
async function torchBench(model: string, batch: number, size: number, steps: number, warmup: number) {
  const script = new URL("./bench_torch.py", import.meta.url).pathname;
  const py = "/usr/bin/python3";
  const cmd = new Deno.Command(py, {
    args: [
      script,
      "--model",
      model,
      "--batch",
      `${batch}`,
      "--size",
      `${size}`,
      "--steps",
      `${steps}`,
      "--warmup",
      `${warmup}`,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  let out;
  try {
    out = await cmd.output();
  } catch (e) {
    console.log(`torch: cannot run ${py}: ${(e as Error).message}`);
    return undefined;
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  const err = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    console.log(`torch: bench_torch.py failed (PyTorch missing? apt-get install python3-torch):\n${err}`);
    return undefined;
  }
  for (const line of text.split("\n")) console.log(`torch: ${line}`);
  return JSON.parse(text.split("\n").pop()!) as { img_per_s: number; threads: number; torch: string };
}

const model = arg("model", "teacher")!;
const known = [...Object.keys(CLASSIFIERS), ...Object.keys(UNETS)];
if (!known.includes(model)) {
  console.error(`bench:train: --model "${model}" is unknown; use one of ${known.join(", ")}`);
  Deno.exit(2);
}
const unet = model in UNETS;
const batch = Number(arg("batch", "32")),
  size = Number(arg("size", "128")),
  steps = Number(arg("steps", "10"));
const warmup = Number(arg("warmup", "2"));
for (const [flag, value] of Object.entries({ batch, size, steps })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:train: --${flag} must be a positive integer, got "${arg(flag)}"`);
    Deno.exit(2);
  }
}
const workersArg = arg("workers");
await initEngine();
const built: tf.LayersModel = unet
  ? buildUNet(UNETS[model], [size, size, 3], 1)
  : buildClassifier(CLASSIFIERS[model], [size, size, 3], 1);
const trainer = await createTrainer({
  model: built,
  loss: unet ? "bce_dice" : "softmax_cross_entropy",
  seed: 1,
  learningRate: 1e-3,
  workers: workersArg ? Number(workersArg) : undefined,
});
const workers = workersArg ? Number(workersArg) : defaultWorkers();
let s = 12345;
const x = new Float32Array(batch * size * size * 3).map(() =>
  (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
);
const labels = unet
  ? Float32Array.from(
    { length: batch * size * size },
    () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 > 0.6 ? 1 : 0),
  )
  : Int32Array.from({ length: batch }, (_, i) => i % 2);
const times: number[] = [];
let cpu0: number | undefined;
const bar = createProgress(`bench:train ${model} b${batch} ${size}px`, warmup + steps, "step");
for (let i = 0; i < warmup + steps; i++) {
  if (i === warmup) cpu0 = cpuSeconds();
  const t0 = performance.now();
  const { loss } = await trainer.trainStep(x, labels);
  const ms = performance.now() - t0;
  if (i >= warmup) times.push(ms);
  bar.tick(1, {
    phase: i < warmup ? "warmup" : "timed",
    ms: ms.toFixed(0),
    "img/s": (batch / ms * 1000).toFixed(2),
    loss: loss.toFixed(4),
  });
}
bar.done({ "median img/s": (batch / median(times) * 1000).toFixed(2) });
const cpu1 = cpuSeconds();
await trainer.dispose();
const stepMs = median(times);
const result: Record<string, unknown> = {
  model,
  batch,
  size,
  steps,
  workers,
  kernels: nativeInfo().variant,
  isa: nativeInfo().isa,
  img_per_s: Number((batch / stepMs * 1000).toFixed(2)),
  step_ms_median: Number(stepMs.toFixed(1)),
  // CPU time per step over all threads, and the machine's load: wall-clock figures depend on it.
  cpu_ms_per_step: cpu0 !== undefined && cpu1 !== undefined ? Math.round((cpu1 - cpu0) * 1000 / steps) : null,
  loadavg_1m: Deno.loadavg()[0],
};
if (Deno.args.includes("--torch")) {
  const t = await torchBench(model, batch, size, steps, warmup);
  if (t) {
    result.torch_img_per_s = t.img_per_s;
    result.torch_threads = t.threads;
    result.torch_version = t.torch;
    result.ratio = Number(((result.img_per_s as number) / t.img_per_s).toFixed(3));
  } else result.torch_img_per_s = null;
}
console.log(JSON.stringify(result));
