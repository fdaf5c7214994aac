/**
 * `deno task infer --device NAME`: the same live runner on a board of the bench stage, over SSH,
 * with the board's own camera (`--source /dev/video0` or `csi` there). The board needs Deno (a
 * device with `runtime: deno`), ffmpeg or GStreamer, and the npm registry or a warm Deno cache
 * for the runner's packages. What is sent: this repository's `pipeline/` code with deno.json and
 * deno.lock, the model file and the Haar cascade, into `<workdir>/infer-<hash>`; what comes back:
 * the runner's per-frame JSON lines, as they are printed there.
 */
import { basename, dirname, extname, join } from "node:path";
import { ExpectedError } from "../core/errors.ts";
import { hashPath } from "../core/hash.ts";
import { loadPipeline } from "../core/config.ts";
import { type DeviceConfig, deviceSchema } from "../bench/devices.ts";
import { quotePath, shellQuote, SshConnection } from "../bench/ssh.ts";

const ROOT = join(dirname(new URL(import.meta.url).pathname), "..", "..");

/** The device `name` of the bench stage in `pipelineFile` (its `devices` param). */
export async function findDevice(name: string, pipelineFile: string, profile: string): Promise<DeviceConfig> {
  const config = await loadPipeline(pipelineFile, { profile });
  const devices = Object.values(config.stages)
    .flatMap((s) => (s.parsed_params.devices as DeviceConfig[] | undefined) ?? []);
  const device = devices.find((d) => d.name === name);
  if (!device) {
    throw new ExpectedError(
      `--device ${name}: no such device in the bench stages of "${pipelineFile}" (known: ${
        [...new Set(devices.map((d) => d.name))].join(", ") || "none; add one under bench.params.devices"
      })`,
    );
  }
  return deviceSchema.parse(device);
}

/** What to run on the board: the flags for its runner, and the local files it needs. */
export interface RemoteInfer {
  device: DeviceConfig;
  /** infer flags for the board, without --model / --cascade / --device. */
  args: string[];
  /** Local model and cascade files, sent along. */
  model: string;
  cascade?: string;
  /** A local video sent along; the board's runner reads it as `--source` (the live stage's runs). */
  video?: string;
  print: (line: string) => void;
  log: (line: string) => void;
}

/** Copy the runner, model and cascade to the device and stream its output back. */
export async function inferOnDevice(o: RemoteInfer): Promise<void> {
  if (o.device.runtime !== "deno") {
    throw new ExpectedError(
      `--device ${o.device.name}: live inference runs with Deno on the board (set runtime: deno on the device)`,
    );
  }
  const staging = await Deno.makeTempDir({ prefix: "edgeslim-infer-bundle-" });
  const conn = await SshConnection.open({
    device: o.device.name,
    target: o.device.ssh,
    options: o.device.options,
    configFile: o.device.ssh_config,
  });
  try {
    await Deno.mkdir(join(staging, "files"));
    await Deno.copyFile(o.model, join(staging, "files", "model.onnx"));
    if (o.cascade) await Deno.copyFile(o.cascade, join(staging, "files", "cascade.xml"));
    const video = o.video ? `files/video${extname(o.video)}` : undefined;
    if (o.video) await Deno.copyFile(o.video, join(staging, video!));
    const dir = `${quotePath(o.device.workdir)}/infer-${(await hashPath(staging)).slice(0, 16)}`;
    o.log(`${o.device.name}: copying the runner, ${basename(o.model)} and the cascade`);
    const tar = new Deno.Command("tar", {
      args: ["-cf", "-", "-C", ROOT, "pipeline", "deno.json", "deno.lock", "-C", staging, "files"],
      stdout: "piped",
    }).spawn();
    await conn.exec(`mkdir -p ${dir} && tar -C ${dir} -xf -`, { stdin: tar.stdout });
    await tar.status;
    const bin = shellQuote(o.device.runtime_path ?? "deno");
    const flags = [
      ...o.args,
      "--model",
      "files/model.onnx",
      ...(o.cascade ? ["--cascade", "files/cascade.xml"] : []),
      ...(video ? ["--source", video] : []),
    ];
    o.log(`${o.device.name}: running deno task infer ${o.args.join(" ")}`);
    let frames = 0;
    try {
      await conn.stream(
        `cd ${dir} && NO_COLOR=1 ${bin} run -A pipeline/live/infer.ts ${flags.map(shellQuote).join(" ")}`,
        (line) => {
          if (line.startsWith('{"frame"')) frames++;
          o.print(line);
        },
        (line) => {
          // Deno's notices (npm packages set up, install scripts not run) and tfjs' banner are noise here.
          if (/^(Hi, looks like|=+$|Warning|Initialize |Download |\s*$|[╭│╰])/.test(line)) return false;
          o.log(`${o.device.name}: ${line}`);
          return true;
        },
      );
    } catch (e) {
      (e as Error).message += ` (after ${frames} frame(s))`;
      throw e;
    }
    await conn.exec(`rm -rf ${dir}`).catch(() => {});
  } finally {
    await conn.close();
    await Deno.remove(staging, { recursive: true });
  }
}
