/**
 * Bench on devices over SSH: copy a bundle to each device's workdir, run `runner.mjs` there with
 * Node.js or Deno, bring back the JSON. Devices run in parallel; each result is cached in the
 * cache folder keyed by (device config, bundle hash), so a rerun only retries failed devices
 * (`force` re-measures every device and replaces its cached result).
 */
import { dirname, join } from "node:path";
import { z } from "zod";
import { canonicalJson, sha256 } from "../core/hash.ts";
import type { Bundle } from "./bundle.ts";
import type { LatencyStats } from "./stats.ts";
import { parseTarget, quotePath, shellQuote, SshConnection, SshError, type SshFailureKind } from "./ssh.ts";
import { writeFileAtomic } from "../core/atomic_write.ts";

/** Formats a device can bench (tfjs stays local; TFLite runs through the board's python3). */
export const DEVICE_FORMATS = [
  "onnx-fp32",
  "onnx-fp16",
  "onnx-int8",
  "tflite-fp32",
  "tflite-fp16",
  "tflite-int8",
] as const;

/** TFLite runtimes the device's tflite_run.py can use (`auto`: the first of the rest it imports). */
export const TFLITE_RUNTIMES = ["auto", "tflite_runtime", "ai_edge_litert", "tensorflow", "armnn"] as const;

/** One device of the bench stage's `devices` param. */
export const deviceSchema = z.strictObject({
  /** Name in rows (`device`) and in results.part.json `devices`. */
  name: z.string().min(1),
  /** `[user@]host[:port]` or a Host alias of ~/.ssh/config. */
  ssh: z.string().refine((s) => {
    try {
      return Boolean(parseTarget(s));
    } catch {
      return false;
    }
  }, { message: "expected [user@]host[:port] or an ssh config alias" }),
  /** Runs runner.mjs: `node runner.mjs` or `deno run -A runner.mjs`. */
  runtime: z.enum(["node", "deno"]).default("node"),
  /** The runtime's binary on the device (default: `node`/`deno` on the login PATH). */
  runtime_path: z.string().min(1).optional(),
  /** Remote folder the bundle is unpacked under (`~/` allowed). */
  workdir: z.string().min(1).default("~/edgeslim-bench"),
  formats: z.array(z.enum(DEVICE_FORMATS)).min(1).default(["onnx-fp32", "onnx-int8"]),
  /** onnxruntime intra-op thread counts. */
  threads: z.array(z.int().min(1)).min(1).default([1]),
  /** python3 on the device, for TFLite files. */
  python: z.string().min(1).default("python3"),
  /** Its TFLite runtime: tflite_runtime, ai_edge_litert (LiteRT), tensorflow, armnn (pyarmnn), or auto. */
  tflite_runtime: z.enum(TFLITE_RUNTIMES).default("auto"),
  /** Also bench onnx-fp32 with TensorRT (`trtexec --fp16`) where the device has trtexec. */
  trtexec: z.boolean().default(false),
  /** Remote folder holding `onnxruntime-node` when it is neither in the workdir nor global. */
  node_modules: z.string().min(1).optional(),
  /** Local ssh config file passed with `-F` (default: ~/.ssh/config). */
  ssh_config: z.string().min(1).optional(),
  /** Extra ssh `-o` options, e.g. { StrictHostKeyChecking: accept-new }. */
  options: z.record(z.string().regex(/^[A-Za-z]+$/), z.union([z.string(), z.number(), z.boolean()])).default(
    {},
  ),
});

export type DeviceConfig = z.infer<typeof deviceSchema>;

/** What the runner reports about the device. */
export interface DeviceInfo {
  cpu: string;
  board?: string;
  cores: number;
  ram_bytes: number;
  os: string;
  /** e.g. "node 20.11.1" or "deno 2.9.6". */
  runtime: string;
  /** Its version, or "not needed" when the bundle held no ONNX file. */
  onnxruntime_node: string;
  /** The TFLite runtime that ran the first TFLite file, e.g. "tflite_runtime 2.14.0 (python 3.11.2)". */
  tflite?: string;
}

/** One model × threads measured by the runner. */
export interface RemoteResult extends LatencyStats {
  variant: string;
  format: string;
  threads: number;
  /** The task's metrics on the bundled test images, by name (absent when none were bundled). */
  metrics?: Record<string, number>;
  /** Segmentation: the task's loss (BCE + 1 − soft Dice) on those images. */
  loss?: number;
  /** TFLite files: the runtime that ran it and its backend (e.g. "CpuAcc"). */
  runtime?: string;
  backend?: string;
}

/** A model the device could not run (TFLite only: no runtime, or an op its runtime lacks). */
export interface RemoteError {
  variant: string;
  format: string;
  threads: number;
  error: string;
}

/** What the runner prints. */
export interface RunnerOutput {
  device: DeviceInfo;
  results: RemoteResult[];
  /** Absent in results cached before TFLite ran on devices. */
  errors?: RemoteError[];
  trtexec: { variant: string; output?: string; error?: string }[];
}

/** One device's outcome: results (`measured_at`: when, ISO 8601), or the error that stopped it. */
export type DeviceOutcome =
  | { name: string; status: "done" | "cached"; seconds: number; measured_at: string; output: RunnerOutput }
  | { name: string; status: "failed"; seconds: number; kind: SshFailureKind | "error"; error: string };

/** Cache file of a device's results for one bundle. */
export function cachePath(cacheDir: string, device: DeviceConfig, bundleHash: string): string {
  return join(cacheDir, "bench-devices", `${sha256(canonicalJson({ device, bundle: bundleHash }))}.json`);
}

/** The remote shell line that runs the runner inside `dir`. */
export function runCommand(device: DeviceConfig, dir: string): string {
  const bin = shellQuote(device.runtime_path ?? device.runtime);
  const args = device.runtime === "deno" ? `${bin} run -A runner.mjs` : `${bin} runner.mjs`;
  const nm = device.node_modules ? ` ${quotePath(device.node_modules)}` : "";
  return `cd ${dir} && ${args}${nm}`;
}

/** Options of {@linkcode benchDevice}. */
export interface BenchDeviceOptions {
  /** Where results are cached (`<cacheDir>/bench-devices/`). */
  cacheDir: string;
  /** Connect + copy + bench must finish within this many seconds. */
  timeoutS: number;
  /** Measure again even when a cached result exists (`--force`). @default false */
  force?: boolean;
  log?: (line: string) => void;
}

/**
 * Bench `bundle` on `device` (its cached result when there is one, unless `force`); never throws:
 * a failure is an outcome naming the device and the cause.
 */
export async function benchDevice(
  device: DeviceConfig,
  bundle: Bundle,
  o: BenchDeviceOptions,
): Promise<DeviceOutcome> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const cache = cachePath(o.cacheDir, device, bundle.hash);
  if (!o.force) {
    try {
      const output = JSON.parse(await Deno.readTextFile(cache)) as RunnerOutput;
      const measured_at = ((await Deno.stat(cache)).mtime ?? new Date()).toISOString();
      return { name: device.name, status: "cached", seconds: seconds(), measured_at, output };
    } catch { /* not cached yet */ }
  }
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(`${o.timeoutS} s, param timeout_s`), o.timeoutS * 1000);
  const signal = timeout.signal;
  // One folder per device and bundle: two devices on one host (node and deno) must not share it.
  const folder = `bundle-${sha256(device.name).slice(0, 8)}-${bundle.hash.slice(0, 16)}`;
  const dir = `${quotePath(device.workdir)}/${shellQuote(folder)}`;
  let conn: SshConnection | undefined;
  try {
    conn = await SshConnection.open({
      device: device.name,
      target: device.ssh,
      options: device.options,
      configFile: device.ssh_config,
    });
    const bin = shellQuote(device.runtime_path ?? device.runtime);
    await conn.exec(
      `command -v ${bin} >/dev/null 2>&1 || { echo "edgeslim: runtime not found: "${bin} >&2; exit 127; }`,
      { signal },
    );
    o.log?.(`${device.name}: connected, copying bundle`);
    const tar = new Deno.Command("tar", { args: ["-C", bundle.dir, "-cf", "-", "."], stdout: "piped" })
      .spawn();
    await conn.exec(`mkdir -p ${dir} && tar -C ${dir} -xf -`, { stdin: tar.stdout, signal });
    await tar.status;
    o.log?.(`${device.name}: running ${device.runtime}`);
    const { stdout } = await conn.exec(runCommand(device, dir), { signal });
    const output = parseOutput(stdout);
    await conn.exec(`rm -rf ${dir}`, { signal }).catch(() => {}); // the bundle is re-sent on a rerun
    await Deno.mkdir(dirname(cache), { recursive: true });
    await writeFileAtomic(cache, JSON.stringify(output));
    return {
      name: device.name,
      status: "done",
      seconds: seconds(),
      measured_at: new Date().toISOString(),
      output,
    };
  } catch (e) {
    const kind = e instanceof SshError ? e.kind : "error";
    const error = e instanceof SshError ? e.message : `device "${device.name}": ${(e as Error).message}`;
    return { name: device.name, status: "failed", seconds: seconds(), kind, error };
  } finally {
    clearTimeout(timer);
    await conn?.close();
  }
}

/** The runner's JSON (its last stdout line). */
function parseOutput(stdout: string): RunnerOutput {
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    const out = JSON.parse(last) as RunnerOutput;
    if (!Array.isArray(out.results) || !out.device) throw new Error("no results/device");
    return out;
  } catch (e) {
    throw new Error(`runner printed no result JSON (${(e as Error).message}): ${last.slice(0, 200)}`);
  }
}
